import { strict as assert } from "node:assert";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { deriveDomains } from "../config/domains";
import { renderTutorAppServer } from "../components/provisioners/tutor/config";
import { versionMatrix } from "../config/matrix/data";
import { resolveRelease } from "../config/matrix/resolve";
import { TUTOR_TOOL } from "./support/real-tutor";

/**
 * scripts/provision/tutor.ts with a local connection: the remote program runs on
 * this machine as it would on the VM (minus installing Docker and launching), with
 * the real Tutor of a series as the `tutor` command, or a stand-in that records.
 */
const ROOT = path.resolve(__dirname, "..");
const WRAPPER = path.join(ROOT, "scripts/provision/tutor.ts");
const PASSWORD = "scoped-Password-of-the-instance-1";

function request(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const app = renderTutorAppServer({
    instance: {
      id: "prod",
      name: "Campus",
      domains: deriveDomains({ subDomain: "courses", baseDomain: "example.org", enabled: { ecommerce: false, discovery: false } }),
      services: { xqueue: false, notes: false, ecommerce: false, discovery: false, forum: true },
    },
    lifecycle: "production",
    appServerId: "blue",
    release: resolveRelease(versionMatrix, { release: "ulmo" }),
    databases: {
      kind: "persistent",
      mysql: { host: "mysql.example.org", port: 3306, database: "prod_edxapp", user: "prod_migrate", password: PASSWORD },
      mongo: { hosts: ["m.example.org"], port: 27017, database: "prod_edxapp", forumDatabase: "prod_forum", user: "prod_mongo", password: "mongo-Password-2", useTls: true },
    },
    secrets: { secretKey: "django-secret-key-of-the-instance", jwtPrivateKeyPem: "", jwtSecretKey: "jwt-shared-secret-1", derive: (name) => `derived-${name}` },
    extraSettings: {},
  });
  const { JWT_RSA_PRIVATE_KEY: _noKeyHere, ...config } = app.config;
  return { tutor: { version: app.tutor.version, plugins: app.tutor.plugins }, config, pluginData: app.pluginData, image: app.image, port: app.port, ...overrides };
}

interface Run {
  status: number | null;
  stderr: string;
  child: ChildProcess;
}

describe("Tutor provisioning wrapper (local connection)", function () {
  this.timeout(120_000);
  let work: string;
  beforeEach(() => {
    work = mkdtempSync(path.join(tmpdir(), "openedx-im-tutor-wrapper-"));
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  function start(input: string, tutorCommand: string[], extraEnv: Record<string, string> = {}): { done: Promise<Run>; child: ChildProcess } {
    const child = spawn(process.execPath, ["--import", "tsx", WRAPPER], {
      cwd: ROOT,
      env: {
        ...process.env,
        OPENEDX_IM_CONNECTION: "local",
        OPENEDX_IM_HOST: "127.0.0.1",
        OPENEDX_IM_APPSERVER_ID: "blue-0",
        OPENEDX_IM_LOG_DIR: path.join(work, "logs"),
        OPENEDX_IM_TUTOR_ROOT: path.join(work, "tutor"),
        OPENEDX_IM_TUTOR_LAUNCH: "0",
        OPENEDX_IM_TUTOR_COMMAND: JSON.stringify(tutorCommand),
        ...extraEnv,
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.end(input);
    const done = new Promise<Run>((resolve) => child.on("close", (status) => resolve({ status, stderr, child })));
    return { done, child };
  }

  const logText = () => {
    const dir = path.join(work, "logs", "blue-0");
    return readdirSync(dir)
      .map((name) => readFileSync(path.join(dir, name), "utf8"))
      .join("\n");
  };

  it("writes config.yml and the plugin privately, the real Tutor renders them, and no secret is printed or logged", async () => {
    const run = await start(JSON.stringify(request()), [TUTOR_TOOL, "ulmo"]).done;
    assert.equal(run.status, 0, run.stderr);
    const root = path.join(work, "tutor");
    for (const file of ["config.yml", "plugins/openedx_im.py", "plugins/openedx_im.json"])
      assert.equal(statSync(path.join(root, file)).mode & 0o777, 0o600, file);
    assert.equal(statSync(root).mode & 0o777, 0o700);
    const env = parse(readFileSync(path.join(root, "env/apps/openedx/config/lms.env.yml"), "utf8")) as { DATABASES: { default: { USER: string; PASSWORD: string } } };
    assert.equal(env.DATABASES.default.USER, "prod_migrate");
    assert.equal(env.DATABASES.default.PASSWORD, PASSWORD);
    assert.match(run.stderr, /Tutor serves on port 80, the load balancer's/);
    for (const secret of [PASSWORD, "django-secret-key-of-the-instance", "jwt-shared-secret-1"]) {
      assert.ok(!run.stderr.includes(secret), "a secret in the progress output");
      assert.ok(!logText().includes(secret), "a secret in the log (command lines included)");
    }
  });

  it("fails, naming both, when Tutor would serve on another port than the load balancer's", async () => {
    const run = await start(JSON.stringify(request({ port: 8080 })), [TUTOR_TOOL, "ulmo"]).done;
    assert.equal(run.status, 65, run.stderr);
    assert.match(run.stderr, /Tutor serves on port 80 but the load balancer sends traffic to 8080/);
  });

  it("gives Tutor an allowlisted environment: no deploy credential, no TUTOR_* override of config.yml", async () => {
    const dump = path.join(work, "env-dump");
    const shim = path.join(work, "tutor-shim");
    writeFileSync(shim, `#!/bin/sh\nenv > '${dump}'\nexec '${TUTOR_TOOL}' ulmo "$@"\n`);
    chmodSync(shim, 0o755);
    const run = await start(JSON.stringify(request()), [shim], { TUTOR_PLATFORM_NAME: "Evil", OS_PASSWORD: "cloud-canary", AWS_SECRET_ACCESS_KEY: "aws-canary" }).done;
    assert.equal(run.status, 0, run.stderr);
    const seen = readFileSync(dump, "utf8");
    assert.doesNotMatch(seen, /canary|TUTOR_PLATFORM_NAME|OPENEDX_IM_/);
    const lms = parse(readFileSync(path.join(work, "tutor/env/apps/openedx/config/lms.env.yml"), "utf8")) as { PLATFORM_NAME: string };
    assert.equal(lms.PLATFORM_NAME, "Campus");
  });

  it("kill -9 of the wrapper stops the run on the VM side (the step and what it started)", async () => {
    const pidFile = path.join(work, "step.pid");
    const shim = path.join(work, "slow-tutor");
    writeFileSync(shim, `#!/bin/sh\necho $$ > '${pidFile}'\nexec sleep 300\n`);
    chmodSync(shim, 0o755);
    const { child, done } = start(JSON.stringify(request()), [shim]);
    for (let i = 0; i < 100 && !existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 100));
    const stepPid = Number(readFileSync(pidFile, "utf8"));
    assert.ok(alive(stepPid), "the step runs");
    child.kill("SIGKILL");
    await done;
    for (let i = 0; i < 50 && alive(stepPid); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(!alive(stepPid), "the step outlived the wrapper");
  });

  it("refuses input that is not a request, without echoing it, before running anything", async () => {
    const run = await start(`{"config": "${PASSWORD}"`, [TUTOR_TOOL, "ulmo"]).done;
    assert.equal(run.status, 64);
    assert.ok(!run.stderr.includes(PASSWORD));
    assert.ok(!existsSync(path.join(work, "tutor")));
  });
});

describe("Tutor provisioning wrapper over SSH (a private sshd on loopback)", function () {
  this.timeout(120_000);
  let dir: string;
  let sshd: ChildProcess | undefined;
  let port: number;
  let hostKey: string;
  let userKey: string;

  before(async function () {
    if (process.getuid?.() !== 0 || !existsSync("/usr/sbin/sshd")) {
      console.log("    (skipped: needs /usr/sbin/sshd and root to run a private sshd)");
      this.skip();
    }
    dir = mkdtempSync(path.join(tmpdir(), "openedx-im-sshd-"));
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "host")]);
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "user")]);
    hostKey = readFileSync(path.join(dir, "host.pub"), "utf8").trim().split(" ").slice(0, 2).join(" ");
    userKey = readFileSync(path.join(dir, "user"), "utf8");
    writeFileSync(path.join(dir, "authorized_keys"), readFileSync(path.join(dir, "user.pub")), { mode: 0o600 });
    port = 20000 + (process.pid % 20000);
    mkdirSync("/run/sshd", { recursive: true });
    writeFileSync(
      path.join(dir, "sshd_config"),
      [
        `Port ${port}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${path.join(dir, "host")}`,
        `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`,
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "StrictModes no",
        "UsePAM no",
        `PidFile ${path.join(dir, "sshd.pid")}`,
      ].join("\n") + "\n",
    );
    sshd = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", path.join(dir, "sshd_config")], { stdio: "ignore" });
    await new Promise((r) => setTimeout(r, 500));
  });
  after(() => {
    if (sshd?.pid) process.kill(sshd.pid, "SIGTERM");
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function run(input: Record<string, unknown>, env: Record<string, string>): Promise<{ status: number | null; stderr: string }> {
    const child = spawn(process.execPath, ["--import", "tsx", WRAPPER], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: dir,
        OPENEDX_IM_HOST: "127.0.0.1",
        OPENEDX_IM_SSH_PORT: String(port),
        OPENEDX_IM_SSH_USER: "root",
        OPENEDX_IM_APPSERVER_ID: "blue-0",
        OPENEDX_IM_LOG_DIR: path.join(dir, "logs"),
        OPENEDX_IM_TUTOR_ROOT: path.join(dir, "tutor"),
        OPENEDX_IM_TUTOR_LAUNCH: "0",
        OPENEDX_IM_TUTOR_COMMAND: JSON.stringify([TUTOR_TOOL, "ulmo"]),
        ...env,
      },
      stdio: ["pipe", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.end(JSON.stringify(input));
    return new Promise((resolve) => child.on("close", (status) => resolve({ status, stderr })));
  }

  it("logs in with the key through a private agent, checks the pinned host key, and writes the project on the far side", async () => {
    const result = await run(request({ sshPrivateKey: userKey }), { OPENEDX_IM_HOST_PUBLIC_KEY: hostKey });
    assert.equal(result.status, 0, result.stderr);
    assert.ok(existsSync(path.join(dir, "tutor/env/apps/openedx/config/lms.env.yml")));
    const privateKeyBody = userKey.split("\n")[1];
    assert.ok(!result.stderr.includes(privateKeyBody));
    assert.ok(!readdirSync(path.join(dir, "logs/blue-0")).some((name) => readFileSync(path.join(dir, "logs/blue-0", name), "utf8").includes(privateKeyBody)));
  });

  it("refuses a VM whose host key is not the pinned one, and runs nothing there", async () => {
    rmSync(path.join(dir, "tutor"), { recursive: true, force: true });
    const other = readFileSync(path.join(dir, "user.pub"), "utf8").trim().split(" ").slice(0, 2).join(" ");
    const result = await run(request({ sshPrivateKey: userKey }), { OPENEDX_IM_HOST_PUBLIC_KEY: other, OPENEDX_IM_SSH_WAIT_TIMEOUT: "2" });
    assert.equal(result.status, 69, result.stderr);
    assert.ok(!existsSync(path.join(dir, "tutor")));
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
