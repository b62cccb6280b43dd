import type { StackUpdater, UpdateOutcome, UpdateRequest } from "../../fleet/updater";

/**
 * An in-process stand-in for "one stack's update": it records every call, in order,
 * and does what each stack is told to: succeed, fail, throw, or hang until released or
 * cancelled. It never pretends to be Pulumi's output; it stands in for the updater
 * interface the redeploy policy drives.
 */
export type Behaviour = "succeed" | "fail" | "throw" | "hang";

export class RecordingUpdater implements StackUpdater {
  readonly calls: string[] = [];
  readonly cancelled: string[] = [];
  readonly running = new Set<string>();
  maxConcurrent = 0;
  private readonly releases = new Map<string, () => void>();
  private readonly startWaiters: Array<{ count: number; resolve: () => void }> = [];

  constructor(private readonly behaviour: (stack: string) => Behaviour = () => "succeed") {}

  async update(request: UpdateRequest): Promise<UpdateOutcome> {
    const { stack, signal, log } = request;
    this.calls.push(stack);
    this.running.add(stack);
    this.maxConcurrent = Math.max(this.maxConcurrent, this.running.size);
    log(`update of ${stack} started`);
    const behaviour = this.behaviour(stack);
    // A hanging stack can be released or cancelled as soon as a waiter hears it started.
    const hanging = behaviour === "hang" ? this.hang(stack, signal) : undefined;
    this.startWaiters.filter((w) => this.calls.length >= w.count).forEach((w) => w.resolve());
    try {
      await Promise.resolve();
      switch (behaviour) {
        case "succeed":
          return { status: "succeeded" };
        case "fail":
          log(`update of ${stack} failed`);
          return { status: "failed", message: `${stack}: told to fail` };
        case "throw":
          throw new Error(`${stack}: told to throw`);
        case "hang":
          return await (hanging as Promise<UpdateOutcome>);
      }
    } finally {
      this.running.delete(stack);
    }
  }

  private hang(stack: string, signal: AbortSignal): Promise<UpdateOutcome> {
    return new Promise<UpdateOutcome>((resolve) => {
      const onAbort = () => {
        // What the real adapter does on abort: interrupt, release the lock, report cancelled.
        this.cancelled.push(stack);
        resolve({ status: "cancelled", message: "interrupted; lock released" });
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      this.releases.set(stack, () => {
        signal.removeEventListener("abort", onAbort);
        resolve({ status: "succeeded" });
      });
    });
  }

  /** Lets a hanging stack finish successfully. */
  release(stack: string): void {
    const release = this.releases.get(stack);
    if (!release) throw new Error(`${stack} is not hanging`);
    this.releases.delete(stack);
    release();
  }

  /** Resolves once `count` updates have started in total. */
  started(count: number): Promise<void> {
    if (this.calls.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.startWaiters.push({ count, resolve }));
  }
}
