/**
 * What both provisioners' commands share: the command output inputs, the no-op
 * update of a frozen appserver, and the digest of what an appserver is built from.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { canonicalJson } from "../../config/json";

/** The update of a frozen appserver's run: nothing is applied to the running VM. */
export const FROZEN_UPDATE_COMMAND =
  "echo 'openedx-im: this appserver is frozen; its new settings apply to the next appserver you add' >&2";

/**
 * A digest of what the appserver is built from, as far as it is known without
 * reading secrets: the appserver id, the configuration checkout, and every
 * plain (non-Output) variable value, with Output values counted by name only.
 * A change replaces the command, which runs the playbook again from the start.
 */
export function buildDigest(args: {
  appServerId: string;
  configuration: { repository: string; ref: string; playbook: string };
  ansibleVars: Record<string, pulumi.Input<unknown>>;
}): string {
  const plain: Record<string, unknown> = {};
  for (const key of Object.keys(args.ansibleVars).sort()) {
    const value = args.ansibleVars[key];
    plain[key] = pulumi.Output.isInstance(value) || containsOutput(value) ? "<output>" : value;
  }
  return createHash("sha256")
    .update(canonicalJson({ appServerId: args.appServerId, configuration: args.configuration, variables: plain }))
    .digest("hex");
}

function containsOutput(value: unknown): boolean {
  if (pulumi.Output.isInstance(value) || value instanceof Promise) return true;
  if (Array.isArray(value)) return value.some(containsOutput);
  if (typeof value === "object" && value !== null) return Object.values(value).some(containsOutput);
  return false;
}


/**
 * What the engine shows of a command's output, live, in the console of `pulumi up`:
 * standard error only, where the wrappers write their masked progress lines
 * (Ansible's and Tutor's own output, which prints what they configure, goes to the
 * log file only). The provider (1.2.1) streams each line as it comes and, when the
 * command fails, appends its whole stdout and stderr to the error: so the wrappers
 * never write an unmasked value to either. Previous output is kept out of the
 * environment: large output would fail with "argument list too long".
 */
export const COMMAND_OUTPUT_INPUTS = { logging: "stderr", addPreviousOutputInEnv: false } as const;
