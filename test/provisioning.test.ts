/**
 * The Provisioning and HealthCheck components under Pulumi mocks (real SDK
 * registration, mocked cloud), and the heartbeat wait script against a real
 * local HTTP server.
 */
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { hostKeyUserData } from "../components/host-key";
import { renderStack } from "../stacks/plan/stack";
import { FIXTURE_STACKS } from "./support/stacks";
import * as pulumi from "@pulumi/pulumi";
// These modules register nothing when imported; the resources are created after the mocks are set.
import * as healthModule from "../components/health-check";
import * as provisioningModule from "../components/provisioners/ansible/provisioning";
import { buildDigest } from "../components/provisioners/command";
import { type Registration, isSecretValue, plain as plainValue, setUpRecordingMocks, unwrap } from "./support/pulumi-mocks";

const ROOT = resolve(__dirname, "..");
let registrations: Registration[] = [];

function unwrapSecret(value: unknown): { secret: boolean; value: unknown } {
  return { secret: isSecretValue(value), value: plainValue(value) };
}

describe("Provisioning and HealthCheck components (Pulumi mocks)", () => {
  let provisioning: provisioningModule.Provisioning;
  const secretPassword = "mysql-Pa55word-from-random";
  const sshKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nkeymaterial\n-----END OPENSSH PRIVATE KEY-----\n";
  const configuration = {
    repository: "https://github.com/openedx-unsupported/configuration.git",
    ref: "open-release/redwood.master; touch /tmp/x",
    playbook: "openedx_native.yml",
  };
  const ansibleVars = () => ({
    EDXAPP_LMS_BASE: "dev.sandbox.opencraft.example",
    EDXAPP_PLATFORM_NAME: "Open edX development sandbox $(id)",
    EDX_PLATFORM_VERSION: "open-release/redwood.master",
    EDXAPP_MYSQL_PASSWORD: pulumi.secret(secretPassword),
  });

  before(async () => {
    registrations = await setUpRecordingMocks({ stack: "provisioning-test" });
    provisioning = new provisioningModule.Provisioning("dev-a1b2c3d4-provision0", {
      appServerId: "a1b2c3d4-0",
      host: pulumi.output("203.0.113.7"),
      configuration,
      ansibleVars: ansibleVars(),
      sshPrivateKey: pulumi.secret(sshKey),
    });
    const health = new healthModule.HealthCheck("dev-a1b2c3d4-health0", {
      address: pulumi.output("203.0.113.7"),
      hostHeader: "dev.sandbox.opencraft.example",
    });
    // Nothing secret among its inputs: its standard input must be secret all the same.
    const plain = new provisioningModule.Provisioning("plain-provision0", {
      appServerId: "plain-0",
      host: "198.51.100.9",
      configuration,
      ansibleVars: { EDXAPP_LMS_BASE: "plain.example.org" },
    });
    await unwrap(provisioning.command.stdout);
    await unwrap(health.command.stdout);
    await unwrap(plain.command.stdout);
  });

  const commandOf = (component: string) => {
    const found = registrations.find((r) => r.type === "command:local:Command" && r.name.startsWith(component));
    assert.ok(found, `no command registered for ${component}`);
    return found;
  };

  it("registers the components with their type tokens, the commands as their children", () => {
    const prov = registrations.find((r) => r.type === "openedx-im:appserver:Provisioning");
    const health = registrations.find((r) => r.type === "openedx-im:appserver:HealthCheck");
    assert.ok(prov && health);
    assert.match(commandOf("dev-a1b2c3d4-provision0").parent, /openedx-im:appserver:Provisioning::dev-a1b2c3d4-provision0$/);
    assert.match(commandOf("dev-a1b2c3d4-health0").parent, /openedx-im:appserver:HealthCheck::dev-a1b2c3d4-health0$/);
  });

  it("runs a constant command string that holds no value from config", () => {
    const { inputs: object } = commandOf("dev-a1b2c3d4-provision0");
    assert.equal(object.create, provisioningModule.PROVISION_COMMAND);
    for (const value of ["203.0.113.7", "a1b2c3d4", configuration.repository, "redwood", "openedx_native.yml", "dev.sandbox", "$(id)", secretPassword])
      assert.equal(String(object.create).includes(value), false, value);
  });

  it("hands the settings over as environment values", () => {
    const environment = commandOf("dev-a1b2c3d4-provision0").inputs.environment as Record<string, string>;
    assert.deepEqual(environment, {
      OPENEDX_IM_HOST: "203.0.113.7",
      OPENEDX_IM_APPSERVER_ID: "a1b2c3d4-0",
      OPENEDX_IM_SSH_USER: "ubuntu",
      OPENEDX_IM_CONFIGURATION_REPOSITORY: configuration.repository,
      OPENEDX_IM_CONFIGURATION_REF: configuration.ref,
      OPENEDX_IM_PLAYBOOK: "openedx_native.yml",
      OPENEDX_IM_LINE_TIMEOUT: "7200",
      OPENEDX_IM_TOTAL_TIMEOUT: "9000",
    });
    for (const value of Object.values(environment)) assert.equal(value.includes(secretPassword), false);
  });

  it("sends the variables and the SSH key on standard input, as one secret", () => {
    const stdin = unwrapSecret(commandOf("dev-a1b2c3d4-provision0").inputs.stdin);
    assert.equal(stdin.secret, true, "stdin is secret");
    const request = JSON.parse(String(stdin.value)) as { variables: Record<string, unknown>; sshPrivateKey: string };
    assert.equal(request.variables.EDXAPP_MYSQL_PASSWORD, secretPassword);
    assert.equal(request.variables.EDXAPP_PLATFORM_NAME, "Open edX development sandbox $(id)");
    assert.equal(request.sshPrivateKey, sshKey);
    const plainStdin = unwrapSecret(commandOf("plain-provision0").inputs.stdin);
    assert.equal(plainStdin.secret, true, "stdin is secret even when no input was");
    assert.deepEqual(JSON.parse(String(plainStdin.value)), { variables: { EDXAPP_LMS_BASE: "plain.example.org" } });
  });

  it("hands the trusted variable paths over in the request and the VM's host public key as an environment value", async () => {
    const hostPublicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1AG7OGIW6eQBQUpI1w7/QmM6Q/oAK/N9EYr3bzuslo";
    const pinned = new provisioningModule.Provisioning("pinned-provision0", {
      appServerId: "pinned-0",
      host: "198.51.100.11",
      configuration,
      ansibleVars: { EDXAPP_FEATURES: { ENABLE_X: "{{ trusted }}" }, EDXAPP_PLATFORM_NAME: "from a PR {{ x }}" },
      trustedVariablePaths: [["EDXAPP_FEATURES", "ENABLE_X"]],
      hostPublicKey: pulumi.output(hostPublicKey),
    });
    await unwrap(pinned.command.stdout);
    const registration = commandOf("pinned-provision0");
    assert.equal((registration.inputs.environment as Record<string, string>).OPENEDX_IM_HOST_PUBLIC_KEY, hostPublicKey);
    const stdin = unwrapSecret(registration.inputs.stdin);
    assert.equal(stdin.secret, true);
    assert.deepEqual(JSON.parse(String(stdin.value)), {
      variables: { EDXAPP_FEATURES: { ENABLE_X: "{{ trusted }}" }, EDXAPP_PLATFORM_NAME: "from a PR {{ x }}" },
      trustedPaths: [["EDXAPP_FEATURES", "ENABLE_X"]],
    });
  });

  it("streams the wrapper's masked progress (stderr only) to the console, keeps both outputs secret in state, and execs the wrapper", () => {
    const registration = commandOf("dev-a1b2c3d4-provision0");
    assert.deepEqual([...registration.additionalSecretOutputs].sort(), ["stderr", "stdout"]);
    assert.equal(registration.inputs.logging, "stderr");
    assert.equal(registration.inputs.addPreviousOutputInEnv, false);
    // The provider runs `/bin/sh -c <command>` and kills that process on cancel: it must be the wrapper itself.
    assert.match(String(registration.inputs.create), /^exec node /);
    const health = commandOf("dev-a1b2c3d4-health0");
    assert.equal(health.inputs.logging, "stderr");
    assert.match(String(health.inputs.create), /^exec node /);
  });

  it("makes the command itself wait for what the component was told to depend on", async () => {
    class TestDatabase extends pulumi.CustomResource {
      constructor(name: string) {
        super("test:index:Database", name, {});
      }
    }
    const before = new TestDatabase("users-and-grants");
    const waiting = new provisioningModule.Provisioning(
      "waiting-provision0",
      { appServerId: "w-0", host: "198.51.100.10", configuration, ansibleVars: {} },
      { dependsOn: [before] },
    );
    await unwrap(waiting.command.stdout);
    const registration = commandOf("waiting-provision0");
    assert.ok(registration.dependencies.some((urn) => urn.endsWith("test:index:Database::users-and-grants")), registration.dependencies.join(", "));
  });

  it("replaces the run when the host or a plain variable changes, not when only a secret value does", () => {
    const base = { appServerId: "a1b2c3d4-0", configuration, ansibleVars: ansibleVars() };
    const digest = buildDigest(base);
    assert.equal(buildDigest({ ...base, ansibleVars: { ...ansibleVars(), EDXAPP_MYSQL_PASSWORD: pulumi.secret("other") } }), digest);
    assert.notEqual(buildDigest({ ...base, ansibleVars: { ...ansibleVars(), EDX_PLATFORM_VERSION: "master" } }), digest);
    assert.notEqual(buildDigest({ ...base, configuration: { ...configuration, ref: "other" } }), digest);
    const triggers = commandOf("dev-a1b2c3d4-provision0").inputs.triggers as unknown[];
    assert.deepEqual(triggers, ["a1b2c3d4-0", "203.0.113.7", digest]);
  });

  it("health check: a constant command, address and Host header through the environment", () => {
    const registration = commandOf("dev-a1b2c3d4-health0");
    assert.equal(registration.inputs.create, healthModule.HEALTH_CHECK_COMMAND);
    const environment = registration.inputs.environment as Record<string, string>;
    assert.equal(environment.OPENEDX_IM_HEALTH_ADDRESS, "203.0.113.7");
    assert.equal(environment.OPENEDX_IM_HEALTH_HOST, "dev.sandbox.opencraft.example");
    assert.equal(String(registration.inputs.create).includes("203.0.113.7"), false);
    assert.deepEqual(registration.inputs.triggers, ["203.0.113.7"]);
    assert.equal(registration.inputs.addPreviousOutputInEnv, false);
  });
});

describe("heartbeat wait script (real HTTP)", function () {
  this.timeout(60_000);
  let server: Server;
  let port: number;
  const seen: { host?: string; path?: string }[] = [];
  let answers: number[] = [];

  before(async () => {
    server = createServer((req, res) => {
      seen.push({ host: req.headers.host, path: req.url });
      const status = req.headers.host === "lms.example.org" ? (answers.shift() ?? 200) : 404;
      res.writeHead(status).end(String(status));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });

  after(() => new Promise<void>((r) => server.close(() => r())));

  const run = (env: Record<string, string>) =>
    new Promise<{ status: number | null; stderr: string }>((resolvePromise) => {
      const child = spawn(process.execPath, ["--import", "tsx", resolve(ROOT, "scripts", "provision", "health-check.ts")], {
        cwd: ROOT,
        env: { ...process.env, OPENEDX_IM_HEALTH_ADDRESS: "127.0.0.1", OPENEDX_IM_HEALTH_PORT: String(port), ...env },
      });
      let stderr = "";
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      child.on("close", (status) => resolvePromise({ status, stderr }));
    });

  it("waits through failing answers until /heartbeat answers 200 for the LMS name", async () => {
    answers = [503, 502];
    seen.length = 0;
    const result = await run({ OPENEDX_IM_HEALTH_HOST: "lms.example.org", OPENEDX_IM_HEALTH_INTERVAL: "0.2", OPENEDX_IM_HEALTH_TIMEOUT: "20" });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(seen.length, 3);
    assert.deepEqual(seen[0], { host: "lms.example.org", path: "/heartbeat" });
    // The console shows the wait moving: each failed attempt, the elapsed time, the answer.
    assert.match(result.stderr, /^health-check \[0:00\]: attempt 1: HTTP 503; next try in 0\.2 s \(gives up after 20 s\)$/m);
    assert.match(result.stderr, /^health-check \[0:00\]: attempt 2: HTTP 502; /m);
    assert.match(result.stderr, /^health-check \[0:00\]: healthy after 3 tries$/m);
  });

  it("says what a failed attempt met when nothing answers", async () => {
    const result = await run({
      OPENEDX_IM_HEALTH_HOST: "lms.example.org",
      OPENEDX_IM_HEALTH_PORT: "1",
      OPENEDX_IM_HEALTH_INTERVAL: "0.2",
      OPENEDX_IM_HEALTH_TIMEOUT: "1",
    });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /attempt 1: connect ECONNREFUSED 127\.0\.0\.1:1; next try/);
  });

  it("fails, bounded, when the answer never becomes 200", async () => {
    const started = Date.now();
    const result = await run({ OPENEDX_IM_HEALTH_HOST: "other.example.org", OPENEDX_IM_HEALTH_INTERVAL: "0.2", OPENEDX_IM_HEALTH_TIMEOUT: "2" });
    assert.equal(result.status, 1);
    assert.ok(Date.now() - started < 20_000);
    assert.match(result.stderr, /did not answer 200 within 2 s \(last: HTTP 404\)/);
  });

  it("names a missing setting", async () => {
    const result = await run({ OPENEDX_IM_HEALTH_HOST: "" });
    assert.equal(result.status, 64);
    assert.match(result.stderr, /OPENEDX_IM_HEALTH_HOST: required/);
  });
});

describe("the appserver VM's host key (offline plan of the test stacks)", function () {
  this.timeout(120_000);

  it("cloud-config that installs the ED25519 host key pair", () => {
    const text = hostKeyUserData("-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----", "ssh-ed25519 AAAA\n");
    assert.ok(text.startsWith("#cloud-config\n"));
    assert.deepEqual(parseYaml(text), {
      ssh_deletekeys: true,
      ssh_keys: { ed25519_private: "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n", ed25519_public: "ssh-ed25519 AAAA" },
    });
  });

  for (const stack of ["dev", "prod"])
    it(`${stack}: one ED25519 key per VM, its private half only in the VM's secret user data, its public half pinned by the run; the same in every plan`, async () => {
      const first = await renderStack(stack, FIXTURE_STACKS);
      const second = await renderStack(stack, FIXTURE_STACKS);
      const vms = first.resources.filter((r) => r.type === "openstack:compute/instance:Instance");
      assert.ok(vms.length > 0);
      for (const vm of vms) {
        const key = first.resources.find((r) => r.name === `${vm.name}-host-key`);
        assert.ok(key, `no host key for ${vm.name}`);
        assert.equal(key.type, "tls:index/privateKey:PrivateKey");
        assert.equal(key.inputs.algorithm, "ED25519");
        assert.equal(key.parent, vm.parent, "a child of the appserver");
        assert.equal(vm.inputs.userData, "[secret]");
        const run = first.resources.find((r) => r.name === vm.name.replace(/-vm(\d+)$/, "-provision$1-run"));
        const pin = (run?.inputs.environment as Record<string, string> | undefined)?.OPENEDX_IM_HOST_PUBLIC_KEY;
        assert.match(String(pin), /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]+=*\n?$/);
        const again = second.resources.find((r) => r.name === run?.name);
        assert.equal((again?.inputs.environment as Record<string, string>).OPENEDX_IM_HOST_PUBLIC_KEY, pin, "the key does not churn between plans");
      }
    });
});

describe("host key user data on existing VMs (offline plans of stacks written here)", function () {
  this.timeout(120_000);
  let root: string;

  before(() => {
    root = mkdtempSync(join(tmpdir(), "openedx-im-host-key-"));
    writeFileSync(join(root, "Pulumi.yaml"), readFileSync(resolve(ROOT, "Pulumi.yaml")));
    const instance = (lifecycle: string, extra: Record<string, unknown>) => ({
      name: `Host key ${lifecycle}`,
      subDomain: `hk-${lifecycle}`,
      baseDomain: "example.org",
      lifecycle,
      databases: "ephemeral",
      ...extra,
    });
    writeFileSync(join(root, "Pulumi.hk-prod.yaml"), stringifyYaml({ config: { "openedx-im:instance": instance("production", {
      appServers: [{ id: "a20261201", release: "quince" }],
      activeAppServer: "a20261201",
    }) } }));
    writeFileSync(join(root, "Pulumi.hk-sandbox.yaml"), stringifyYaml({ config: { "openedx-im:instance": instance("sandbox", { release: "redwood" }) } }));
  });

  after(() => rmSync(root, { recursive: true, force: true }));

  const vmsOf = async (stack: string) =>
    (await renderStack(stack, root)).resources.filter((r) => r.type === "openstack:compute/instance:Instance");

  it("production: a VM ignores changes of its user data, so one built before keys were pinned is not rebuilt for it; a new one still gets its key", async () => {
    const vms = await vmsOf("hk-prod");
    assert.ok(vms.length > 0);
    for (const vm of vms) {
      assert.deepEqual(vm.ignoreChanges, ["userData"], vm.name);
      // ignoreChanges does not apply to a create (nor, in the engine, to a replacement): the key still goes in.
      assert.equal(vm.inputs.userData, "[secret]");
    }
  });

  it("sandbox: a change of user data replaces the VM as usual (disposable)", async () => {
    const vms = await vmsOf("hk-sandbox");
    assert.ok(vms.length > 0);
    for (const vm of vms) assert.equal(vm.ignoreChanges, undefined, vm.name);
  });
});
