import { strict as assert } from "node:assert";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { mockResourceState } from "../stacks/plan/mocks";
import { type Plan, type PlanResource, planToJson } from "../stacks/plan/render";
import { renderStack } from "../stacks/plan/stack";
import { FIXTURE_STACKS } from "./support/stacks";

const ROOT = path.resolve(__dirname, "..");
const CHECK_PLAN = path.resolve(ROOT, "..", "shared", "tools", "check-plan.js");

let dev: Plan;
let prod: Plan;

const ofType = (plan: Plan, type: string) => plan.resources.filter((r) => r.type === type);

/** Every resource `from` depends on, directly or through others, or through its parents. */
function reaches(plan: Plan, from: PlanResource, target: (r: PlanResource) => boolean): boolean {
  const byUrn = new Map(plan.resources.map((r) => [r.urn, r]));
  const children = new Map<string, PlanResource[]>();
  for (const r of plan.resources) if (r.parent) children.set(r.parent, [...(children.get(r.parent) ?? []), r]);
  const seen = new Set<string>();
  const stack = [...from.dependsOn];
  while (stack.length) {
    const urn = stack.pop() as string;
    if (seen.has(urn)) continue;
    seen.add(urn);
    const r = byUrn.get(urn);
    if (!r) continue;
    if (target(r)) return true;
    // Depending on a component means waiting for its children too.
    stack.push(...r.dependsOn, ...(children.get(urn) ?? []).map((c) => c.urn));
  }
  return false;
}

describe("offline plan", function () {
  this.timeout(120_000);

  before(async () => {
    dev = await renderStack("dev", FIXTURE_STACKS);
    prod = await renderStack("prod", FIXTURE_STACKS);
  });

  it("keeps the contract of DESIGN.md for dev and prod (checked by the shared tool)", function () {
    if (!existsSync(CHECK_PLAN)) this.skip();
    for (const plan of [dev, prod]) {
      const out = execFileSync(process.execPath, [CHECK_PLAN], { input: planToJson(plan) }).toString();
      assert.match(out, /contract holds/);
    }
  });

  it("renders the same stack byte-identically", async () => {
    const again = await renderStack("dev", FIXTURE_STACKS);
    assert.equal(planToJson(again), planToJson(dev));
  });

  it("gives every resource its parent, dependencies and options", () => {
    for (const r of prod.resources) {
      assert.ok(r.parent === null || prod.resources.some((p) => p.urn === r.parent), r.urn);
      for (const key of ["protect", "retainOnDelete", "deleteBeforeReplace"] as const) assert.equal(typeof r[key], "boolean");
    }
    assert.equal(prod.resources.filter((r) => r.parent === null).length, 1, "only the root stack has no parent");
  });

  it("never prints a generated secret: passwords, keys and credentials print as [secret]", () => {
    for (const plan of [dev, prod]) {
      const text = planToJson(plan);
      for (const r of ofType(plan, "random:index/randomPassword:RandomPassword")) {
        const result = mockResourceState(r.type, r.name, r.inputs).result as string;
        assert.ok(!text.includes(result), `${r.name}'s value appears in the plan`);
      }
      const pem = mockResourceState("tls:index/privateKey:PrivateKey", "x", { algorithm: "RSA" }).privateKeyPem as string;
      assert.ok(!text.includes(pem.split("\n")[1]), "a private key appears in the plan");
    }
    for (const r of ofType(prod, "mysql:index/user:User")) assert.equal(r.inputs.plaintextPassword, "[secret]", r.name);
  });

  it("prod: no MySQL grant names * as its database, and each names only this instance's databases", () => {
    const grants = ofType(prod, "mysql:index/grant:Grant");
    assert.ok(grants.length > 0);
    const databases = new Set(ofType(prod, "mysql:index/database:Database").map((d) => d.inputs.name as string));
    for (const g of grants) {
      const db = g.inputs.database as string;
      assert.notEqual(db, "*", g.name);
      assert.ok(!db.includes("*"), `${g.name} grants on ${db}`);
      assert.ok(databases.has(db.replace(/\\_/g, "_")), `${g.name} grants on ${db}, not one of this instance's databases`);
    }
  });

  it("prod: exactly the data resources are retained on delete and protected", () => {
    const dataTypes = new Set([
      "mysql:index/database:Database",
      "mysql:index/user:User",
      "mysql:index/grant:Grant",
      "mongodbatlas:index/databaseUser:DatabaseUser",
      "rabbitmq:index/vHost:VHost",
    ]);
    const retained = prod.resources.filter((r) => r.retainOnDelete);
    assert.ok(retained.length > 0);
    for (const r of prod.resources) {
      const isData = dataTypes.has(r.type);
      assert.equal(r.retainOnDelete, isData, `${r.type} ${r.name}: retainOnDelete`);
      if (isData) assert.equal(r.protect, true, `${r.type} ${r.name}: protect`);
    }
    for (const type of dataTypes) assert.ok(retained.some((r) => r.type === type), `no retained ${type}`);
  });

  it("prod: the Mongo user has readWrite on the instance's main and forum databases only", () => {
    const [user] = ofType(prod, "mongodbatlas:index/databaseUser:DatabaseUser");
    const roles = user.inputs.roles as { roleName: string; databaseName: string }[];
    assert.equal(roles.length, 2);
    assert.ok(roles.every((r) => r.roleName === "readWrite" && r.databaseName !== "admin"));
  });

  it("prod: RabbitMQ permissions name the instance's vhost", () => {
    const [vhost] = ofType(prod, "rabbitmq:index/vHost:VHost");
    const permissions = ofType(prod, "rabbitmq:index/permissions:Permissions");
    assert.ok(permissions.length >= 2);
    for (const p of permissions) assert.equal(p.inputs.vhost, vhost.inputs.name);
  });

  it("dev (ephemeral databases): no MySQL or MongoDB resources", () => {
    assert.deepEqual(
      dev.resources.filter((r) => r.type.startsWith("mysql:") || r.type.startsWith("mongodbatlas:")).map((r) => r.type),
      [],
    );
  });

  it("the load balancer waits for the active appserver's health checks", () => {
    for (const plan of [dev, prod]) {
      const lb = plan.resources.filter((r) => r.type.startsWith("openedx-im:load-balancer:"));
      assert.equal(lb.length, 1, plan.stack);
      assert.ok(
        reaches(plan, lb[0], (r) => r.type === "openedx-im:appserver:HealthCheck" || /health/i.test(r.name)),
        `${plan.stack}: the load-balancer fragment does not depend on a health check`,
      );
    }
  });

  it("each VM is health-checked only after its provisioning run, which waits for its VM and the instance's grants", () => {
    const commands = prod.resources.filter((r) => r.type === "command:local:Command");
    const runs = commands.filter((c) => /provision\d+-run$/.test(c.name));
    const checks = commands.filter((c) => /health\d+-heartbeat$/.test(c.name));
    assert.equal(runs.length, 4);
    assert.equal(checks.length, 4);
    for (const check of checks) {
      const run = runs.find((r) => r.name === check.name.replace(/health(\d+)-heartbeat$/, "provision$1-run"));
      assert.ok(run, check.name);
      assert.ok(check.dependsOn.includes(run.urn), `${check.name} does not wait for ${run.name}`);
    }
    for (const run of runs) {
      assert.ok(run.dependsOn.some((u) => u.includes("compute/instance:Instance")), `${run.name} does not wait for its VM`);
      assert.ok(run.dependsOn.some((u) => u.includes("mysql:index/grant:Grant")), `${run.name} does not wait for the grants`);
    }
  });

  it("prod: traffic goes only to the active appserver's VMs (a candidate's take only browsers pinned to it, weight 0)", () => {
    const haproxy = prod.artifacts.haproxy as { config: string; map: string };
    const addresses = prod.outputs.appServerAddresses as Record<string, string[]>;
    const serverLines = (address: string) => haproxy.config.split("\n").filter((line) => line.includes(` ${address}:`));
    for (const address of addresses.a20261101) assert.doesNotMatch(serverLines(address).join("\n") || "missing", / weight 0|missing/, address);
    for (const address of addresses.a20261120) {
      assert.ok(serverLines(address).length > 0, address);
      for (const line of serverLines(address)) assert.match(line, / weight 0$/, address);
    }
  });

  it("the provisioning command's command string holds no value taken from config", () => {
    const commands = dev.resources.filter((r) => r.type === "command:local:Command");
    assert.ok(commands.length > 0);
    const configValues = ["redwood", "dev.sandbox.opencraft.example", "openedx_native.yml", "openedx-unsupported/configuration", "Open edX development sandbox"];
    for (const c of commands) for (const value of configValues) assert.ok(!String(c.inputs.create).includes(value), `${c.name}: ${value}`);
  });

  it("shows the rendered Ansible variables per appserver, secrets as [secret]", () => {
    const appservers = prod.artifacts.appservers as Record<string, { ansibleVars: Record<string, unknown> }>;
    assert.deepEqual(Object.keys(appservers).sort(), ["a20261101", "a20261120"]);
    const vars = appservers.a20261120.ansibleVars;
    assert.equal(vars.EDXAPP_ENABLE_CELERY_BEAT, true, "an appserver's extraSettings reach its variables");
    assert.equal(vars.EDXAPP_JWT_PRIVATE_SIGNING_JWK, "[secret]");
  });

  describe("invalid configuration", () => {
    let root: string;
    before(() => {
      root = mkdtempSync(path.join(tmpdir(), "openedx-im-plan-"));
      writeFileSync(path.join(root, "Pulumi.yaml"), readFileSync(path.join(FIXTURE_STACKS, "Pulumi.yaml")));
      writeFileSync(
        path.join(root, "Pulumi.bad.yaml"),
        "config:\n  openedx-im:instance:\n    name: x\n    subDomain: Studio-1\n    baseDomain: example.com\n    lifecycle: staging\n    dnsTtl: 5\n",
      );
    });
    after(() => rmSync(root, { recursive: true, force: true }));

    it("prints every problem, one line each, and exits non-zero without a stack trace", () => {
      const result = spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, "stacks", "plan-cli.ts"), "bad", "--root", root], {
        encoding: "utf8",
      });
      assert.equal(result.status, 1);
      assert.equal(result.stdout, "");
      const lines = result.stderr.trim().split("\n");
      assert.ok(lines.some((l) => l.startsWith("openedx-im:instance.subDomain:")));
      assert.ok(lines.some((l) => l.startsWith("openedx-im:instance.lifecycle:")));
      assert.ok(lines.some((l) => l.startsWith("openedx-im:instance.dnsTtl:")));
      assert.ok(!/\bat .*\.ts:\d+/.test(result.stderr), "no stack trace");
    });

    it("names each plain-text credential, alone or beside secret ones, with the command that fixes it", async () => {
      const instance = "  openedx-im:instance:\n    name: x\n    subDomain: abc\n    baseDomain: example.com\n    lifecycle: sandbox\n";
      writeFileSync(path.join(root, "Pulumi.plain.yaml"), `config:\n${instance}  openedx-im:credentials:\n    loadBalancerSshKey: plain\n`);
      writeFileSync(
        path.join(root, "Pulumi.mixed.yaml"),
        `config:\n${instance}  openedx-im:credentials:\n    loadBalancerSshKey:\n      secure: v1:abc\n    provisioningSshKey: plain\n`,
      );
      for (const [stack, key] of [["plain", "loadBalancerSshKey"], ["mixed", "provisioningSshKey"]]) {
        const error = await renderStack(stack, root).then(
          () => undefined,
          (e: unknown) => e as { problems?: string[] },
        );
        assert.deepEqual(error?.problems, [
          `openedx-im:credentials.${key}: is plain text; set it with: pulumi config set --secret --path 'openedx-im:credentials.${key}' <value>`,
        ]);
      }
    });
  });
});
