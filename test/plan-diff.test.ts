import { strict as assert } from "node:assert";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import {
  type ChangeKind,
  type DiffReport,
  type RenderOutcome,
  type StackDiff,
  COMMENT_MARKER,
  changedPaths,
  diffResources,
  diffStack,
  inlineCode,
  lineDiff,
  renderMarkdown,
  selectAffectedStacks,
  stackOfFile,
  summaryLine,
} from "../stacks/plan/diff";
import { affectedStacks, computeDiff, parseDiffArguments, resolveCommit } from "../stacks/plan/diff-cli";
import type { Plan, PlanResource } from "../stacks/plan/render";
import { FIXTURE_STACKS } from "./support/stacks";

const ROOT = path.resolve(__dirname, "..");

// ---------------------------------------------------------------------------
// Plans built by hand: the classification rules one at a time.

const URN = (type: string, name: string, parents: string[] = []) =>
  `urn:pulumi:ci::openedx-im::${[...parents, type].join("$")}::${name}`;

function resource(type: string, name: string, inputs: Record<string, unknown>, extra: Partial<PlanResource> = {}): PlanResource {
  return {
    urn: URN(type, name),
    type,
    name,
    parent: null,
    dependsOn: [],
    inputs,
    protect: false,
    retainOnDelete: false,
    deleteBeforeReplace: false,
    ...extra,
  };
}

function plan(resources: PlanResource[], extra: Partial<Plan> = {}): Plan {
  return { project: "openedx-im", stack: "ci", resources, outputs: {}, artifacts: {}, ...extra };
}

const INSTANCE = "openstack:compute/instance:Instance";
const GRANT = "mysql:index/grant:Grant";
const RECORD = "gandi:livedns/record:Record";
const COMMAND = "command:local:Command";
const SEC_GROUP = "openstack:networking/secGroup:SecGroup";

function kinds(diffs: ReturnType<typeof diffResources>): Record<string, ChangeKind> {
  return Object.fromEntries(diffs.map((d) => [d.name, d.change]));
}

describe("plan diff: classifying resources", () => {
  const vm = (inputs: Record<string, unknown>, extra: Partial<PlanResource> = {}) =>
    resource(INSTANCE, "vm-0", { name: "ci-vm-0", flavorName: "m1.large", imageName: "ubuntu-20.04", userData: "#cloud-config\n", ...inputs }, {
      replaceOnChanges: ["imageName"],
      ...extra,
    });

  it("finds created, deleted and unchanged resources by URN", () => {
    const diffs = diffResources(
      plan([resource(SEC_GROUP, "sg", { name: "ci" }), resource(RECORD, "lms", { zone: "example.org", name: "ci", type: "CNAME" })]),
      plan([resource(SEC_GROUP, "sg", { name: "ci" }), resource(GRANT, "grant", { database: "ci_edxapp" })]),
    );
    assert.deepEqual(kinds(diffs), { sg: "same", lms: "delete", grant: "create" });
  });

  it("updates a VM in place on a flavor change and names the input with both values", () => {
    const [diff] = diffResources(plan([vm({})]), plan([vm({ flavorName: "m1.xlarge" })]));
    assert.equal(diff.change, "update");
    assert.deepEqual(diff.changes, [{ path: "flavorName", before: "m1.large", after: "m1.xlarge", replaces: false }]);
  });

  it("replaces a VM whose userData changed (the provider cannot update it)", () => {
    const [diff] = diffResources(plan([vm({})]), plan([vm({ userData: "#cloud-config\nruncmd: []\n" })]));
    assert.equal(diff.change, "replace");
    assert.deepEqual(diff.reasons, ["replaces on userData"]);
  });

  it("replaces a VM whose image changed because the plan asks for it (replaceOnChanges)", () => {
    assert.equal(diffResources(plan([vm({})]), plan([vm({ imageName: "ubuntu-22.04" })]))[0].change, "replace");
  });

  it("warns that an image change without replaceOnChanges rebuilds the VM in place", () => {
    const [diff] = diffResources(plan([vm({}, { replaceOnChanges: [] })]), plan([vm({ imageName: "ubuntu-22.04" }, { replaceOnChanges: [] })]));
    assert.equal(diff.change, "update");
    assert.match(diff.reasons.join(), /imageName: rebuilds the VM in place and wipes its disk/);
  });

  it("replaces a MySQL grant on any change, a Gandi record on zone/name/type but not on ttl", () => {
    const grant = (privileges: string[]) => resource(GRANT, "grant", { database: "ci_edxapp", privileges });
    const record = (inputs: Record<string, unknown>) =>
      resource(RECORD, "lms", { zone: "example.org", name: "ci", type: "CNAME", ttl: 1200, ...inputs });
    const diffs = diffResources(
      plan([grant(["SELECT"]), record({}), resource(RECORD, "studio", { zone: "example.org", name: "studio.ci", type: "CNAME" })]),
      plan([grant(["SELECT", "INSERT"]), record({ ttl: 300 }), resource(RECORD, "studio", { zone: "example.org", name: "studio-ci", type: "CNAME" })]),
    );
    assert.deepEqual(kinds(diffs), { grant: "replace", lms: "update", studio: "replace" });
    const grantDiff = diffs.find((d) => d.name === "grant");
    assert.deepEqual(grantDiff?.changes.map((c) => c.path), ["privileges"], "a list that grew is shown whole");
  });

  it("replaces a command when its triggers change and updates it when only its environment does", () => {
    const cmd = (triggers: string[], environment: Record<string, string>) => resource(COMMAND, "provision", { create: "./provision", triggers, environment });
    assert.equal(diffResources(plan([cmd(["a"], {})]), plan([cmd(["b"], {})]))[0].change, "replace");
    assert.equal(diffResources(plan([cmd(["a"], { REF: "x" })]), plan([cmd(["a"], { REF: "y" })]))[0].change, "update");
  });

  it("keeps secrets as [secret] and sees no change between two secrets", () => {
    const cmd = (environment: Record<string, string>) => resource(COMMAND, "provision", { environment });
    const [same] = diffResources(plan([cmd({ PASSWORD: "[secret]" })]), plan([cmd({ PASSWORD: "[secret]" })]));
    assert.equal(same.change, "same");
    const [added] = diffResources(plan([cmd({})]), plan([cmd({ PASSWORD: "[secret]" })]));
    assert.deepEqual(added.changes, [{ path: "environment.PASSWORD", after: "[secret]", replaces: false }]);
  });

  it("counts an option change (protect, retainOnDelete) as an update", () => {
    const db = (extra: Partial<PlanResource>) => resource("mysql:index/database:Database", "db", { name: "ci_edxapp" }, extra);
    const [diff] = diffResources(plan([db({})]), plan([db({ protect: true, retainOnDelete: true })]));
    assert.equal(diff.change, "update");
    assert.deepEqual(diff.changes.map((c) => c.path), ["options.protect", "options.retainOnDelete"]);
  });

  it("pairs a resource that moved to a new parent, type or logical name as a replacement", () => {
    const moved = { ...resource(SEC_GROUP, "sg", { name: "ci" }), urn: URN(SEC_GROUP, "sg", ["openedx-im:instance:Instance"]), parent: "urn:parent" };
    const renamedBase = resource(INSTANCE, "vm-a", { name: "ci-vm" });
    const renamedHead = resource(INSTANCE, "vm-b", { name: "ci-vm" });
    const diffs = diffResources(plan([resource(SEC_GROUP, "sg", { name: "ci" }), renamedBase]), plan([moved, renamedHead]));
    assert.deepEqual(kinds(diffs), { sg: "replace", "vm-b": "replace" });
    assert.equal(diffs.find((d) => d.name === "sg")?.previousUrn, URN(SEC_GROUP, "sg"));
    assert.match(diffs.find((d) => d.name === "vm-b")?.reasons[0] ?? "", /new logical name/);
  });

  it("leaves ambiguous moves as delete and create", () => {
    const base = [resource(INSTANCE, "vm-a", { name: "x" }), resource(INSTANCE, "vm-b", { name: "x" })];
    const head = [resource(INSTANCE, "vm-c", { name: "x" })];
    assert.deepEqual(kinds(diffResources(plan(base), plan(head))), { "vm-a": "delete", "vm-b": "delete", "vm-c": "create" });
  });

  it("says what a delete does to protected and retained data", () => {
    const [diff] = diffResources(plan([resource("mysql:index/database:Database", "db", {}, { protect: true, retainOnDelete: true })]), plan([]));
    assert.equal(diff.change, "delete");
    assert.match(diff.reasons.join("; "), /protected.*retainOnDelete/);
  });

  it("gives paths of nested and indexed changes and whole arrays whose length changed", () => {
    assert.deepEqual(
      changedPaths({ a: { b: 1, c: [1, 2] }, d: [1] }, { a: { b: 2, c: [1, 3] }, d: [1, 2] }).map((c) => c.path),
      ["a.b", "a.c[1]", "d"],
    );
  });

  it("reports variables named like Object.prototype's members when they come or go", () => {
    const changes = changedPaths({ ansibleVars: { constructor: "x", A: 1 } }, { ansibleVars: { toString: "y", A: 1 } });
    assert.deepEqual(
      changes.map((c) => [c.path, c.before, c.after]).sort(),
      [
        ["ansibleVars.constructor", "x", undefined],
        ["ansibleVars.toString", undefined, "y"],
      ],
    );
  });
});

describe("plan diff: alerts on data and live sites", () => {
  const DATABASE = "mysql:index/database:Database";
  const MYSQL_PROVIDER = "pulumi:providers:mysql";
  const provider = (server: string, endpoint = `${server}.example.org:3306`) =>
    resource(MYSQL_PROVIDER, `provider-${server}`, { endpoint, username: "admin", password: "[secret]" });
  const onServer = (server: string, type: string, name: string, inputs: Record<string, unknown> = {}) =>
    resource(type, name, { name, ...inputs }, { provider: URN(MYSQL_PROVIDER, `provider-${server}`), protect: true, retainOnDelete: true });
  const data = (server: string) => [
    provider(server),
    onServer(server, DATABASE, "db-edxapp"),
    onServer(server, "mysql:index/user:User", "user-edxapp", { user: "ci_edxapp", host: "%" }),
    onServer(server, GRANT, "grant-edxapp", { database: "ci\\_edxapp" }),
  ];

  it("a data resource whose provider changes is replaced, and the move is DANGEROUS, with both servers named", () => {
    const diff = diffStack("ci", plan(data("mysql-a")), plan(data("mysql-c")));
    assert.deepEqual(
      diff.resources.filter((r) => !r.type.startsWith("pulumi:providers")).map((r) => [r.name, r.change]),
      [["db-edxapp", "replace"], ["grant-edxapp", "replace"], ["user-edxapp", "replace"]],
    );
    assert.equal(diff.alerts.length, 1, diff.alerts.join("\n"));
    assert.equal(
      diff.alerts[0].split(". ")[0],
      "DANGEROUS: 3 data resource(s) (Database ×1, Grant ×1, User ×1) change server: `provider-mysql-a` (`mysql-a.example.org:3306`) → `provider-mysql-c` (`mysql-c.example.org:3306`)",
    );
  });

  it("a provider that keeps its name but points at another server is DANGEROUS for the data it manages", () => {
    const moved = data("mysql-a");
    moved[0] = provider("mysql-a", "mysql-a-new.example.org:3306");
    const diff = diffStack("ci", plan(data("mysql-a")), plan(moved));
    assert.equal(diff.alerts.length, 1, diff.alerts.join("\n"));
    assert.match(diff.alerts[0], /^DANGEROUS: provider `provider-mysql-a` of 3 data resource\(s\) .* changes `endpoint` `"mysql-a\.example\.org:3306"` → `"mysql-a-new\.example\.org:3306"`/);
  });

  it("a MongoDB user moving to another cluster, and a database replaced in place, are DANGEROUS", () => {
    const mongo = (cluster: string) =>
      resource("mongodbatlas:index/databaseUser:DatabaseUser", "mongo", { username: "ci", scopes: [{ name: cluster, type: "CLUSTER" }] });
    const db = (name: string) => resource(DATABASE, "db", { name });
    const diff = diffStack("ci", plan([mongo("shared-1"), db("ci_edxapp")]), plan([mongo("shared-2"), db("ci_edxapp2")]));
    assert.equal(diff.alerts.length, 2, diff.alerts.join("\n"));
    assert.match(diff.alerts.join("\n"), /DatabaseUser `mongo` changes `scopes`/);
    assert.match(diff.alerts.join("\n"), /Database `db` is replaced: the new one is empty/);
  });

  it("raises nothing for ordinary changes: a VM on another provider, a grant replaced, a TTL", () => {
    const vm = (p: string) => resource(INSTANCE, "vm", { name: "x" }, { provider: p });
    const grant = (privileges: string[]) => onServer("mysql-a", GRANT, "grant", { privileges });
    const diff = diffStack("ci", plan([vm("urn:a"), grant(["SELECT"]), provider("mysql-a")]), plan([vm("urn:b"), grant(["SELECT", "INSERT"]), provider("mysql-a")]));
    assert.deepEqual(diff.alerts, []);
    assert.equal(diff.resources.find((r) => r.name === "vm")?.change, "replace", "another provider instance replaces the resource");
  });

  const lb = (domains: string[], servers: string[]) => ({
    haproxy: {
      config: `backend openedx-im-ci\n    mode http\n${servers.map((s) => `    server ${s} 10.0.0.1:80 check\n`).join("")}`,
      map: domains.map((d) => `${d} ${servers.length ? "openedx-im-ci" : "openedx-im-preliminary"}\n`).join(""),
    },
  });

  it("a live domain that leaves its appserver is an alert: to the preliminary page, or no longer routed", () => {
    const base = plan([], { artifacts: lb(["ci.example.org", "studio.ci.example.org"], ["a-0"]), outputs: { activeAppServer: "a" } });
    const preliminary = diffStack("ci", base, plan([], { artifacts: lb(["ci.example.org", "studio.ci.example.org"], []), outputs: { activeAppServer: null } }));
    assert.deepEqual(preliminary.alerts, [
      "Live site taken off its appserver: `activeAppServer` (`a`) is removed, so `ci.example.org`, `studio.ci.example.org` would be sent to the preliminary page.",
    ]);
    const dropped = diffStack("ci", base, plan([], { artifacts: lb(["ci.example.org"], ["b-0"]), outputs: { activeAppServer: "b" } }));
    assert.deepEqual(dropped.alerts, ["Live site taken off its appserver: `studio.ci.example.org` would no longer be routed by the load balancer."]);
    const moved = diffStack("ci", base, plan([], { artifacts: lb(["ci.example.org", "studio.ci.example.org"], ["b-0", "b-1"]), outputs: { activeAppServer: "b" } }));
    assert.deepEqual(moved.alerts, [], "traffic moving to another appserver is the normal switch");
  });

  it("puts the alerts above the table, and marks the stack's row", () => {
    const diff = diffStack("ci", plan(data("mysql-a")), plan(data("mysql-c")));
    const markdown = renderMarkdown({
      base: { ref: "main", commit: "a".repeat(40) },
      head: { ref: "working tree", commit: "b".repeat(40) },
      selection: { stacks: ["ci"], all: true, sharedChanges: ["Pulumi.yaml"], stackFileChanges: [], added: [], removed: [] },
      unaffected: [],
      stacks: [diff],
    });
    const [top, rest] = markdown.split("| | stack | summary |");
    assert.match(top, /#### ⚠ Look before merging\n\n- ⚠ `ci`: DANGEROUS: 3 data resource/);
    assert.match(rest, /\| ⚠️ \| `ci` \|/);
    assert.match(rest, /<details><summary>⚠️ <code>ci<\/code>/);
  });

  it("lists at most 20 alerts above the table when a fleet-wide change alerts on many stacks", () => {
    const stacks = Array.from({ length: 25 }, (_, i) => ({ ...diffStack(`pr-${i}`, plan(data("mysql-a")), plan(data("mysql-c"))), stack: `pr-${i}` }));
    const markdown = renderMarkdown({
      base: { ref: "main", commit: "a".repeat(40) },
      head: { ref: "working tree", commit: "b".repeat(40) },
      selection: { stacks: stacks.map((d) => d.stack), all: true, sharedChanges: ["Pulumi.yaml"], stackFileChanges: [], added: [], removed: [] },
      unaffected: [],
      stacks,
    });
    const top = markdown.split("| | stack | summary |")[0];
    assert.equal((top.match(/^- ⚠ /gm) ?? []).length, 20);
    assert.match(top, /- … and 5 more, in the sections of the stacks marked ⚠️/);
  });
});

describe("plan diff: stacks, selection and Markdown", () => {
  it("reports invalid config at head without a resource list, and a new stack as all creates", () => {
    const invalid = diffStack("pr-1", plan([]), { problems: ["openedx-im:instance.subDomain: must be lowercase"] });
    assert.equal(invalid.status, "invalid");
    assert.match(summaryLine(invalid), /configuration invalid \(1 problem/);
    const added = diffStack("pr-2", undefined, plan([resource(SEC_GROUP, "sg", {})]));
    assert.equal(added.status, "added");
    assert.deepEqual(added.counts, { create: 1, update: 0, replace: 0, delete: 0, same: 0 });
    const removed = diffStack("pr-3", plan([resource(SEC_GROUP, "sg", {})]), undefined);
    assert.equal(removed.status, "removed");
    assert.equal(summaryLine(removed), "stack file removed, 1 to delete");
  });

  it("affects only the stack whose file changed, and every stack when shared code changed", () => {
    const stacks = { baseStacks: ["dev", "prod", "pr-1"], headStacks: ["dev", "prod", "pr-2"] };
    const own = selectAffectedStacks({ changedFiles: ["Pulumi.dev.yaml", "docs/previews.md", "test/x.test.ts"], ...stacks });
    assert.deepEqual(own.stacks, ["dev"]);
    assert.equal(own.all, false);
    const generator = selectAffectedStacks({ changedFiles: ["Pulumi.pr-1.yaml", "Pulumi.pr-2.yaml"], ...stacks });
    assert.deepEqual([generator.stacks, generator.added, generator.removed], [["pr-1", "pr-2"], ["pr-2"], ["pr-1"]]);
    for (const shared of ["components/appserver.ts", "config/matrix/data.ts", "Pulumi.yaml", "package-lock.json"]) {
      const selection = selectAffectedStacks({ changedFiles: [shared], ...stacks });
      assert.deepEqual(selection.stacks, ["dev", "pr-1", "pr-2", "prod"], shared);
      assert.deepEqual(selection.sharedChanges, [shared]);
    }
    assert.deepEqual(selectAffectedStacks({ changedFiles: ["README.md", ".github/workflows/preview.yml", "node_modules", "fleet/cli.ts"], ...stacks }).stacks, []);
  });

  const report = (stacks: StackDiff[]): DiffReport => ({
    base: { ref: "origin/main", commit: "a".repeat(40) },
    head: { ref: "working tree", commit: "b".repeat(40) },
    selection: { stacks: stacks.map((s) => s.stack), all: true, sharedChanges: ["components/x.ts"], stackFileChanges: [], added: [], removed: [] },
    unaffected: [],
    stacks,
  });

  it("renders one comment: marker, a summary row per changed stack, details, unchanged stacks by name", () => {
    const base = plan([resource(COMMAND, "provision", { environment: { REF: "x" }, script: "a\nb\nc\n" })]);
    const head = plan([resource(COMMAND, "provision", { environment: { REF: "y" }, script: "a\nB\nc\n" })]);
    const markdown = renderMarkdown(report([diffStack("mitx-ci", base, head), diffStack("dev", base, base)]));
    assert.ok(markdown.startsWith(COMMENT_MARKER));
    assert.match(markdown, /\| 🔶 \| `mitx-ci` \| 1 to update \|/);
    assert.match(markdown, /<details><summary>🔶 <code>mitx-ci<\/code>: 1 to update<\/summary>/);
    assert.match(markdown, /`environment.REF`: `"x"` → `"y"`/);
    assert.match(markdown, /- b\n\s*\+ B/);
    assert.match(markdown, /No change on 1 stack\(s\): `dev`/);
    assert.doesNotMatch(markdown, /<summary>⚪/);
  });

  it("keeps text from pull requests inside code: backticks and fences cannot break out", () => {
    assert.equal(inlineCode("a`b"), "`` a`b ``");
    const evil = "```\n<img src=x onerror=alert(1)>\n```";
    const base = plan([resource(COMMAND, "provision", { script: "safe\n" })]);
    const head = plan([resource(COMMAND, "provision", { script: evil })]);
    const markdown = renderMarkdown(report([diffStack("pr-9", base, head)]));
    const block = /(`{4,})diff\n([\s\S]*?)\n\s*\1/.exec(markdown);
    assert.ok(block, "the multi-line value sits in a fence longer than its own backticks");
    assert.match(block[2], /<img src=x/);
  });

  it("cuts stack sections that do not fit one comment and says so", () => {
    const big = (n: number) => plan([resource(COMMAND, "provision", { script: Array.from({ length: 60 }, (_, i) => `line ${i} ${n}`).join("\n") })]);
    const stacks = Array.from({ length: 40 }, (_, i) => diffStack(`pr-${i}`, big(0), big(i + 1)));
    const markdown = renderMarkdown(report(stacks), 20_000);
    assert.ok(markdown.length < 22_000, `comment of ${markdown.length} characters`);
    assert.match(markdown, /stack section\(s\) left out to fit one comment/);
    assert.equal((markdown.match(/^\| 🔶 \|/gm) ?? []).length, 40, "every stack keeps its summary row");
  });

  it("compares a new appserver's artifacts with the old one's, and JSON text inputs key by key", () => {
    const artifacts = (id: string, ref: string) => ({ appservers: { [id]: { ansibleVars: { EDX_PLATFORM_VERSION: ref, COMMON: 1 } } } });
    const stdin = (server: string) => JSON.stringify({ instanceId: "ci", config: `backend ci\n  ${server}\n  check\n` });
    const diff = diffStack(
      "mitx-ci",
      plan([resource(COMMAND, "apply", { stdin: stdin("server old 10.0.0.1") })], { artifacts: artifacts("aaa", "mitx/redwood") }),
      plan([resource(COMMAND, "apply", { stdin: stdin("server new 10.0.0.2") })], { artifacts: artifacts("bbb", "mitx/quince") }),
    );
    assert.deepEqual(diff.artifacts, [
      { path: "appservers.{aaa→bbb}.ansibleVars.EDX_PLATFORM_VERSION", before: "mitx/redwood", after: "mitx/quince", replaces: false },
    ]);
    const markdown = renderMarkdown(report([diff]));
    assert.match(markdown, /`stdin`: JSON text, changed inside:\n\s+- `stdin \(JSON\)\.config`:/);
    assert.match(markdown, /- {3}server old 10\.0\.0\.1\n\s+\+ {3}server new 10\.0\.0\.2/);
  });

  it("line diff shows changed lines with context and elides the rest", () => {
    const before = Array.from({ length: 20 }, (_, i) => `l${i}`).join("\n");
    const after = before.replace("l10", "L10");
    assert.equal(lineDiff(before, after), ["@@", "  l8", "  l9", "- l10", "+ L10", "  l11", "  l12", "@@"].join("\n"));
  });

  it("parses the CLI arguments and rejects bad ones with a usage message", () => {
    assert.deepEqual(parseDiffArguments(["origin/main", "--stacks", "dev,prod", "--json"]), {
      base: "origin/main",
      stacks: ["dev", "prod"],
      json: true,
      stacksOnly: false,
    });
    assert.throws(() => parseDiffArguments([]), /base ref is missing/);
    assert.throws(() => parseDiffArguments(["a", "b", "c"]), /too many refs/);
    assert.throws(() => parseDiffArguments(["a", "--stacks"]), /--stacks needs/);
  });
});

// ---------------------------------------------------------------------------
// A throwaway repository: this project's config, matrix and plan machinery with
// a tiny program in place of the components, and commits for each kind of change.

const TINY_COMPONENT = `import * as command from "@pulumi/command";
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as gandi from "@pulumiverse/gandi";
import type { StackConfig } from "../config/stack-config";

/** A stand-in for the real components: one resource of each kind the diff must classify. */
export class TinySite extends pulumi.ComponentResource {
  readonly release: string;
  constructor(name: string, args: { stack: string; config: StackConfig }, opts?: pulumi.ComponentResourceOptions) {
    super("openedx-im:tiny:Site", name, {}, opts);
    const instance = args.config.instance;
    const secretKey = new random.RandomPassword(\`\${name}-secret-key\`, { length: 40, special: false }, { parent: this });
    const group = new openstack.networking.SecGroup(
      \`\${name}-sg\`,
      { name: \`\${args.stack}-appservers\`, description: "Open edX appservers", deleteDefaultRules: true },
      { parent: this },
    );
    instance.appServers.forEach((appServer, index) => {
      const vm = new openstack.compute.Instance(
        \`\${name}-vm-\${index}\`,
        {
          name: \`\${args.stack}-vm-\${index}\`,
          imageName: appServer.image,
          flavorName: appServer.flavor,
          securityGroups: [group.name],
          userData: \`#cloud-config\\n# release \${appServer.release.release}\\n\`,
          metadata: { release: appServer.release.release },
        },
        { parent: this, replaceOnChanges: ["imageName"] },
      );
      new command.local.Command(
        \`\${name}-provision-\${index}\`,
        {
          create: "./provision",
          environment: { PLATFORM_REF: appServer.release.applications["edx-platform"].ref, SECRET_KEY: secretKey.result },
          triggers: [vm.id, appServer.release.ref],
        },
        { parent: this },
      );
    });
    new gandi.livedns.Record(
      \`\${name}-lms\`,
      { zone: instance.baseDomain, name: instance.subDomain, type: "CNAME", ttl: instance.dnsTtl, values: ["lb1.example.org."] },
      { parent: this },
    );
    this.release = instance.appServers[0]?.release.release ?? "none";
    this.registerOutputs({});
  }
}
`;

const TINY_PROGRAM = `import * as pulumi from "@pulumi/pulumi";
import { TinySite } from "../components/tiny-site";
import { loadStackConfig } from "./load-config";
import type { ProgramResult } from "./plan/render";

export async function runProgram(): Promise<ProgramResult> {
  const { config } = loadStackConfig();
  const site = new TinySite("site", { stack: pulumi.getStack(), config });
  return { outputs: { release: site.release }, artifacts: {} };
}
`;

const stackFile = (fields: string) => `config:\n  openedx-im:instance:\n${fields
  .trim()
  .split("\n")
  .map((line) => `    ${line.trim()}`)
  .join("\n")}\n`;

const STACKS: Record<string, string> = {
  "mitx-ci": stackFile("name: MITx CI\nsubDomain: mitx-ci\nbaseDomain: sandbox.example.org\nlifecycle: sandbox\ndeployment: mitx\nstage: CI"),
  "mitx-qa": stackFile("name: MITx QA\nsubDomain: mitx-qa\nbaseDomain: sandbox.example.org\nlifecycle: sandbox\ndeployment: mitx\nstage: QA"),
  "xpro-ci": stackFile("name: xPro CI\nsubDomain: xpro-ci\nbaseDomain: sandbox.example.org\nlifecycle: sandbox\ndeployment: xpro\nstage: CI"),
  "sandbox-a": stackFile("name: Sandbox A\nsubDomain: sandbox-a\nbaseDomain: sandbox.example.org\nlifecycle: sandbox\nrelease: redwood"),
};

/** The matrix line the matrix commit edits: mitx moves its CI stage to another release. */
const MITX_STAGES = /mitx: \{ CI: "redwood", QA: "quince", Production: "quince" \}/;

function run(cwd: string, command: string, args: string[]): string {
  return execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function commit(repo: string, message: string): string {
  run(repo, "git", ["add", "-A"]);
  run(repo, "git", ["-c", "user.name=test", "-c", "user.email=test@example.org", "commit", "-q", "-m", message]);
  return run(repo, "git", ["rev-parse", "HEAD"]).trim();
}

function buildRepository(): { repo: string; commits: Record<"start" | "matrix" | "stackFile" | "component", string> } {
  const repo = mkdtempSync(path.join(tmpdir(), "openedx-im-diff-repo-"));
  for (const entry of ["config", "stacks", "components", "package.json", "tsconfig.json"])
    cpSync(path.join(ROOT, entry), path.join(repo, entry), { recursive: true });
  // The tests' own fleet, not this repository's (an operator's fork changes it).
  cpSync(path.join(FIXTURE_STACKS, "Pulumi.yaml"), path.join(repo, "Pulumi.yaml"));
  // The tiny program replaces the real one; the components stay for what config and the plan import (domains, names).
  for (const file of readdirSync(path.join(repo, "stacks", "plan")))
    if (/^(diff|diff-cli|render-many)\.ts$/.test(file)) rmSync(path.join(repo, "stacks", "plan", file));
  writeFileSync(path.join(repo, "stacks", "program.ts"), TINY_PROGRAM);
  writeFileSync(path.join(repo, "components", "tiny-site.ts"), TINY_COMPONENT);
  for (const [stack, text] of Object.entries(STACKS)) writeFileSync(path.join(repo, `Pulumi.${stack}.yaml`), text);
  writeFileSync(path.join(repo, ".gitignore"), "node_modules\n");
  symlinkSync(path.join(ROOT, "node_modules"), path.join(repo, "node_modules"), "dir");
  run(repo, "git", ["init", "-q", "-b", "main"]);
  const start = commit(repo, "start");

  const matrixFile = path.join(repo, "config", "matrix", "data.ts");
  const matrix = readFileSync(matrixFile, "utf8");
  assert.match(matrix, MITX_STAGES, "the test expects mitx to run redwood in CI; update MITX_STAGES");
  writeFileSync(matrixFile, matrix.replace(MITX_STAGES, 'mitx: { CI: "quince", QA: "quince", Production: "quince" }'));
  const matrixCommit = commit(repo, "matrix: mitx CI moves to quince");

  const sandboxA = path.join(repo, "Pulumi.sandbox-a.yaml");
  writeFileSync(sandboxA, readFileSync(sandboxA, "utf8") + "    dnsTtl: 300\n");
  writeFileSync(path.join(repo, "Pulumi.sandbox-b.yaml"), STACKS["sandbox-a"].replace(/sandbox-a/g, "sandbox-b").replace("Sandbox A", "Sandbox B"));
  rmSync(path.join(repo, "Pulumi.xpro-ci.yaml"));
  const stackFileCommit = commit(repo, "stacks: sandbox-a lowers its TTL, sandbox-b arrives, xpro-ci leaves");

  const componentFile = path.join(repo, "components", "tiny-site.ts");
  writeFileSync(
    componentFile,
    readFileSync(componentFile, "utf8")
      .replace('description: "Open edX appservers"', 'description: "Open edX appservers of " + instance.name')
      .replace('create: "./provision"', 'create: "./provision --verbose"')
      .replace('values: ["lb1.example.org."]', 'values: ["lb2.example.org."]')
      .replace("this.registerOutputs({});", 'new random.RandomPassword(`${name}-api-key`, { length: 32 }, { parent: this });\n    this.registerOutputs({});'),
  );
  const componentCommit = commit(repo, "component: describe the group, verbose provisioning, new LB, an API key");
  return { repo, commits: { start, matrix: matrixCommit, stackFile: stackFileCommit, component: componentCommit } };
}

/** name → change, for every resource of one stack. */
function classification(report: DiffReport, stack: string): Record<string, ChangeKind> {
  const diff = report.stacks.find((s) => s.stack === stack);
  assert.ok(diff, `${stack} is in the report`);
  assert.ok(!diff.problems.base && !diff.problems.head, `${stack} rendered: ${JSON.stringify(diff.problems)}`);
  return Object.fromEntries(diff.resources.map((r) => [r.name, r.change]));
}

const allSame = (stack: string): Record<string, ChangeKind> => ({
  [`openedx-im-${stack}`]: "same",
  site: "same", "site-lms": "same", "site-provision-0": "same", "site-secret-key": "same", "site-sg": "same", "site-vm-0": "same",
});

describe("plan diff on a throwaway git repository", function () {
  this.timeout(180_000);
  let repo: string;
  let commits: ReturnType<typeof buildRepository>["commits"];

  before(() => {
    ({ repo, commits } = buildRepository());
  });
  after(() => {
    if (repo) rmSync(repo, { recursive: true, force: true });
  });

  it("a matrix bump of one deployment's stage changes exactly that deployment and stage's stacks", async () => {
    const report = await computeDiff({ cwd: repo, base: commits.start, head: commits.matrix });
    assert.equal(report.selection.all, true);
    assert.deepEqual(report.selection.sharedChanges, ["config/matrix/data.ts"]);
    assert.deepEqual(
      report.stacks.map((s) => [s.stack, s.status]),
      [["mitx-ci", "changed"], ["mitx-qa", "unchanged"], ["sandbox-a", "unchanged"], ["xpro-ci", "unchanged"]],
    );
    assert.deepEqual(classification(report, "mitx-ci"), {
      ...allSame("mitx-ci"),
      "site-provision-0": "replace",
      "site-vm-0": "replace",
    });
    const mitxCi = report.stacks[0];
    const vm = mitxCi.resources.find((r) => r.name === "site-vm-0");
    assert.deepEqual(vm?.changes.map((c) => [c.path, c.replaces]), [["metadata.release", false], ["userData", true]]);
    const provision = mitxCi.resources.find((r) => r.name === "site-provision-0");
    assert.deepEqual(
      provision?.changes.map((c) => [c.path, c.before, c.after]),
      [
        ["environment.PLATFORM_REF", "mitx/redwood", "mitx/quince"],
        ["triggers[1]", "open-release/redwood.master", "open-release/quince.master"],
      ],
    );
    for (const stack of ["mitx-qa", "sandbox-a", "xpro-ci"]) assert.deepEqual(classification(report, stack), allSame(stack));
    assert.deepEqual(mitxCi.outputs, [{ path: "release", before: "redwood", after: "quince", replaces: false }]);
  });

  it("a stack-file change renders only the stacks whose files changed, added and removed ones included", async () => {
    const report = await computeDiff({ cwd: repo, base: commits.matrix, head: commits.stackFile });
    assert.equal(report.selection.all, false);
    assert.deepEqual(report.unaffected, ["mitx-ci", "mitx-qa"]);
    assert.deepEqual(
      report.stacks.map((s) => [s.stack, s.status, summaryLine(s)]),
      [
        ["sandbox-a", "changed", "1 to update, 6 unchanged"],
        ["sandbox-b", "added", "new stack file, 7 to create"],
        ["xpro-ci", "removed", "stack file removed, 7 to delete"],
      ],
    );
    assert.deepEqual(classification(report, "sandbox-a"), { ...allSame("sandbox-a"), "site-lms": "update" });
    assert.deepEqual(report.stacks[0].resources.find((r) => r.name === "site-lms")?.changes, [
      { path: "ttl", before: 1200, after: 300, replaces: false },
    ]);
  });

  const cli = (args: string[]) =>
    spawnSync(process.execPath, [require.resolve("tsx/cli"), path.join(ROOT, "stacks", "plan-cli.ts"), "diff", ...args], {
      cwd: repo,
      encoding: "utf8",
    });

  it("a component change affects every stack (the CLI's JSON), and reads as Markdown", () => {
    const json = cli([commits.stackFile, commits.component, "--json"]);
    assert.equal(json.status, 0, json.stderr);
    const report = JSON.parse(json.stdout) as DiffReport;
    assert.deepEqual(report.selection.sharedChanges, ["components/tiny-site.ts"]);
    assert.deepEqual(report.stacks.map((s) => s.stack), ["mitx-ci", "mitx-qa", "sandbox-a", "sandbox-b"]);
    for (const stack of report.stacks.map((s) => s.stack))
      assert.deepEqual(classification(report, stack), {
        ...allSame(stack),
        "site-api-key": "create",
        "site-lms": "update",
        "site-provision-0": "update",
        "site-sg": "update",
      });
    const provision = report.stacks[0].resources.find((r) => r.name === "site-provision-0");
    assert.deepEqual(provision?.changes.map((c) => c.path), ["create"], "the secret environment value did not show as a change");
    assert.equal(run(repo, "git", ["worktree", "list"]).trim().split("\n").length, 1, "temporary worktrees are removed");

    const markdown = renderMarkdown(report);
    assert.ok(markdown.startsWith(COMMENT_MARKER));
    assert.match(markdown, /\| 🔶 \| `sandbox-a` \| 1 to create, 3 to update, 4 unchanged \|/);
    assert.match(markdown, /`description`: `"Open edX appservers"` → `"Open edX appservers of Sandbox A"`/);
  });

  it("diffs the working tree (uncommitted changes included) and exits 1 on invalid config at head", () => {
    const file = path.join(repo, "Pulumi.mitx-qa.yaml");
    const original = readFileSync(file, "utf8");
    writeFileSync(file, original.replace("subDomain: mitx-qa", "subDomain: Not_A_Label"));
    try {
      const result = cli(["HEAD"]);
      assert.equal(result.status, 1, result.stderr);
      assert.match(result.stdout, /\| ❌ \| `mitx-qa` \| configuration invalid \(1 problem\(s\)\); nothing can be deployed \|/);
      assert.match(result.stdout, /openedx-im:instance\.subDomain/);
      assert.match(result.stderr, /mitx-qa: invalid at head/);
    } finally {
      writeFileSync(file, original);
    }
  });

  it("renders several stacks in one process (render-many); an invalid stack does not stop the others", () => {
    const broken = path.join(repo, "Pulumi.broken.yaml");
    writeFileSync(broken, stackFile("name: Broken\nsubDomain: studio-x\nbaseDomain: example.org\nlifecycle: sandbox"));
    const out = path.join(repo, "plans.json");
    try {
      const result = spawnSync(
        process.execPath,
        [require.resolve("tsx/cli"), path.join(ROOT, "stacks", "plan", "render-many.ts"), "--tree", repo, "--out", out, "--all"],
        { cwd: repo, encoding: "utf8" },
      );
      assert.equal(result.status, 0, result.stderr);
      const plans = JSON.parse(readFileSync(out, "utf8")) as Record<string, RenderOutcome>;
      assert.deepEqual(Object.keys(plans), ["broken", "mitx-ci", "mitx-qa", "sandbox-a", "sandbox-b"]);
      assert.match((plans.broken as { problems: string[] }).problems.join("\n"), /subDomain: must not start with "studio"/);
      for (const stack of ["mitx-ci", "mitx-qa", "sandbox-a", "sandbox-b"]) {
        const rendered = plans[stack] as Plan;
        assert.equal(rendered.stack, stack);
        assert.equal(rendered.resources.length, 8, "the component commit added a resource");
      }
    } finally {
      rmSync(broken, { force: true });
      rmSync(out, { force: true });
    }
  });

  it("lists the affected stacks without rendering, for the deploy workflow", () => {
    assert.deepEqual(affectedStacks({ cwd: repo, base: commits.matrix, head: commits.stackFile }), {
      stacks: ["sandbox-a", "sandbox-b"],
      removed: ["xpro-ci"],
      added: ["sandbox-b"],
      all: false,
    });
  });

  it("says how to get a missing base ref instead of failing obscurely", () => {
    const single = mkdtempSync(path.join(tmpdir(), "openedx-im-diff-single-"));
    try {
      run(single, "git", ["init", "-q"]);
      writeFileSync(path.join(single, "README.md"), "x\n");
      commit(single, "only commit");
      assert.throws(() => resolveCommit(single, "HEAD~1"), /has 1 commit\(s\), so HEAD~1 does not exist/);
      assert.throws(() => resolveCommit(single, "origin/main"), /not found\. Fetch it first/);
    } finally {
      rmSync(single, { recursive: true, force: true });
    }
  });
});

// The real program, from a clean clone of this repository: the version-matrix
// example of the issue (a new release in CI for one deployment) and
// `npm run plan -- diff HEAD~1` as a reviewer would run it.
describe("plan diff on a clean clone of this repository (the real program)", function () {
  this.timeout(300_000);
  let clone: string;

  before(() => {
    clone = mkdtempSync(path.join(tmpdir(), "openedx-im-diff-clone-"));
    run(clone, "git", ["clone", "-q", ROOT, "repo"]);
    clone = path.join(clone, "repo");
    writeFileSync(path.join(clone, ".git", "info", "exclude"), "node_modules\n");
    symlinkSync(path.join(ROOT, "node_modules"), path.join(clone, "node_modules"), "dir");
    // Whatever fleet and stacks this repository holds (an operator's fork has its own), the clone gets the tests' own.
    for (const file of readdirSync(clone)) if (stackOfFile(file)) rmSync(path.join(clone, file));
    for (const file of readdirSync(FIXTURE_STACKS)) cpSync(path.join(FIXTURE_STACKS, file), path.join(clone, file));
    for (const stage of ["CI", "QA"]) {
      const name = `mitx-${stage.toLowerCase()}`;
      writeFileSync(
        path.join(clone, `Pulumi.${name}.yaml`),
        stackFile(`name: MITx ${stage}\nsubDomain: ${name}\nbaseDomain: sandbox.opencraft.example\nlifecycle: sandbox\ndeployment: mitx\nstage: ${stage}`),
      );
    }
    commit(clone, "fleet: the tests' stacks, and sandboxes that follow mitx CI and QA");
    const matrixFile = path.join(clone, "config", "matrix", "data.ts");
    const matrix = readFileSync(matrixFile, "utf8");
    assert.match(matrix, MITX_STAGES, "the test expects mitx to run redwood in CI; update MITX_STAGES");
    writeFileSync(matrixFile, matrix.replace(MITX_STAGES, 'mitx: { CI: "quince", QA: "quince", Production: "quince" }'));
    commit(clone, "matrix: mitx CI moves to quince");
  });
  after(() => {
    if (clone) rmSync(path.dirname(clone), { recursive: true, force: true });
  });

  it("npm run plan -- diff HEAD~1: a new release in mitx CI builds a new appserver on mitx-ci only, blue/green", () => {
    const result = spawnSync("npm", ["run", "-s", "plan", "--", "diff", "HEAD~1", "--json"], { cwd: clone, encoding: "utf8" });
    assert.equal(result.status, 0, result.stderr);
    const report = JSON.parse(result.stdout) as DiffReport;
    assert.deepEqual(report.selection.sharedChanges, ["config/matrix/data.ts"]);
    // Whatever example stacks the repository holds, only mitx-ci changes.
    assert.deepEqual(
      report.stacks.filter((s) => s.status !== "unchanged").map((s) => [s.stack, s.status]),
      [["mitx-ci", "changed"]],
    );
    assert.ok(report.stacks.some((s) => s.stack === "mitx-qa" && s.status === "unchanged"));
    const mitxCi = report.stacks.find((s) => s.stack === "mitx-ci");
    assert.ok(mitxCi);
    // Appservers are named by a digest of what they are built from: a new release, a new id.
    const appServerId = (change: ChangeKind) =>
      mitxCi.resources.find((r) => r.change === change && r.type === "openedx-im:appserver:AppServer")?.name.replace(/^appserver-/, "");
    const [oldId, newId] = [appServerId("delete"), appServerId("create")];
    assert.ok(oldId && newId && oldId !== newId, `one appserver replaced by another: ${oldId} → ${newId}`);
    let loadBalancerUpdates = 0;
    for (const resource of mitxCi.resources) {
      const what = `${resource.type} ${resource.name}`;
      if (resource.urn.includes("openedx-im:load-balancer:Fragment")) {
        // The fragment's text names the new VM; the rest of the load-balancer part stays.
        assert.ok(resource.change === "update" || resource.change === "same", `${what}: ${resource.change}`);
        if (resource.change === "update") loadBalancerUpdates += 1;
        continue;
      }
      const expected: ChangeKind = resource.name.includes(newId) ? "create" : resource.name.includes(oldId) ? "delete" : "same";
      assert.equal(resource.change, expected, what);
    }
    assert.ok(loadBalancerUpdates > 0, "the load balancer moves to the new appserver");
    const created = mitxCi.resources.filter((r) => r.change === "create");
    const deleted = mitxCi.resources.filter((r) => r.change === "delete");
    assert.ok(created.some((r) => r.type === INSTANCE), "a new VM is built");
    assert.equal(created.length, deleted.length, "the new appserver has the old one's shape");
    const lb = mitxCi.resources.filter((r) => r.change === "update");
    assert.ok(lb.length > 0 && lb.every((r) => r.changes.every((c) => !c.replaces)), "the load balancer is updated in place");
    const varsChanged = mitxCi.artifacts.map((c) => c.path);
    assert.ok(varsChanged.some((p) => /^appservers\./.test(p)), `artifacts show the new appserver's variables: ${varsChanged.join(", ")}`);
  });
});
