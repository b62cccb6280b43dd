/**
 * The provisioning wrapper, run for real: node + tsx + ansible-core against
 * localhost over the local connection, with a small probe playbook in
 * test/fixtures/provision/playbooks/probe.yml standing in for openedx_native.yml.
 */
import { strict as assert } from "node:assert";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, cpSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(__dirname, "..");
const WRAPPER = join(ROOT, "scripts", "provision", "provision.ts");
const FIXTURE = join(ROOT, "test", "fixtures", "provision");

interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

function runWrapper(env: Record<string, string>, stdin: string): Promise<RunResult> {
  const base: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env))
    if (value !== undefined && !key.startsWith("OPENEDX_IM_")) base[key] = value;
  const started = Date.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", WRAPPER], { cwd: ROOT, env: { ...base, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("close", (status) => resolvePromise({ status, stdout, stderr, seconds: (Date.now() - started) / 1000 }));
    child.stdin.end(stdin);
  });
}

describe("provisioning wrapper (real ansible-playbook, local connection)", function () {
  this.timeout(120_000);
  let scratch: string;
  let tmp: string;
  let home: string;
  let logs: string;
  let output: string;

  beforeEach(() => {
    scratch = mkdtempSync(join(tmpdir(), "openedx-im-wrapper-test-"));
    tmp = join(scratch, "tmp");
    home = join(scratch, "home");
    logs = join(scratch, "logs");
    output = join(scratch, "received.json");
    for (const dir of [tmp, home]) mkdirSync(dir);
    // If anything ever ran "rm -rf ~", this is what it would take.
    writeFileSync(join(home, "canary"), "still here\n");
  });

  afterEach(() => rmSync(scratch, { recursive: true, force: true }));

  const localEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
    TMPDIR: tmp,
    HOME: home,
    OPENEDX_IM_CONNECTION: "local",
    OPENEDX_IM_HOST: "localhost",
    OPENEDX_IM_APPSERVER_ID: "a20261122",
    OPENEDX_IM_CONFIGURATION_DIR: FIXTURE,
    OPENEDX_IM_PLAYBOOK: "probe.yml",
    OPENEDX_IM_SKIP_REQUIREMENTS: "1",
    OPENEDX_IM_LOG_DIR: logs,
    OPENEDX_IM_KILL_GRACE: "1",
    ...extra,
  });

  const request = (variables: Record<string, unknown>) => JSON.stringify({ variables: { probe_output: output, ...variables } });
  const received = () => JSON.parse(readFileSync(output, "utf8")) as { probe: unknown; inventory_hostname: string };
  const latestLog = () => readFileSync(join(logs, "a20261122", "latest.log"), "utf8");
  /** What the wrapper left in its temporary directory (tsx keeps its own cache there). */
  const leftovers = () => readdirSync(tmp).filter((name) => name.startsWith("openedx-im-"));

  it("delivers the variables intact, through a private 0600 file that is gone afterwards", async () => {
    const probe = {
      text: "Open edX: ünïcode ✓",
      number: 42,
      flag: true,
      nothing: null,
      list: [1, "two", { three: 3 }],
      nested: { EDXAPP_FEATURES: { ENABLE_DISCUSSION_SERVICE: true } },
    };
    const result = await runWrapper(localEnv(), request({ probe }));
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(received().probe, probe);
    const [[path, mode]] = JSON.parse(readFileSync(`${output}.files`, "utf8")) as [string, string][];
    assert.ok(path.startsWith(tmp), path);
    assert.equal(mode, "0600");
    assert.equal(existsSync(path), false, "the variables file is removed");
    assert.deepEqual(leftovers(), []);
  });

  it("passes shell metacharacters, quotes and newlines as plain data and runs none of them", async () => {
    const marker = (n: number) => join(scratch, `injected-${n}`);
    const probe = {
      dollar: `$(touch ${marker(1)})`,
      backticks: `\`touch ${marker(2)}\``,
      semicolon: `; touch ${marker(3)}; rm -rf ~`,
      quotes: `it's "quoted" \\ and 'single'`,
      newlines: `line one\nline two\n; touch ${marker(4)}\n`,
      id: "`id`",
    };
    const result = await runWrapper(localEnv({ OPENEDX_IM_APPSERVER_ID: "a20261122" }), request({ probe }));
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(received().probe, probe);
    for (let n = 1; n <= 4; n++) assert.equal(existsSync(marker(n)), false, `${marker(n)} was created`);
    assert.equal(readFileSync(join(home, "canary"), "utf8"), "still here\n");
  });

  it("exits non-zero when a task fails and keeps the full log", async () => {
    const result = await runWrapper(localEnv(), request({ probe: {}, probe_fail: true }));
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /ansible-playbook failed \(exit \d+\) at TASK \[Fail when asked\]/);
    const log = latestLog();
    assert.match(log, /asked to fail/);
    assert.match(log, /PLAY RECAP/);
    assert.ok(result.stderr.includes(join(logs, "a20261122")), "the failure message says where the log is");
    assert.deepEqual(leftovers(), []);
  });

  it("never prints a secret value, even when the playbook prints it and then fails with it", async () => {
    const secret = "s3cret-Pa55word-0f-the-day";
    const result = await runWrapper(localEnv(), request({ probe: {}, probe_secret: secret, probe_fail: true }));
    assert.notEqual(result.status, 0);
    assert.ok(latestLog().includes(secret), "the full log keeps what Ansible printed");
    assert.equal(result.stdout.includes(secret), false, "stdout");
    assert.equal(result.stderr.includes(secret), false, "stderr");
  });

  it("never prints the SSH private key", async () => {
    const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n";
    const result = await runWrapper(localEnv(), JSON.stringify({ variables: { probe_output: output, probe: {} }, sshPrivateKey: key }));
    assert.equal(result.status, 0, result.stderr);
    assert.equal(`${result.stdout}${result.stderr}`.includes("b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ"), false);
    assert.deepEqual(leftovers(), []);
  });

  it("kills a task that prints nothing for longer than the line timeout", async () => {
    const sleepFor = "47.25"; // distinctive, to look for a survivor afterwards
    const result = await runWrapper(localEnv({ OPENEDX_IM_LINE_TIMEOUT: "3" }), request({ probe: {}, probe_sleep: sleepFor }));
    assert.equal(result.status, 124, result.stderr);
    assert.ok(result.seconds < 30, `took ${result.seconds} s`);
    assert.match(result.stderr, /no output for 3 s \(the line timeout\)/);
    assert.match(latestLog(), /the line timeout/);
    assert.equal(processesRunning(`sleep ${sleepFor}`), 0, "the sleeping task was killed with its process group");
    assert.deepEqual(leftovers(), []);
  });

  it("stops a run that keeps printing but outlasts the total timeout", async () => {
    const result = await runWrapper(
      localEnv({ OPENEDX_IM_LINE_TIMEOUT: "20", OPENEDX_IM_TOTAL_TIMEOUT: "5" }),
      request({ probe: {}, probe_steps: 30 }),
    );
    assert.equal(result.status, 124, result.stderr);
    assert.ok(result.seconds < 30, `took ${result.seconds} s`);
    assert.match(result.stderr, /the total timeout passed/);
  });

  it("refuses bad settings with the variable's name and exits 64 before running anything", async () => {
    const result = await runWrapper(
      localEnv({ OPENEDX_IM_HOST: "-oProxyCommand=touch x", OPENEDX_IM_LINE_TIMEOUT: "soon", OPENEDX_IM_PLAYBOOK: "../../etc/x.yml" }),
      request({ probe: {} }),
    );
    assert.equal(result.status, 64);
    assert.match(result.stderr, /OPENEDX_IM_HOST: .* is not an IP address or a host name/);
    assert.match(result.stderr, /OPENEDX_IM_LINE_TIMEOUT: "soon" is not a positive number of seconds/);
    assert.match(result.stderr, /OPENEDX_IM_PLAYBOOK: .* must be a path inside the configuration repository/);
    assert.equal(existsSync(logs), false);
  });

  it("refuses input that is not a JSON request without echoing it", async () => {
    const result = await runWrapper(localEnv(), "password=hunter2-is-secret");
    assert.equal(result.status, 64);
    assert.match(result.stderr, /standard input: not JSON/);
    assert.equal(result.stderr.includes("hunter2"), false);
  });

  it("gives up waiting for SSH after the bounded wait, with a clear message", async () => {
    const result = await runWrapper(
      localEnv({
        OPENEDX_IM_CONNECTION: "ssh",
        OPENEDX_IM_HOST: "127.0.0.1",
        OPENEDX_IM_SSH_PORT: "1", // nothing listens there
        OPENEDX_IM_SSH_WAIT_TIMEOUT: "3",
        OPENEDX_IM_SSH_RETRY_INTERVAL: "1",
      }),
      request({ probe: {} }),
    );
    assert.equal(result.status, 69, result.stderr);
    assert.ok(result.seconds < 30, `took ${result.seconds} s`);
    assert.match(result.stderr, /SSH on 127\.0\.0\.1:1 did not answer within 3 s/);
    assert.equal(existsSync(output), false, "the playbook did not run");
  });

  it("builds the requirements in a private virtualenv and says so when they bring no ansible-playbook", async () => {
    // No package index here: an empty requirements file exercises the virtualenv step offline.
    const configuration = join(scratch, "configuration");
    cpSync(FIXTURE, configuration, { recursive: true });
    writeFileSync(join(configuration, "requirements.txt"), "");
    const venvs = join(scratch, "venvs");
    const env = localEnv({ OPENEDX_IM_CONFIGURATION_DIR: configuration, OPENEDX_IM_VENV_CACHE: venvs });
    delete (env as Partial<Record<string, string>>).OPENEDX_IM_SKIP_REQUIREMENTS;
    const result = await runWrapper(env, request({ probe: {} }));
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, /installing the configuration requirements into/);
    assert.match(result.stderr, /installed no ansible-playbook/);
    assert.match(latestLog(), /-m venv/);
    assert.deepEqual(readdirSync(venvs), [], "a half-built virtualenv is not kept for the next run");
    assert.equal(existsSync(output), false);
  });

  describe("checking out the configuration repository with git", () => {
    let bare: string;

    beforeEach(() => {
      // A configuration repository in miniature: the probe playbook under playbooks/, on a branch.
      const work = join(scratch, "configuration-work");
      bare = join(scratch, "configuration.git");
      cpSync(FIXTURE, work, { recursive: true });
      writeFileSync(join(work, "requirements.txt"), "");
      const git = (args: string[], cwd: string) =>
        execFileSync("git", args, {
          cwd,
          env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.org", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.org" },
          stdio: "pipe",
        });
      git(["init", "-q", "-b", "open-release/test.master"], work);
      git(["add", "."], work);
      git(["commit", "-q", "-m", "probe"], work);
      git(["init", "-q", "--bare", bare], scratch);
      git(["push", "-q", bare, "open-release/test.master"], work);
    });

    const gitEnv = (ref: string) => {
      const env = localEnv({ OPENEDX_IM_CONFIGURATION_REPOSITORY: bare, OPENEDX_IM_CONFIGURATION_REF: ref });
      delete (env as Partial<Record<string, string>>).OPENEDX_IM_CONFIGURATION_DIR;
      return env;
    };

    it("clones the ref into a work directory, runs its playbook, and removes the clone", async () => {
      const result = await runWrapper(gitEnv("open-release/test.master"), request({ probe: { from: "git" } }));
      assert.equal(result.status, 0, result.stderr);
      assert.deepEqual(received().probe, { from: "git" });
      assert.match(result.stderr, /checking out the configuration repository at open-release\/test\.master/);
      assert.deepEqual(leftovers(), [], "the clone and the private files are removed");
    });

    for (const ref of ["$(touch INJECTED)", "`touch INJECTED`", "main; touch INJECTED", "it's \"quoted\"", "main\ntouch INJECTED"])
      it(`treats the ref ${JSON.stringify(ref)} as a name, runs nothing, and fails`, async () => {
        const result = await runWrapper(gitEnv(ref.replace(/INJECTED/g, join(scratch, "injected"))), request({ probe: {} }));
        assert.notEqual(result.status, 0);
        assert.match(result.stderr, /OPENEDX_IM_CONFIGURATION_REF/);
        assert.equal(existsSync(join(scratch, "injected")), false);
        assert.equal(existsSync(join(ROOT, "INJECTED")), false);
        assert.equal(existsSync(output), false, "no playbook ran");
        assert.deepEqual(leftovers(), []);
      });
  });
});

function processesRunning(commandLine: string): number {
  try {
    return execFileSync("pgrep", ["-f", "-x", commandLine], { encoding: "utf8" }).trim().split("\n").filter(Boolean).length;
  } catch {
    return 0; // pgrep exits 1 when nothing matches
  }
}
