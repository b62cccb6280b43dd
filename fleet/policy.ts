import type { StackUpdater, UpdateOutcome } from "./updater";

/**
 * The redeploy policy, pure of any Pulumi: stacks run in batches of `batchSize`, all of
 * a batch at once; the next batch starts `batchIntervalMs` after the previous one ended.
 * Once `maxFailures` stacks have failed no new stack starts (the running ones finish).
 * Ctrl-C is `drain()` (start nothing new, let the running stacks finish), a second one
 * `cancel()` (abort the running stacks: the updater interrupts them and leaves no lock).
 * Every stack ends in exactly one result; those not succeeded form the retry list.
 */

export interface RedeployPolicy {
  batchSize: number;
  batchIntervalMs: number;
  maxFailures: number;
}

export type StackResult = "succeeded" | "failed" | "cancelled" | "skipped";

export interface StackRecord {
  stack: string;
  batch: number;
  result: StackResult;
  /** Why it failed, was cancelled or skipped. */
  message?: string;
  startedAt?: number;
  finishedAt?: number;
}

export type FleetEvent =
  | { type: "batch-started"; batch: number; stacks: string[] }
  | { type: "stack-started"; stack: string }
  | { type: "stack-finished"; record: StackRecord }
  | { type: "stopping"; reason: string };

export interface Clock {
  now(): number;
  /** Waits `ms`, or less when the signal aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      }
      signal.addEventListener("abort", done, { once: true });
    }),
};

export interface FleetOutcome {
  startedAt: number;
  finishedAt: number;
  policy: RedeployPolicy;
  records: StackRecord[];
  /** Why the run stopped early, if it did. */
  stopReason?: string;
}

export function checkPolicy(policy: RedeployPolicy): string[] {
  const problems: string[] = [];
  if (!Number.isInteger(policy.batchSize) || policy.batchSize < 1) problems.push("--batch-size must be a whole number of at least 1");
  if (!Number.isFinite(policy.batchIntervalMs) || policy.batchIntervalMs < 0) problems.push("--batch-interval must be a number of seconds, 0 or more");
  if (!Number.isInteger(policy.maxFailures) || policy.maxFailures < 1) problems.push("--max-failures must be a whole number of at least 1");
  return problems;
}

export function batchesOf<T>(items: readonly T[], size: number): T[][] {
  const batches: T[][] = [];
  for (let i = 0; i < items.length; i += size) batches.push(items.slice(i, i + size));
  return batches;
}

export class FleetRun {
  private readonly records = new Map<string, StackRecord>();
  private readonly drainController = new AbortController();
  private readonly cancelController = new AbortController();
  private stopReason?: string;
  readonly done: Promise<FleetOutcome>;

  constructor(
    stacks: readonly string[],
    private readonly policy: RedeployPolicy,
    private readonly updater: StackUpdater,
    private readonly options: { clock?: Clock; onEvent?: (event: FleetEvent) => void; logFor?: (stack: string) => (line: string) => void } = {},
  ) {
    const problems = checkPolicy(policy);
    if (problems.length) throw new Error(problems.join("; "));
    if (new Set(stacks).size !== stacks.length) throw new Error("a stack is listed twice");
    batchesOf(stacks, policy.batchSize).forEach((batch, index) =>
      batch.forEach((stack) => this.records.set(stack, { stack, batch: index + 1, result: "skipped" })),
    );
    this.done = this.run(batchesOf(stacks, policy.batchSize));
  }

  /** Starts no new stack; the running ones finish. */
  drain(reason = "interrupted: no new stack starts; the running ones finish"): void {
    this.stop(reason);
  }

  /** Starts no new stack and cancels the running ones. */
  cancel(reason = "cancelled: the running stacks were interrupted"): void {
    this.stop(reason);
    this.cancelController.abort();
  }

  get draining(): boolean {
    return this.drainController.signal.aborted;
  }

  /** The records so far (results of unfinished stacks are provisional). */
  snapshot(): { records: StackRecord[]; running: string[] } {
    const records = [...this.records.values()];
    return { records, running: records.filter((r) => r.startedAt !== undefined && r.finishedAt === undefined).map((r) => r.stack) };
  }

  private stop(reason: string) {
    if (this.stopReason === undefined) {
      this.stopReason = reason;
      this.emit({ type: "stopping", reason });
    }
    this.drainController.abort();
  }

  private emit(event: FleetEvent) {
    this.options.onEvent?.(event);
  }

  private failures(): number {
    return [...this.records.values()].filter((r) => r.result === "failed").length;
  }

  private async run(batches: string[][]): Promise<FleetOutcome> {
    // Starts on the next tick, so the first events reach a caller that holds the run.
    await Promise.resolve();
    const clock = this.options.clock ?? systemClock;
    const startedAt = clock.now();
    for (const [index, batch] of batches.entries()) {
      if (this.draining) break;
      if (index > 0 && this.policy.batchIntervalMs > 0) {
        await clock.sleep(this.policy.batchIntervalMs, this.drainController.signal);
        if (this.draining) break;
      }
      this.emit({ type: "batch-started", batch: index + 1, stacks: batch });
      await Promise.all(batch.map((stack) => this.runStack(stack, clock)));
      const failures = this.failures();
      if (failures >= this.policy.maxFailures && index < batches.length - 1)
        this.stop(`stopped: ${failures} stack(s) failed (--max-failures ${this.policy.maxFailures}); no new stack starts`);
    }
    const stopReason = this.stopReason;
    for (const record of this.records.values())
      if (record.startedAt === undefined) record.message = stopReason ? `not started (${stopReason})` : "not started";
    return {
      startedAt,
      finishedAt: clock.now(),
      policy: this.policy,
      records: [...this.records.values()],
      ...(stopReason !== undefined ? { stopReason } : {}),
    };
  }

  private async runStack(stack: string, clock: Clock): Promise<void> {
    const record = this.records.get(stack) as StackRecord;
    record.startedAt = clock.now();
    this.emit({ type: "stack-started", stack });
    let outcome: UpdateOutcome;
    try {
      outcome = await this.updater.update({ stack, log: this.options.logFor?.(stack) ?? (() => {}), signal: this.cancelController.signal });
    } catch (error) {
      outcome = { status: "failed", message: error instanceof Error ? error.message : String(error) };
    }
    record.finishedAt = clock.now();
    record.result = outcome.status;
    if (outcome.status === "failed") record.message = outcome.message;
    else if (outcome.status === "cancelled") record.message = outcome.message ?? "cancelled while running";
    this.emit({ type: "stack-finished", record: { ...record } });
  }
}
