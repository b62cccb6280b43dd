import * as pulumi from "@pulumi/pulumi";

/**
 * Two functions the Node SDK exports at run time but leaves out of its type
 * declarations (marked @internal). Kept here, typed, so a change in a new SDK
 * version breaks in one place. Both fall back to safe behaviour when absent.
 */
interface RuntimeInternals {
  /** Whether the engine handed this config key over as a secret (`secure:` in the stack file). */
  isConfigSecret?: (key: string) => boolean;
  /** Resolves once every pending resource registration has been answered. */
  waitForRPCs?: () => Promise<void>;
}

const internals = pulumi.runtime as unknown as RuntimeInternals;

export function isConfigSecret(key: string): boolean {
  return internals.isConfigSecret ? internals.isConfigSecret(key) : true;
}

export async function waitForPendingRegistrations(): Promise<void> {
  if (internals.waitForRPCs) await internals.waitForRPCs();
}
