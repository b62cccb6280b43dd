import { strict as assert } from "node:assert";
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, readdirSync, rmSync } from "node:fs";
import * as path from "node:path";
import { archiveSummary, deleteRefusal, deleteSummary, summaryText } from "../fleet/teardown";
import type { RenderOutcome } from "../stacks/plan/diff";
import { renderMany } from "../stacks/plan/render-many";
import { type Plan, planToJson } from "../stacks/plan/render";
import { renderStack } from "../stacks/plan/stack";
import { fleetRoot, productionFile, sandboxFile } from "./support/fleet-root";

const ROOT = path.resolve(__dirname, "..");

describe("fleet rendering: fast and byte-identical", function () {
  this.timeout(120_000);
  let root: string;
  before(() => {
    root = fleetRoot({
      "pr-7": sandboxFile("PR 7", "pr7"),
      "pr-8": sandboxFile("PR 8", "pr8", "quince").replace("lifecycle: sandbox", "lifecycle: sandbox\n    databases: persistent"),
      site: productionFile("learn"),
    });
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it("a stack rendered alone (stack traces on, as npm run plan does) and in a batch (render-many, stack traces off) gives the same JSON", async () => {
    const out = path.join(root, "batch.json");
    execFileSync(process.execPath, [require.resolve("tsx/cli"), path.join(ROOT, "stacks", "plan", "render-many.ts"), "--root", root, "--out", out, "--all"], {
      stdio: ["ignore", "ignore", "ignore"],
    });
    const batch = JSON.parse(readFileSync(out, "utf8")) as Record<string, RenderOutcome>;
    assert.deepEqual(Object.keys(batch), ["pr-7", "pr-8", "site"]);
    assert.ok(Error.stackTraceLimit > 0 && process.sourceMapsEnabled, "this process renders with source-mapped stack traces");
    for (const stack of Object.keys(batch)) {
      assert.ok("resources" in batch[stack], stack);
      assert.equal(planToJson(batch[stack] as Plan), planToJson(await renderStack(stack, root)), `${stack}: batch and alone differ`);
    }
  });

  it("the program never imports the fleet commands, so a change to them affects no stack's plan (plan diff treats fleet/ as neutral)", () => {
    const sources = ["components", "config", "stacks"].flatMap((dir) =>
      (readdirSync(path.join(ROOT, dir), { recursive: true }) as string[]).filter((f) => f.endsWith(".ts")).map((f) => path.join(dir, f)),
    );
    assert.ok(sources.length > 20);
    for (const file of sources) assert.doesNotMatch(readFileSync(path.join(ROOT, file), "utf8"), /from "(\.\.\/)+fleet\//, file);
  });

  it("renders without stack traces, and a stack that throws is rendered again with them so its error says where", async () => {
    const limits: number[] = [];
    const outcomes = await renderMany(["ok", "throws"], {
      renderStack: async (stack) => {
        limits.push(Error.stackTraceLimit);
        if (stack === "throws") throw new TypeError("cannot read x of undefined");
        return { project: "p", stack, resources: [], outputs: {}, artifacts: {} };
      },
    });
    assert.deepEqual(limits, [0, 0, Error.stackTraceLimit], "fast attempts without traces; the retry of the failure with them");
    assert.ok(Error.stackTraceLimit > 0, "restored afterwards");
    const error = (outcomes.throws as { error: string }).error;
    assert.match(error, /^TypeError: cannot read x of undefined\n\s+at /, "the error carries its stack trace");
    assert.equal((outcomes.ok as Plan).stack, "ok");
  });
});

describe("fleet archive and delete: what goes and what stays, from the offline plan", function () {
  this.timeout(120_000);
  let root: string;
  let site: Plan;
  let sandbox: Plan;
  before(async () => {
    root = fleetRoot({ site: productionFile("learn"), "pr-9": sandboxFile("PR 9", "pr9"), lifted: productionFile("gone").replace("    databases: persistent", "    databases: persistent\n    data: { retainOnDelete: false, protect: false }") });
    site = await renderStack("site", root);
    sandbox = await renderStack("pr-9", root);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it("archive keeps the production data (and the passwords it needs) and deletes VMs, DNS and broker access", () => {
    const summary = archiveSummary(site);
    const names = (list: Plan["resources"]) => list.map((r) => `${r.type.split(":")[0]}:${r.name}`);
    const kept = names(summary.kept);
    for (const name of ["mysql:instance-mysql-db-edxapp", "mysql:instance-mysql-user-edxapp", "mongodbatlas:instance-mongodb-user", "rabbitmq:instance-rabbitmq-vhost", "random:instance-secrets-password-mysql-edxapp"])
      assert.ok(kept.includes(name), `${name} stays`);
    const goes = names(summary.goes);
    for (const name of ["openstack:appserver-a20261101-vm0", "gandi:instance-dns-learn-cname", "rabbitmq:instance-rabbitmq-user-provider"]) assert.ok(goes.includes(name), `${name} goes`);
    assert.ok(!goes.some((n) => n.startsWith("mysql:")), "no MySQL resource goes");
    assert.ok(summary.kept.every((r) => !summary.goes.includes(r)));
    const text = summaryText("site", "archive", summary);
    assert.match(text, /^archive site:\ngoes \(deleted\) \(\d+\):/);
    assert.match(text, /stays in the cloud and in the state \(protected, or needed by a protected resource\) \(\d+\):\n {2}mongodbatlas:DatabaseUser {2}instance-mongodb-user/);
  });

  it("delete refuses a stack whose data is retained or protected, and says how to lift it; a lifted one lists everything", async () => {
    assert.match(deleteRefusal(site) ?? "", /^site: \d+ resource\(s\) are retained or protected .*data: \{ retainOnDelete: false, protect: false \}/);
    assert.equal(deleteRefusal(sandbox), undefined);
    const lifted = await renderStack("lifted", root);
    assert.equal(deleteRefusal(lifted), undefined);
    assert.equal(deleteSummary(lifted).goes.filter((r) => r.type === "mysql:index/database:Database").length, 4);
  });

  it("the commands print the summary and ask; without a terminal and without --yes they do nothing", () => {
    const fleet = (...args: string[]) =>
      spawnSync(process.execPath, [require.resolve("tsx/cli"), path.join(ROOT, "fleet", "cli.ts"), ...args, "--root", root], { encoding: "utf8", input: "" });
    const archive = fleet("archive", "site");
    assert.equal(archive.status, 1);
    assert.match(archive.stdout, /^archive site:\ngoes \(deleted\)/);
    assert.match(archive.stderr, /no terminal to confirm on; add --yes/);
    const del = fleet("delete", "site", "--i-understand-data-loss", "--yes");
    assert.equal(del.status, 1, "refused even with --yes");
    assert.match(del.stderr, /retained or protected/);
    assert.equal(del.stdout, "");
  });
});
