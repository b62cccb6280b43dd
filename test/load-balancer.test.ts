import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import type { HaproxyFragment } from "../components/haproxy";
import { type Registration, isSecretValue, plain, settle, setUpRecordingMocks } from "./support/pulumi-mocks";

/**
 * LoadBalancerFragment under Pulumi mocks: every registration is recorded as the
 * engine would receive it (inputs with secrets still marked, options,
 * dependencies). Only the remote host's answers are mocked.
 */

let registrations: Registration[] = [];
const SECRET_SIG = pulumi.runtime.specialSecretSig;

class HealthCheck extends pulumi.CustomResource {
  constructor(name: string) {
    super("test:index:HealthCheck", name, {});
  }
}

type LoadBalancerModule = typeof import("../components/load-balancer");

// Values that must never reach a command string; odd characters on purpose.
const INSTANCE_ID = "pr-4242-sandbox";
const HOST = "lb.example-host.test";
const USER = "deploy-user-x";
const PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END OPENSSH PRIVATE KEY-----\n";
const FRAGMENT: HaproxyFragment = {
  backendName: `openedx-im-${INSTANCE_ID}`,
  config: `backend openedx-im-${INSTANCE_ID}\n    server a1-0 192.0.2.77:80 cookie a1-0\n`,
  map: `lms.$(touch-x).test openedx-im-${INSTANCE_ID}\n`,
};

function byName(name: string): Registration {
  const found = registrations.find((r) => r.name === name);
  assert.ok(found, `no resource named ${name}; have ${registrations.map((r) => r.name).join(", ")}`);
  return found;
}

describe("LoadBalancerFragment", () => {
  let lbModule: LoadBalancerModule;
  let healthCheckUrn: string;

  before(async () => {
    registrations = await setUpRecordingMocks({ stack: "test", state: (args) => ({ ...args.inputs, stdout: "", stderr: "" }) });
    lbModule = await import("../components/load-balancer.js");

    // Stands in for the active appserver's health check.
    const healthCheck = new HealthCheck("a1-heartbeat");
    new lbModule.LoadBalancerFragment(
      "lb",
      {
        instanceId: INSTANCE_ID,
        fragment: pulumi.output(FRAGMENT),
        connection: { host: HOST, port: 2222, user: USER, privateKey: PRIVATE_KEY },
      },
      { dependsOn: [healthCheck] },
    );
    await settle();
    healthCheckUrn = byName("a1-heartbeat").urn;
  });

  it("registers a component of type openedx-im:load-balancer:Fragment parenting its commands", () => {
    const component = byName("lb");
    assert.equal(component.type, "openedx-im:load-balancer:Fragment");
    for (const child of ["lb-script", "lb-apply"]) {
      assert.equal(byName(child).type, "command:remote:Command");
      assert.equal(byName(child).parent, component.urn);
    }
  });

  it("keeps every command string constant: no instance id, host, user, key or fragment text in it", () => {
    for (const name of ["lb-script", "lb-apply"]) {
      const { inputs } = byName(name);
      for (const field of ["create", "update", "delete"]) {
        const text = inputs[field];
        if (text === undefined) continue;
        assert.equal(typeof text, "string", `${name}.${field} is plain text`);
        for (const value of [INSTANCE_ID, HOST, USER, "BEGIN OPENSSH", "192.0.2.77", "touch-x", "2222"])
          assert.ok(!(text as string).includes(value), `${name}.${field} contains ${value}`);
      }
    }
    const apply = byName("lb-apply").inputs;
    assert.equal(apply.create, lbModule.APPLY_COMMAND);
    assert.equal(apply.update, lbModule.APPLY_COMMAND);
    assert.equal(apply.delete, lbModule.REMOVE_COMMAND);
  });

  it("sends the instance id and fragment on stdin, as the JSON the apply script reads", () => {
    const stdin = JSON.parse(String(plain(byName("lb-apply").inputs.stdin)));
    assert.deepEqual(stdin, { format: 1, instanceId: INSTANCE_ID, config: FRAGMENT.config, map: FRAGMENT.map });
  });

  it("ships the repository's apply script itself to the host", () => {
    assert.equal(byName("lb-script").inputs.stdin, readFileSync(lbModule.APPLY_SCRIPT_SOURCE, "utf8"));
    assert.equal(byName("lb-script").inputs.delete, undefined, "the script is shared by every instance on the host: never deleted by one");
  });

  it("marks the private key secret in every command's connection", () => {
    for (const name of ["lb-script", "lb-apply"]) {
      const connection = byName(name).inputs.connection;
      const key = isSecretValue(connection)
        ? (plain(connection) as Record<string, unknown>).privateKey
        : (connection as Record<string, unknown>).privateKey;
      assert.ok(isSecretValue(connection) || isSecretValue(key), `${name}: private key sent in the clear`);
      assert.equal(plain(key), PRIVATE_KEY);
      const serialised = JSON.stringify(byName(name).inputs);
      if (!isSecretValue(connection)) assert.ok(serialised.includes(SECRET_SIG));
    }
  });

  it("hides what the host prints (stdout, stderr) as secret outputs", () => {
    // The provider SDK adds `connection` itself; what matters here is that both streams are secret.
    for (const name of ["lb-script", "lb-apply"])
      for (const output of ["stderr", "stdout"]) assert.ok(byName(name).additionalSecretOutputs.includes(output), `${name}: ${output}`);
  });

  it("removes before it re-applies on replacement, replaced only when the instance id changes", () => {
    const apply = byName("lb-apply");
    assert.equal(apply.deleteBeforeReplace, true);
    assert.deepEqual(apply.inputs.triggers, [INSTANCE_ID]);
    assert.ok(apply.replaceOnChanges.some((path) => path.startsWith("triggers")), `replaceOnChanges ${apply.replaceOnChanges.join(", ")}`);
  });

  it("keeps stdout out of the logs and previous output out of the environment", () => {
    for (const name of ["lb-script", "lb-apply"]) {
      assert.equal(byName(name).inputs.logging, "stderr");
      assert.equal(byName(name).inputs.addPreviousOutputInEnv, false);
    }
  });

  it("applies only after the caller's dependencies (the health check) and the script's installation", () => {
    const apply = byName("lb-apply");
    assert.ok(apply.dependencies.includes(healthCheckUrn), `apply depends on ${apply.dependencies.join(", ")}`);
    assert.ok(apply.dependencies.includes(byName("lb-script").urn));
  });

  it("refuses an instance id that cannot name a backend", () => {
    assert.throws(
      () => new lbModule.LoadBalancerFragment("bad", { instanceId: "Bad Id", fragment: FRAGMENT, connection: { host: HOST, user: USER } }),
      /instanceId "Bad Id" must be a DNS-safe slug/,
    );
  });
});
