import { strict as assert } from "node:assert";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { type ResourceDiff, diffResources } from "../stacks/plan/diff";
import type { Plan } from "../stacks/plan/render";
import { renderStack } from "../stacks/plan/stack";

/**
 * What `pulumi up` would do to appservers when settings change, read off two
 * offline plans of the real program: blue/green for sandboxes, frozen
 * appservers for production.
 */
const ROOT = path.resolve(__dirname, "..");

type Instance = Record<string, unknown>;

describe("appserver lifecycle across changes", function () {
  this.timeout(120_000);
  let root: string;

  before(() => {
    root = mkdtempSync(path.join(tmpdir(), "openedx-im-lifecycle-"));
    writeFileSync(path.join(root, "Pulumi.yaml"), readFileSync(path.join(ROOT, "Pulumi.yaml")));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  /** Renders the example stack `from`, changed by `edit`, under a new stack name. */
  async function render(from: "dev" | "prod", edit: (instance: Instance) => void = () => {}): Promise<Plan> {
    const doc = parse(readFileSync(path.join(ROOT, `Pulumi.${from}.yaml`), "utf8")) as { config: Record<string, Instance> };
    edit(doc.config["openedx-im:instance"]);
    writeFileSync(path.join(root, `Pulumi.${from}.yaml`), stringify(doc));
    return renderStack(from, root);
  }

  const changed = (diffs: ResourceDiff[], kind: ResourceDiff["change"]) =>
    diffs.filter((d) => d.change === kind).map((d) => d.name);

  it("sandbox: new settings build a new appserver beside the old one and move traffic to it", async () => {
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
  });

  it("sandbox: a change of the instance's connection variables replaces the VM (create before delete)", async () => {
    const before = await render("dev");
    const after = await render("dev", (i) => {
      i.services = { notes: false };
    });
    const vm = diffResources(before, after).find((d) => d.name.endsWith("-vm0"));
    assert.equal(vm?.change, "replace", JSON.stringify(vm));
    assert.ok(vm?.changes.some((c) => c.path === "options.replacementTrigger"));
  });

  it("production: changing instance settings never rebuilds or re-provisions an existing appserver", async () => {
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

  it("production: switching activeAppServer moves traffic without touching either appserver", async () => {
    const before = await render("prod");
    const after = await render("prod", (i) => {
      i.activeAppServer = "a20261120";
    });
    const diffs = diffResources(before, after);
    assert.deepEqual(
      diffs.filter((d) => d.change !== "same").map((d) => `${d.change} ${d.name}`),
      ["update load-balancer-apply"],
    );
  });

  it("production: a new appserver entry is built but takes no traffic until activeAppServer names it", async () => {
    const before = await render("prod");
    const after = await render("prod", (i) => {
      (i.appServers as Instance[]).push({ id: "a20261201", release: "redwood" });
    });
    const diffs = diffResources(before, after);
    assert.ok(changed(diffs, "create").includes("appserver-a20261201-vm0"));
    assert.equal(diffs.find((d) => d.name === "load-balancer-apply")?.change, "same");
  });
});
