/**
 * One stack's update, as the redeploy policy sees it. The policy (./policy.ts) decides
 * which stacks run when; an updater runs one. The real one is ./automation.ts (Pulumi's
 * Automation API); tests use an in-process runner that records calls and can be told
 * to fail or hang (test/support/recording-updater.ts).
 */

export type UpdateOutcome =
  | { status: "succeeded"; summary?: string }
  | { status: "failed"; message: string }
  | { status: "cancelled"; message?: string };

export interface UpdateRequest {
  stack: string;
  /** One line of the stack's own log (its log file); never the terminal. */
  log: (line: string) => void;
  /**
   * Aborted when the operator cancels the running stacks (a second Ctrl-C). The updater
   * then interrupts the update, makes sure the stack is left unlocked, and resolves
   * `cancelled`. It must not reject because of the abort.
   */
  signal: AbortSignal;
}

export interface StackUpdater {
  /** Runs `up` on one stack to its end. A rejection counts as a failure of that stack. */
  update(request: UpdateRequest): Promise<UpdateOutcome>;
}
