import { strict as assert } from "node:assert";
import { type Clock, type FleetEvent, FleetRun, batchesOf } from "../fleet/policy";
import { buildReport, progressLine, reportText } from "../fleet/report";
import { RecordingUpdater } from "./support/recording-updater";

/** A clock whose sleeps are recorded and return at once (an aborted sleep too). */
function fakeClock(): Clock & { sleeps: number[]; time: number } {
  const clock = {
    sleeps: [] as number[],
    time: 1_000_000,
    now: () => clock.time,
    sleep: async (ms: number) => {
      clock.sleeps.push(ms);
      clock.time += ms;
    },
  };
  return clock;
}

const stacks = (n: number) => Array.from({ length: n }, (_, i) => `s${i + 1}`);
const policy = (batchSize: number, maxFailures = 100, batchIntervalMs = 0) => ({ batchSize, maxFailures, batchIntervalMs });
const results = (records: Array<{ stack: string; result: string }>) => Object.fromEntries(records.map((r) => [r.stack, r.result]));

describe("fleet redeploy policy", () => {
  it("runs stacks in batches of N: a batch starts only when the previous one ended, never more than N at once", async () => {
    const updater = new RecordingUpdater();
    const events: FleetEvent[] = [];
    const clock = fakeClock();
    const run = new FleetRun(stacks(7), policy(3, 100, 30_000), updater, { clock, onEvent: (e) => events.push(e) });
    const outcome = await run.done;
    assert.deepEqual(updater.calls, stacks(7));
    assert.equal(updater.maxConcurrent, 3);
    assert.deepEqual(
      events.filter((e) => e.type === "batch-started").map((e) => (e as { stacks: string[] }).stacks),
      [["s1", "s2", "s3"], ["s4", "s5", "s6"], ["s7"]],
    );
    // Each batch's stacks all finish before the next batch starts.
    const order = events.filter((e) => e.type === "stack-started" || e.type === "stack-finished").map((e) => (e.type === "stack-started" ? `+${e.stack}` : `-${e.record.stack}`));
    assert.ok(order.indexOf("+s4") > order.indexOf("-s3") && order.indexOf("+s4") > order.indexOf("-s1"), order.join(" "));
    assert.deepEqual(clock.sleeps, [30_000, 30_000], "the interval between batches, not before the first");
    assert.ok(outcome.records.every((r) => r.result === "succeeded"));
  });

  it("stops starting new stacks once --max-failures stacks failed; the rest are not started and are in the retry list", async () => {
    const updater = new RecordingUpdater((s) => (s === "s2" ? "fail" : s === "s4" ? "throw" : "succeed"));
    const run = new FleetRun(stacks(10), policy(2, 2), updater, { clock: fakeClock() });
    const outcome = await run.done;
    assert.deepEqual(updater.calls, ["s1", "s2", "s3", "s4"], "batch 3 never starts after the second failure");
    assert.deepEqual(results(outcome.records), {
      s1: "succeeded", s2: "failed", s3: "succeeded", s4: "failed",
      s5: "skipped", s6: "skipped", s7: "skipped", s8: "skipped", s9: "skipped", s10: "skipped",
    });
    assert.match(outcome.stopReason ?? "", /2 stack\(s\) failed \(--max-failures 2\)/);
    assert.equal(outcome.records.find((r) => r.stack === "s4")?.message, "s4: told to throw", "a throwing updater is a failure, not a crash");

    const report = buildReport(outcome, { s2: "logs/s2.log" }, { extra: ["--no-edit"] });
    assert.deepEqual(report.counts, { succeeded: 2, failed: 2, cancelled: 0, skipped: 6 });
    assert.deepEqual(report.retry.stacks, ["s2", "s4", "s5", "s6", "s7", "s8", "s9", "s10"]);
    assert.equal(
      report.retry.command,
      "npm run fleet -- redeploy --stacks s2,s4,s5,s6,s7,s8,s9,s10 --batch-size 2 --batch-interval 0 --max-failures 2 --no-edit",
    );
    const text = reportText(report);
    assert.match(text, /2 succeeded, 2 failed, 0 cancelled, 6 not started/);
    assert.match(text, /s2 +batch 1 +failed .*told to fail +\(log: logs\/s2\.log\)/);
    assert.match(text, /retry the 8 stack\(s\)/);
  });

  it("a failure below the limit does not stop the run", async () => {
    const updater = new RecordingUpdater((s) => (s === "s1" ? "fail" : "succeed"));
    const outcome = await new FleetRun(stacks(5), policy(2, 2), updater, { clock: fakeClock() }).done;
    assert.deepEqual(updater.calls, stacks(5));
    assert.equal(outcome.stopReason, undefined);
  });

  it("Ctrl-C once (drain): the running stacks finish, no new stack starts", async () => {
    const updater = new RecordingUpdater((s) => (s === "s1" || s === "s2" ? "hang" : "succeed"));
    const run = new FleetRun(stacks(6), policy(2), updater, { clock: fakeClock() });
    await updater.started(2);
    run.drain();
    updater.release("s1");
    updater.release("s2");
    const outcome = await run.done;
    assert.deepEqual(updater.calls, ["s1", "s2"]);
    assert.deepEqual(updater.cancelled, [], "draining interrupts nothing");
    assert.deepEqual(results(outcome.records), { s1: "succeeded", s2: "succeeded", s3: "skipped", s4: "skipped", s5: "skipped", s6: "skipped" });
  });

  it("Ctrl-C twice (cancel): every running stack is told to cancel and the run ends; none is left running", async () => {
    const updater = new RecordingUpdater((s) => (s === "s3" ? "succeed" : "hang"));
    const run = new FleetRun(stacks(5), policy(3), updater, { clock: fakeClock() });
    await updater.started(3);
    run.drain();
    run.cancel();
    const outcome = await run.done;
    assert.deepEqual(updater.cancelled.sort(), ["s1", "s2"]);
    assert.equal(updater.running.size, 0);
    assert.deepEqual(results(outcome.records), { s1: "cancelled", s2: "cancelled", s3: "succeeded", s4: "skipped", s5: "skipped" });
    const report = buildReport(outcome, {}, { extra: [] });
    assert.deepEqual(report.retry.stacks, ["s1", "s2", "s4", "s5"]);
    assert.match(report.stacks[0].message ?? "", /lock released/);
  });

  it("a cancel during the interval between batches starts nothing more", async () => {
    const updater = new RecordingUpdater();
    const holder: { run?: FleetRun } = {};
    const clock: Clock = {
      now: () => 0,
      sleep: async () => holder.run?.cancel(),
    };
    const run = new FleetRun(stacks(4), policy(2, 100, 60_000), updater, { clock });
    holder.run = run;
    const outcome = await run.done;
    assert.deepEqual(updater.calls, ["s1", "s2"]);
    assert.deepEqual(results(outcome.records), { s1: "succeeded", s2: "succeeded", s3: "skipped", s4: "skipped" });
  });

  it("refuses a policy that cannot run, naming the flag", () => {
    assert.throws(() => new FleetRun(["a"], policy(0), new RecordingUpdater()), /--batch-size must be a whole number/);
    assert.throws(() => new FleetRun(["a"], policy(1, 0), new RecordingUpdater()), /--max-failures/);
    assert.throws(() => new FleetRun(["a", "a"], policy(1), new RecordingUpdater()), /listed twice/);
  });

  it("progress: done, failed, running, waiting, elapsed and an estimate once a batch has ended", () => {
    const base = { batch: 1 };
    const line = progressLine(
      [
        { ...base, stack: "a", result: "succeeded", startedAt: 0, finishedAt: 60_000 },
        { ...base, stack: "b", result: "failed", startedAt: 0, finishedAt: 60_000 },
        { batch: 2, stack: "c", result: "skipped", startedAt: 60_000 },
        { batch: 2, stack: "d", result: "skipped", startedAt: 60_000 },
        { batch: 3, stack: "e", result: "skipped" },
        { batch: 3, stack: "f", result: "skipped" },
      ],
      ["c", "d"],
      0,
      90_000,
      2,
    );
    assert.equal(line, "2/6 done (1 failed), 2 running, 2 waiting; 1m30s elapsed, about 1m30s left");
    assert.doesNotMatch(progressLine([{ batch: 1, stack: "a", result: "skipped", startedAt: 0 }], ["a"], 0, 5000, 1), /left/);
  });

  it("batchesOf splits in order", () => {
    assert.deepEqual(batchesOf([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
  });
});
