import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { NewAppServerError, addAppServer, addAppServerToText, newAppServerId } from "../fleet/new-appserver";
import { parseFleetArguments, type RedeployOptions } from "../fleet/options";
import type { FleetRun } from "../fleet/policy";
import { type RedeployReport } from "../fleet/report";
import { runRedeploy, shellWord } from "../fleet/redeploy";
import { fleetRoot, productionFile, sandboxFile } from "./support/fleet-root";
import { RecordingUpdater } from "./support/recording-updater";

const ROOT = path.resolve(__dirname, "..");
const DATE = new Date("2026-12-03T10:00:00Z");
const fleet = (root: string, ...args: string[]) =>
  spawnSync(process.execPath, [require.resolve("tsx/cli"), path.join(ROOT, "fleet", "cli.ts"), ...args, "--root", root], { encoding: "utf8" });
const instanceOf = (text: string) => (parse(text) as { config: Record<string, Record<string, unknown>> }).config["openedx-im:instance"];

describe("fleet redeploy: the production change", () => {
  it("adds an appserver entry with the target release beside the active one, activates it, keeps comments", () => {
    const { text, entry } = addAppServerToText("site", productionFile("learn"), { release: "redwood", activate: true, date: DATE });
    assert.deepEqual(entry, { stack: "site", id: "a20261203", release: "redwood", copiedFrom: "a20261101", activated: true });
    const instance = instanceOf(text);
    assert.deepEqual(instance.appServers, [
      { id: "a20261101", release: "quince", appServerCount: 2, extraSettings: { EDXAPP_PLATFORM_NAME: "Site" } },
      { id: "a20261203", release: "redwood", appServerCount: 2, extraSettings: { EDXAPP_PLATFORM_NAME: "Site" } },
    ]);
    assert.equal(instance.activeAppServer, "a20261203");
    for (const comment of ["# A production site: comments must survive an edit.", "# the first build", "# moved by fleet redeploy"]) assert.ok(text.includes(comment), comment);
    assert.ok(text.includes("sshSources: [198.51.100.0/24]"), "flow style kept as written");
  });

  it("--no-activate leaves traffic where it is; the release defaults to the active appserver's; ids never collide", () => {
    const once = addAppServerToText("site", productionFile("learn"), { activate: false, date: DATE });
    assert.equal(instanceOf(once.text).activeAppServer, "a20261101");
    assert.equal(once.entry.release, "quince");
    const twice = addAppServerToText("site", once.text, { activate: false, date: DATE });
    assert.equal(twice.entry.id, "a20261203b");
    assert.equal(newAppServerId(DATE, new Set(["a20261203", "a20261203b"])), "a20261203c");
  });

  it("refuses, naming the stack and the fix: a sandbox, a pinned ref, a release the program cannot build", () => {
    const refuses = (text: string, release: string | undefined, message: RegExp) =>
      assert.throws(() => addAppServerToText("site", text, { ...(release ? { release } : {}), activate: true, date: DATE }), (e: unknown) => e instanceof NewAppServerError && message.test((e as Error).message));
    refuses(sandboxFile("s", "s1"), undefined, /site: not a production stack/);
    refuses(productionFile("learn").replace("        appServerCount: 2", "        appServerCount: 2\n        edxPlatform: { ref: abc123 }"), "redwood", /pins edxPlatform\.ref; a new entry would keep the old code/);
    refuses(productionFile("learn"), "palm", /would make the stack invalid: .*not a supported release/);
  });

  it("writes the file atomically: the whole new text or the old one, no temporary file left", () => {
    const root = fleetRoot({ site: productionFile("learn") });
    try {
      const entry = addAppServer("site", { activate: true, date: DATE, root });
      assert.equal(entry.file, path.join(root, "Pulumi.site.yaml"));
      assert.equal(instanceOf(readFileSync(entry.file, "utf8")).activeAppServer, "a20261203");
      assert.deepEqual(readdirSync(root).sort(), ["Pulumi.site.yaml", "Pulumi.yaml"]);
      const before = readFileSync(entry.file, "utf8");
      assert.throws(() => addAppServer("site", { release: "palm", activate: true, date: DATE, root }), NewAppServerError);
      assert.equal(readFileSync(entry.file, "utf8"), before, "a refused change leaves the file as it was");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("fleet redeploy: the run", () => {
  let root: string;
  beforeEach(() => {
    root = fleetRoot({
      "pr-1": sandboxFile("PR 1", "pr1"),
      "pr-2": sandboxFile("PR 2", "pr2"),
      "pr-3": sandboxFile("PR 3", "pr3"),
      "site-a": productionFile("learn"),
      "site-b": productionFile("courses"),
      broken: "config:\n  openedx-im:instance: {name: x}\n",
    });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const options = (argv: string[]) => parseFleetArguments(["redeploy", ...argv, "--root", root]) as RedeployOptions;
  const io = (updater: RecordingUpdater, sink: { out: string; err: string }, onRun?: (run: FleetRun) => void) => ({
    out: (t: string) => void (sink.out += t),
    err: (t: string) => void (sink.err += t),
    now: () => DATE,
    updater: async () => updater,
    ...(onRun ? { onRun } : {}),
  });

  it("edits the production stack files, runs every stack in batches, one log per stack, report with the retry command", async () => {
    const updater = new RecordingUpdater((s) => (s === "pr-2" ? "fail" : "succeed"));
    const sink = { out: "", err: "" };
    const logDir = path.join(root, "logs");
    const code = await runRedeploy(options(["--filter", "name=*", "--exclude", "name=pr-3", "--batch-size", "2", "--max-failures", "5", "--release", "redwood", "--log-dir", logDir]), io(updater, sink));
    assert.equal(code, 1, "a failure (and the invalid stack) make the exit status 1");
    assert.deepEqual(updater.calls, ["pr-1", "pr-2", "site-a", "site-b"]);
    assert.match(sink.err, /broken: skipped, its stack file is invalid/);
    for (const site of ["site-a", "site-b"]) {
      const instance = instanceOf(readFileSync(path.join(root, `Pulumi.${site}.yaml`), "utf8"));
      assert.equal(instance.activeAppServer, "a20261203", site);
    }
    assert.equal(readFileSync(path.join(root, "Pulumi.pr-1.yaml"), "utf8"), sandboxFile("PR 1", "pr1"), "sandbox files are not touched");
    assert.deepEqual(readdirSync(logDir).sort(), ["pr-1.log", "pr-2.log", "report.json", "report.txt", "site-a.log", "site-b.log"]);
    assert.match(readFileSync(path.join(logDir, "pr-2.log"), "utf8"), /update of pr-2 failed/);
    const report = JSON.parse(readFileSync(path.join(logDir, "report.json"), "utf8")) as RedeployReport;
    assert.deepEqual(report.counts, { succeeded: 3, failed: 1, cancelled: 0, skipped: 0 });
    assert.deepEqual(report.retry.stacks, ["pr-2"]);
    assert.equal(report.retry.command, `npm run fleet -- redeploy --stacks pr-2 --batch-size 2 --batch-interval 0 --max-failures 5 --no-edit --root ${root} --log-dir ${logDir}-retry`);
    assert.equal(readFileSync(path.join(logDir, "report.txt"), "utf8"), sink.out);

    // The retry command, as printed, parses and selects exactly the failed stack without editing again.
    const retry = parseFleetArguments(report.retry.command.replace("npm run fleet -- ", "").split(" ")) as RedeployOptions;
    const again = new RecordingUpdater();
    const before = readFileSync(path.join(root, "Pulumi.site-a.yaml"), "utf8");
    assert.equal(await runRedeploy(retry, io(again, { out: "", err: "" })), 0);
    assert.deepEqual(again.calls, ["pr-2"]);
    assert.equal(readFileSync(path.join(root, "Pulumi.site-a.yaml"), "utf8"), before);
  });

  it("Ctrl-C through the CLI's hooks: drain then cancel; the report lists the cancelled and unstarted stacks", async () => {
    const updater = new RecordingUpdater(() => "hang");
    const sink = { out: "", err: "" };
    const done = runRedeploy(options(["--filter", "lifecycle=sandbox,status=ok", "--batch-size", "2", "--log-dir", path.join(root, "logs")]), io(updater, sink, (run) => {
      void updater.started(2).then(() => {
        run.drain();
        run.cancel();
      });
    }));
    assert.equal(await done, 1);
    assert.deepEqual(updater.cancelled.sort(), ["pr-1", "pr-2"]);
    const report = JSON.parse(readFileSync(path.join(root, "logs", "report.json"), "utf8")) as RedeployReport;
    assert.deepEqual(report.stacks.map((s) => `${s.stack}:${s.result}`), ["pr-1:cancelled", "pr-2:cancelled", "pr-3:skipped"]);
    assert.match(sink.out, /retry the 3 stack\(s\)/);
  });

  it("--edit-only changes the files and runs nothing; --no-edit runs without changing them", async () => {
    const updater = new RecordingUpdater();
    assert.equal(await runRedeploy(options(["--filter", "lifecycle=production", "--edit-only"]), io(updater, { out: "", err: "" })), 0);
    assert.deepEqual(updater.calls, []);
    const edited = readFileSync(path.join(root, "Pulumi.site-a.yaml"), "utf8");
    assert.equal(instanceOf(edited).activeAppServer, "a20261203");
    assert.equal(await runRedeploy(options(["--filter", "lifecycle=production", "--no-edit", "--log-dir", path.join(root, "l")]), io(updater, { out: "", err: "" })), 0);
    assert.deepEqual(updater.calls, ["site-a", "site-b"]);
    assert.equal(readFileSync(path.join(root, "Pulumi.site-a.yaml"), "utf8"), edited);
  });

  it("--emit-matrix prints the batches as a GitHub Actions matrix, offline", () => {
    const result = fleet(root, "redeploy", "--filter", "status=ok", "--batch-size", "2", "--emit-matrix");
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), {
      include: [
        { batch: 1, stacks: "pr-1,pr-2" },
        { batch: 2, stacks: "pr-3,site-a" },
        { batch: 3, stacks: "site-b" },
      ],
    });
  });

  it("--dry-run shows each stack's change and offline plan (with the new appserver) and changes no file", async () => {
    const before = readFileSync(path.join(root, "Pulumi.site-a.yaml"), "utf8");
    const sink = { out: "", err: "" };
    const updater = new RecordingUpdater();
    const code = await runRedeploy(options(["--filter", "name=site-a|pr-1", "--release", "redwood", "--dry-run"]), io(updater, sink));
    assert.equal(code, 0, sink.err);
    assert.deepEqual(updater.calls, []);
    assert.equal(readFileSync(path.join(root, "Pulumi.site-a.yaml"), "utf8"), before);
    assert.match(sink.out, /would redeploy 2 stack\(s\) in 1 batch\(es\) of up to 5, stopping after 1 failure\(s\)/);
    assert.match(sink.out, /site-a: add appserver a20261203 \(redwood, settings of a20261101\) and activate it/);
    assert.match(sink.out, /VMs appserver-a20261101-vm0 appserver-a20261101-vm1 appserver-a20261203-vm0 appserver-a20261203-vm1; active a20261203; \d+ retained, \d+ protected/);
    assert.match(sink.out, /pr-1: pulumi up as the file is/);
    assert.ok(!existsSync(path.join(root, "fleet-logs")));
  });

  it("the retry command quotes a log or root path so that bash reads it back as one word", () => {
    for (const text of ["/tmp/plain-dir/logs", "/tmp/a b'c/$(touch x)`y`"]) {
      const echoed = spawnSync("bash", ["-c", `printf %s ${shellWord(text)}`], { encoding: "utf8" });
      assert.equal(echoed.stdout, text);
    }
  });

  it("refuses to run without a selection, and names bad flags", () => {
    assert.throws(() => parseFleetArguments(["redeploy"]), /needs --filter or --stacks/);
    assert.throws(() => parseFleetArguments(["redeploy", "--filter", "name=*", "--batch-size", "two"]), /--batch-size: "two" is not a number/);
    assert.throws(() => parseFleetArguments(["redeploy", "--stacks", "a;rm -rf /"]), /not a comma-separated list of stack names/);
    assert.throws(() => parseFleetArguments(["redeploy", "--filter", "name=*", "--dry-run", "--emit-matrix"]), /exclude each other/);
    assert.throws(() => parseFleetArguments(["delete", "site-a"]), /--i-understand-data-loss/);
  });
});
