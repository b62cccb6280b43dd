import { strict as assert } from "node:assert";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { chooseMysqlServer } from "../config/names";
import { versionMatrix } from "../config/matrix/data";
import { resolveRelease } from "../config/matrix/resolve";
import { type DiffReport, type ResourceDiff, type StackDiff, diffResources, diffStack, renderMarkdown } from "../stacks/plan/diff";
import type { Plan } from "../stacks/plan/render";
import { renderStack } from "../stacks/plan/stack";
import { FIXTURE_STACKS, scratchProject } from "./support/stacks";

/**
 * What `pulumi up` would do to appservers when settings change, read off two
 * offline plans of the real program: blue/green for sandboxes, frozen
 * appservers for production; and what the plan diff tells a reviewer about it.
 * The stacks are the tests' own (test/fixtures/stacks), edited per test.
 */

type Instance = Record<string, unknown>;
type Fleet = Record<string, { value: unknown }>;
const VM = "openstack:compute/instance:Instance";
const RECORD = "gandi:livedns/record:Record";

describe("appserver lifecycle across changes", function () {
  this.timeout(120_000);
  let root: string;

  before(() => {
    root = scratchProject("openedx-im-lifecycle-");
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  /** Renders the fixture stack `from`, changed by `edit`, with the fleet (Pulumi.yaml) changed by `editFleet`. */
  async function render(
    from: "dev" | "prod",
    edit: (instance: Instance) => void = () => {},
    options: { editFleet?: (fleet: Fleet) => void; as?: string } = {},
  ): Promise<Plan> {
    const project = parse(readFileSync(path.join(FIXTURE_STACKS, "Pulumi.yaml"), "utf8")) as { config: Fleet };
    options.editFleet?.(project.config);
    writeFileSync(path.join(root, "Pulumi.yaml"), stringify(project));
    const doc = parse(readFileSync(path.join(FIXTURE_STACKS, `Pulumi.${from}.yaml`), "utf8")) as { config: Record<string, Instance> };
    edit(doc.config["openedx-im:instance"]);
    const stack = options.as ?? from;
    writeFileSync(path.join(root, `Pulumi.${stack}.yaml`), stringify(doc));
    return renderStack(stack, root);
  }

  const changed = (diffs: ResourceDiff[], kind: ResourceDiff["change"]) =>
    diffs.filter((d) => d.change === kind).map((d) => d.name);

  const markdownOf = (diff: StackDiff): string => {
    const report: DiffReport = {
      base: { ref: "main", commit: "a".repeat(40) },
      head: { ref: "working tree", commit: "b".repeat(40) },
      selection: { stacks: [diff.stack], all: false, sharedChanges: [], stackFileChanges: [diff.stack], added: [], removed: [] },
      unaffected: [],
      stacks: [diff],
    };
    return renderMarkdown(report);
  };

  describe("sandbox", () => {
    it("new settings build a new appserver beside the old one and move traffic to it", async () => {
      const before = await render("dev");
      const after = await render("dev", (i) => {
        (i.extraSettings as Record<string, unknown>).EDXAPP_PLATFORM_NAME = "Renamed";
      });
      const diffs = diffResources(before, after);
      const created = changed(diffs, "create");
      const deleted = changed(diffs, "delete");
      assert.ok(created.some((n) => /^appserver-[0-9a-f]{8}-vm0$/.test(n)), `no new VM: ${created}`);
      assert.ok(created.some((n) => n.endsWith("provision0-run")) && created.some((n) => n.endsWith("health0-heartbeat")));
      assert.ok(deleted.some((n) => /^appserver-[0-9a-f]{8}-vm0$/.test(n)), "the old VM is removed (at the end of the update)");
      assert.deepEqual(changed(diffs, "update"), ["load-balancer-apply"], "only the load-balancer fragment changes in place");
      // Nothing of the instance's long-lived services is touched.
      assert.deepEqual(
        diffs.filter((d) => d.change !== "same" && !/^(appserver-|load-balancer|instance-dns-vm)/.test(d.name)).map((d) => d.name),
        [],
      );
      // The new VMs are created before the old ones go: never delete-first.
      for (const vm of after.resources.filter((r) => r.type === VM)) assert.equal(vm.deleteBeforeReplace, false, vm.name);
    });

    it("a change of the instance's connection variables replaces the VM, creating the new one before deleting the old", async () => {
      const before = await render("dev");
      const after = await render("dev", (i) => {
        i.services = { notes: false };
      });
      const vm = diffResources(before, after).find((d) => d.name.endsWith("-vm0"));
      assert.equal(vm?.change, "replace", JSON.stringify(vm));
      assert.ok(vm?.changes.some((c) => c.path === "options.replacementTrigger"));
      const headVm = after.resources.find((r) => r.urn === vm?.urn);
      assert.equal(headVm?.deleteBeforeReplace, false, "the engine creates the replacement first (blue/green); delete-first would take the site down");
    });
  });

  describe("DNS names of the VMs", () => {
    /** Every VM of every appserver has its own record, vm<N>-<id>.<subDomain>, holding that VM's address. */
    function assertEveryVmNamed(plan: Plan, subDomain: string) {
      const addresses = plan.outputs.appServerAddresses as Record<string, string[]>;
      const vms = plan.resources.filter((r) => r.type === VM);
      const records = plan.resources.filter((r) => r.type === RECORD && /^vm\d+-/.test(String(r.inputs.name)));
      assert.equal(records.length, vms.length, `one record per VM: ${records.map((r) => r.inputs.name).join(", ")}`);
      for (const [id, list] of Object.entries(addresses)) {
        assert.ok(list.length > 0, id);
        list.forEach((address, index) => {
          const record = records.find((r) => r.inputs.name === `vm${index}-${id}.${subDomain}`);
          assert.ok(record, `no record vm${index}-${id}.${subDomain}`);
          assert.deepEqual(record.inputs.values, [address], `vm${index}-${id} points at its own VM`);
        });
      }
    }

    it("production: each of an appserver's VMs gets its vm<N> record", async () => {
      const plan = await render("prod");
      assert.ok((plan.outputs.appServerAddresses as Record<string, string[]>).a20261101.length >= 2, "the fixture runs 2 VMs per appserver");
      assertEveryVmNamed(plan, "courses");
    });

    it("sandbox: three VMs, three records", async () => {
      const plan = await render("dev", (i) => {
        i.appServerCount = 3;
      });
      assert.equal(plan.resources.filter((r) => r.type === VM).length, 3);
      assertEveryVmNamed(plan, "dev");
    });
  });

  describe("production", () => {
    it("changing instance settings never rebuilds or re-provisions an existing appserver", async () => {
      const before = await render("prod");
      const after = await render("prod", (i) => {
        i.services = { notes: false };
      });
      const diffs = diffResources(before, after).filter((d) => d.name.startsWith("appserver-"));
      assert.deepEqual(
        diffs.filter((d) => d.change === "replace" || d.change === "create" || d.change === "delete").map((d) => d.name),
        [],
      );
      // The runs' recorded inputs follow the settings, but their update command is a no-op.
      for (const d of diffs.filter((x) => x.change === "update")) assert.match(d.name, /provision\d+-run$/);
      const run = after.resources.find((r) => r.name === "appserver-a20261101-provision0-run");
      assert.match(String(run?.inputs.update), /frozen/);
    });

    it("an appserver built for a deployment keeps the deployment's repository and branch for its release", async () => {
      const plan = await render("prod");
      const withDeployment = resolveRelease(versionMatrix, { deployment: "mitx", release: "quince" }).applications["edx-platform"];
      const releaseOnly = resolveRelease(versionMatrix, { release: "quince" }).applications["edx-platform"];
      assert.notEqual(withDeployment.ref, releaseOnly.ref, "the matrix gives mitx its own edx-platform branch at quince; update this test if not");
      const vars = (plan.artifacts.appservers as Record<string, { ansibleVars: Record<string, unknown> }>).a20261101.ansibleVars;
      assert.equal(vars.EDX_PLATFORM_VERSION, withDeployment.ref);
      assert.equal(vars.edx_platform_repo, withDeployment.repository);
    });

    it("switching activeAppServer moves traffic without touching either appserver, and raises no alert", async () => {
      const before = await render("prod");
      const after = await render("prod", (i) => {
        i.activeAppServer = "a20261120";
      });
      const diffs = diffResources(before, after);
      assert.deepEqual(
        diffs.filter((d) => d.change !== "same").map((d) => `${d.change} ${d.name}`),
        ["update load-balancer-apply"],
      );
      assert.deepEqual(diffStack("prod", before, after).alerts, []);
    });

    it("a new appserver entry is built but takes no traffic, and is compared with the active one", async () => {
      const before = await render("prod");
      const after = await render("prod", (i) => {
        (i.appServers as Instance[]).push({ id: "a20261201", release: "redwood" });
      });
      const diffs = diffResources(before, after);
      assert.ok(changed(diffs, "create").includes("appserver-a20261201-vm0"));
      // The fragment gains only the new candidate's pin (weight-0 servers, its entry name): the
      // active appserver's servers and the instance's names stay as they were.
      const haproxy = (plan: Plan) => plan.artifacts.haproxy as { config: string; map: string };
      const served = (plan: Plan) => haproxy(plan).config.split("\n").filter((line) => /^    server /.test(line) && !line.endsWith(" weight 0"));
      const names = (plan: Plan) => haproxy(plan).map.split("\n").filter((line) => !line.includes(".candidate."));
      assert.deepEqual(served(after), served(before));
      assert.deepEqual(names(after), names(before));
      assert.ok(haproxy(after).map.split("\n").some((line) => line.startsWith("a20261201.candidate.")), "the new appserver can be checked at its entry name");

      const diff = diffStack("prod", before, after);
      assert.deepEqual(
        diff.artifacts.filter((c) => c.path === "appservers.a20261201"),
        [],
        "not one (absent) → {…} holding every variable",
      );
      const paths = diff.artifacts.map((c) => c.path);
      assert.ok(paths.includes("appservers.{a20261101→a20261201}.ansibleVars.EDX_PLATFORM_VERSION"), paths.join("\n"));
      assert.ok(!paths.some((p) => p.startsWith("appservers.{a20261101→a20261201}.ansibleVars.EDXAPP_PLATFORM_NAME")), "what is equal is not shown");
      const redwood = resolveRelease(versionMatrix, { deployment: "mitx", release: "redwood" }).applications["edx-platform"];
      const [note] = diff.notes;
      assert.match(note, /New appserver `a20261201`, compared with the active `a20261101`: release `quince` → `redwood`/);
      assert.ok(note.includes(`\`${redwood.repository}@${redwood.ref}\``), note);
      assert.match(note, /It takes no traffic until `activeAppServer` names it/);
      assert.deepEqual(diff.alerts, []);
    });

    it("instance-level changes on a frozen appserver say they are recorded and apply to the next appserver", async () => {
      const before = await render("prod");
      const after = await render("prod", (i) => {
        i.services = { ecommerce: true, discovery: false };
      });
      const diff = diffStack("prod", before, after);
      const runs = diff.resources.filter((r) => /^appserver-a20261101-provision\d+-run$/.test(r.name));
      assert.ok(runs.length === 2 && runs.every((r) => r.change === "update"), JSON.stringify(runs.map((r) => r.change)));
      for (const run of runs) assert.ok(run.reasons.includes("frozen appserver: recorded; applies to the next appserver you add"), run.reasons.join());
      assert.ok(diff.notes.some((n) => /Appserver `a20261101` is frozen .*recorded, not applied to its VMs; they apply to the next appserver you add/.test(n)), diff.notes.join("\n"));
      // The ecommerce domain is new and routed to the active appserver, which was built without it.
      const [alert] = diff.alerts;
      assert.match(alert ?? "", /New domain\(s\) `ecommerce\.courses\.mitx\.opencraft\.example` routed to appserver `a20261101`, which was built without them/);
      const markdown = markdownOf(diff);
      assert.ok(markdown.indexOf("⚠ Look before merging") < markdown.indexOf("| stack |"), "the alert comes before the table");
      assert.match(markdown, /recorded; applies to the next appserver you add/);
    });

    it("removing activeAppServer sends the live site to the preliminary page: an alert at the top", async () => {
      const before = await render("prod");
      const after = await render("prod", (i) => {
        delete i.activeAppServer;
      });
      const diff = diffStack("prod", before, after);
      assert.equal(diff.counts.update, 1, "one ordinary-looking update");
      assert.equal(diff.alerts.length, 1, diff.alerts.join("\n"));
      assert.match(diff.alerts[0], /Live site taken off its appserver: `activeAppServer` \(`a20261101`\) is removed, so `courses\.mitx\.opencraft\.example`, .* would be sent to the preliminary page/);
      const markdown = markdownOf(diff);
      assert.match(markdown, /#### ⚠ Look before merging\n\n- ⚠ `prod`: Live site taken off its appserver/);
      assert.match(markdown, /\| ⚠️ \| `prod` \|/);
    });
  });

  describe("where the data lives when the fleet's MySQL servers change", () => {
    const addServer = (fleet: Fleet) => {
      (fleet["openedx-im:mysqlServers"].value as unknown[]).push({ name: "mysql-c", host: "mysql-c.db.opencraft.example", port: 3306, username: "openedx_im_admin" });
    };

    it("a production stack pins its server: adding one to the fleet changes nothing", async () => {
      const before = await render("prod");
      const after = await render("prod", () => {}, { editFleet: addServer });
      const diff = diffStack("prod", before, after);
      assert.equal(diff.status, "unchanged", JSON.stringify(diff.resources.filter((r) => r.change !== "same").map((r) => r.name)));
    });

    it("an unpinned persistent instance that the hash moves: every data resource is a replacement, flagged DANGEROUS at the top", async () => {
      const servers = ["mysql-a", "mysql-b"];
      const stack = Array.from({ length: 100 }, (_, n) => `pr-${n}`).find(
        (id) => chooseMysqlServer(id, servers) !== chooseMysqlServer(id, [...servers, "mysql-c"]),
      ) as string;
      const was = chooseMysqlServer(stack, servers);
      const persistent = (i: Instance) => {
        i.databases = "persistent";
      };
      const before = await render("dev", persistent, { as: stack });
      const after = await render("dev", persistent, { as: stack, editFleet: addServer });
      const diff = diffStack(stack, before, after);
      const mysql = diff.resources.filter((r) => /^mysql:index\//.test(r.type));
      assert.ok(mysql.length > 10);
      for (const r of mysql) assert.equal(r.change, "replace", `${r.name}: a change of provider is not an update`);
      const alert = diff.alerts.find((a) => a.startsWith("DANGEROUS"));
      assert.ok(alert, diff.alerts.join("\n"));
      assert.ok(alert.includes(`${mysql.length} data resource(s) (`), alert);
      assert.ok(
        alert.includes(`change server: \`instance-mysql-provider-${was}\` (\`${was}.db.opencraft.example:3306\`) → \`instance-mysql-provider-mysql-c\` (\`mysql-c.db.opencraft.example:3306\`)`),
        alert,
      );
      assert.match(alert, /pin the server the data is on \(`mysqlServer`/);
      assert.match(markdownOf(diff), new RegExp(`#### ⚠ Look before merging\\n\\n- ⚠ \`${stack}\`: DANGEROUS: `));
    });
  });
});
