import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import type { DeployedState, StateReader } from "./state";
import type { StackUpdater, UpdateOutcome, UpdateRequest } from "./updater";

/**
 * The real updater and state reader: Pulumi's Automation API (`LocalWorkspace`), which
 * drives the Pulumi CLI on this project directory and the backend it is logged in to.
 * NOT RUN HERE: the Pulumi CLI cannot be installed on the machines this was written on;
 * the policy that drives it is tested with an in-process runner. Kept thin on purpose:
 * one `up` per call, output to the stack's log, nothing decided here.
 *
 * Cancellation: the Automation API answers an aborted signal by sending SIGINT to the
 * CLI, which stops starting operations, lets the in-flight ones end (a half-made
 * resource is worse than a late stop), writes the state and releases the stack's lock.
 * Then `pulumi cancel` (Stack.cancel) runs as well, so that a lock the CLI could not
 * release does not block the next update; on a self-managed backend (S3, Swift) it
 * deletes the stack's lock file. Our update held that lock, so no one else's is removed.
 */
export class AutomationUpdater implements StackUpdater, StateReader {
  constructor(private readonly workDir: string) {}

  private select(stackName: string): Promise<Stack> {
    return LocalWorkspace.selectStack({ stackName, workDir: this.workDir });
  }

  async update({ stack: stackName, log, signal }: UpdateRequest): Promise<UpdateOutcome> {
    let stack: Stack;
    try {
      stack = await this.select(stackName);
    } catch (error) {
      return { status: "failed", message: `cannot select the stack: ${firstLine(error)}` };
    }
    try {
      const result = await stack.up({
        color: "never",
        suppressProgress: true,
        message: "fleet redeploy",
        signal,
        onOutput: lines(log),
        onError: (text) => text.split("\n").filter(Boolean).forEach((line) => log(`stderr: ${line}`)),
      });
      const changes = Object.entries(result.summary.resourceChanges ?? {}).map(([op, n]) => `${op} ${n}`).join(", ");
      return { status: "succeeded", summary: changes || "no changes" };
    } catch (error) {
      if (!signal.aborted) return { status: "failed", message: firstLine(error) };
      log(`interrupted: ${firstLine(error)}`);
      try {
        await stack.cancel();
        log("pulumi cancel: done");
      } catch (cancelError) {
        // Usually "no update in progress": the CLI released its lock itself.
        log(`pulumi cancel: ${firstLine(cancelError)}`);
      }
      return { status: "cancelled", message: "interrupted (SIGINT to pulumi up), then pulumi cancel" };
    }
  }

  /** `pulumi destroy --exclude-protected`: see ./teardown.ts for what stays. The stack remains (it holds the kept resources). */
  async archive(stackName: string, log: (line: string) => void): Promise<void> {
    const stack = await this.select(stackName);
    await stack.destroy({ color: "never", suppressProgress: true, excludeProtected: true, message: "fleet archive", onOutput: lines(log) });
  }

  /**
   * `pulumi up` (so the state carries the lifted retention of the stack file: the engine
   * destroys by the options in its state), then `pulumi destroy --remove`.
   */
  async delete(stackName: string, log: (line: string) => void): Promise<void> {
    const stack = await this.select(stackName);
    await stack.up({ color: "never", suppressProgress: true, message: "fleet delete: apply lifted retention", onOutput: lines(log) });
    await stack.destroy({ color: "never", suppressProgress: true, remove: true, message: "fleet delete", onOutput: lines(log) });
  }

  async read(stackName: string): Promise<DeployedState> {
    let stack: Stack;
    try {
      stack = await this.select(stackName);
    } catch (error) {
      const message = firstLine(error);
      return /no stack named/i.test(message) ? { exists: false } : { exists: false, error: message };
    }
    try {
      const [outputs, history] = await Promise.all([stack.outputs(), stack.history(1)]);
      const appServers = outputs.appServers?.value;
      const active = outputs.activeAppServer?.value;
      const last = history[0];
      return {
        exists: true,
        ...(Array.isArray(appServers) ? { appServers: appServers.map(String) } : {}),
        ...(active === null || typeof active === "string" ? { activeAppServer: active } : {}),
        ...(last ? { lastUpdate: { kind: last.kind, result: last.result, endTime: new Date(last.endTime).toISOString() } } : {}),
      };
    } catch (error) {
      return { exists: true, error: firstLine(error) };
    }
  }
}

const lines = (log: (line: string) => void) => (text: string) => text.split("\n").filter(Boolean).forEach(log);

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).trim().split("\n")[0];
}
