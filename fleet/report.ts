import type { FleetOutcome, RedeployPolicy, StackRecord, StackResult } from "./policy";

/** Progress while a redeploy runs, and its final report (JSON and text) with the retry command. */

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/**
 * One progress line: `3/10 done (1 failed), 2 running, 5 waiting; 4m10s elapsed, about 8m left`.
 * The estimate is the mean duration of the batches finished so far times the batches still to run
 * (the current one counted as half done); none before the first batch ends.
 */
export function progressLine(records: readonly StackRecord[], running: readonly string[], startedAt: number, now: number, batchSize: number): string {
  const finished = records.filter((r) => r.finishedAt !== undefined);
  const failed = finished.filter((r) => r.result === "failed").length;
  const waiting = records.length - finished.length - running.length;
  const elapsed = now - startedAt;
  let estimate = "";
  const batches = new Set(records.map((r) => r.batch));
  const batchesDone = [...batches].filter((b) => records.every((r) => r.batch !== b || r.finishedAt !== undefined)).length;
  if (batchesDone > 0) {
    const perBatch = elapsed / (batchesDone + (running.length ? 0.5 : 0));
    const left = Math.ceil(waiting / batchSize) + (running.length ? 0.5 : 0);
    estimate = `, about ${formatDuration(perBatch * left)} left`;
  }
  return (
    `${finished.length}/${records.length} done` +
    (failed ? ` (${failed} failed)` : "") +
    `, ${running.length} running, ${waiting} waiting; ${formatDuration(elapsed)} elapsed${estimate}`
  );
}

export interface RedeployReport {
  startedAt: string;
  finishedAt: string;
  policy: { batchSize: number; batchIntervalSeconds: number; maxFailures: number };
  stopReason?: string;
  counts: Record<StackResult, number>;
  stacks: Array<{ stack: string; batch: number; result: StackResult; message?: string; seconds?: number; log?: string }>;
  /** Stacks that did not succeed, and the command that runs them again with the same policy. */
  retry: { stacks: string[]; command?: string };
}

export interface RetryArguments {
  /** Flags the retry keeps besides the policy (e.g. --release, --no-activate, --log-dir). */
  extra: string[];
}

export function buildReport(outcome: FleetOutcome, logFiles: Record<string, string>, retry: RetryArguments): RedeployReport {
  const counts: Record<StackResult, number> = { succeeded: 0, failed: 0, cancelled: 0, skipped: 0 };
  for (const record of outcome.records) counts[record.result] += 1;
  const retryStacks = outcome.records.filter((r) => r.result !== "succeeded").map((r) => r.stack);
  return {
    startedAt: new Date(outcome.startedAt).toISOString(),
    finishedAt: new Date(outcome.finishedAt).toISOString(),
    policy: policyJson(outcome.policy),
    ...(outcome.stopReason !== undefined ? { stopReason: outcome.stopReason } : {}),
    counts,
    stacks: outcome.records.map((r) => ({
      stack: r.stack,
      batch: r.batch,
      result: r.result,
      ...(r.message !== undefined ? { message: r.message } : {}),
      ...(r.startedAt !== undefined && r.finishedAt !== undefined ? { seconds: Math.round((r.finishedAt - r.startedAt) / 1000) } : {}),
      ...(logFiles[r.stack] && r.startedAt !== undefined ? { log: logFiles[r.stack] } : {}),
    })),
    retry: { stacks: retryStacks, ...(retryStacks.length ? { command: retryCommand(retryStacks, outcome.policy, retry.extra) } : {}) },
  };
}

function policyJson(policy: RedeployPolicy) {
  return { batchSize: policy.batchSize, batchIntervalSeconds: policy.batchIntervalMs / 1000, maxFailures: policy.maxFailures };
}

/** Stack names are `[A-Za-z0-9_.-]` (config/stack-file.ts), so the list needs no shell quoting. */
export function retryCommand(stacks: readonly string[], policy: RedeployPolicy, extra: readonly string[]): string {
  return [
    "npm run fleet -- redeploy",
    `--stacks ${stacks.join(",")}`,
    `--batch-size ${policy.batchSize}`,
    `--batch-interval ${policy.batchIntervalMs / 1000}`,
    `--max-failures ${policy.maxFailures}`,
    ...extra,
  ].join(" ");
}

export function reportText(report: RedeployReport): string {
  const { counts } = report;
  const lines = [
    `redeploy ${report.startedAt} .. ${report.finishedAt}: ${counts.succeeded} succeeded, ${counts.failed} failed, ` +
      `${counts.cancelled} cancelled, ${counts.skipped} not started`,
  ];
  if (report.stopReason) lines.push(report.stopReason);
  const width = Math.max(...report.stacks.map((s) => s.stack.length), 5);
  for (const s of report.stacks)
    lines.push(
      `  ${s.stack.padEnd(width)}  batch ${String(s.batch).padEnd(3)} ${s.result.padEnd(9)}` +
        `${s.seconds !== undefined ? ` ${formatDuration(s.seconds * 1000)}` : ""}${s.message ? `  ${s.message.split("\n")[0]}` : ""}` +
        `${s.log && s.result !== "succeeded" ? `  (log: ${s.log})` : ""}`,
    );
  lines.push(report.retry.command ? `retry the ${report.retry.stacks.length} stack(s) that did not succeed:\n  ${report.retry.command}` : "nothing to retry");
  return lines.join("\n") + "\n";
}
