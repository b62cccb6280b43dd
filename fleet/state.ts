import type { FleetRow } from "./inventory";

/**
 * What the backend says is deployed for a stack (`fleet list --state`), and where the
 * stack file and that state disagree. Reading the state needs the Pulumi CLI and the
 * backend (./automation.ts); the comparison is pure.
 */

export interface DeployedState {
  /** False when the backend has no such stack (never deployed, or removed). */
  exists: boolean;
  /** The stack outputs the program exports: appServers (ids) and activeAppServer. */
  appServers?: string[];
  activeAppServer?: string | null;
  lastUpdate?: { kind: string; result: string; endTime: string };
  /** Set when the state could not be read (backend unreachable, no credentials). */
  error?: string;
}

export interface StateReader {
  read(stack: string): Promise<DeployedState>;
}

/** One phrase per disagreement; empty when the file and the state agree. */
export function drift(row: FleetRow, state: DeployedState): string[] {
  if (state.error !== undefined) return [];
  if (!state.exists) return ["not deployed"];
  const found: string[] = [];
  if (state.lastUpdate && state.lastUpdate.result !== "succeeded")
    found.push(`last ${state.lastUpdate.kind} ${state.lastUpdate.result}`);
  if (row.problems.length) return found;
  const fileActive = row.activeAppServer ?? null;
  if (state.activeAppServer !== undefined && fileActive !== state.activeAppServer)
    found.push(`active appserver: file ${fileActive ?? "none"}, deployed ${state.activeAppServer ?? "none"}`);
  if (state.appServers) {
    const deployed = new Set(state.appServers);
    const inFile = new Set(row.appServers.map((a) => a.id));
    const toBuild = [...inFile].filter((id) => !deployed.has(id));
    const toRemove = [...deployed].filter((id) => !inFile.has(id));
    if (toBuild.length) found.push(`not built yet: ${toBuild.join(" ")}`);
    if (toRemove.length) found.push(`still deployed, gone from the file: ${toRemove.join(" ")}`);
  }
  return found;
}
