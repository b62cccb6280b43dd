import { isPlainObject } from "../json";
import { listStacks, readStackFile } from "../stack-file";

/**
 * Which stacks a change of the version matrix reaches: sandboxes that name a
 * (deployment, stage) follow that cell; production stacks name a deployment
 * only (its repositories and branches) while each appserver pins its release,
 * so no cell moves them. Read from the stack files as written, without the full
 * validation, so that one bad file is reported and the others still count.
 */

export interface MatrixFollowers {
  /** "deployment/stage" → the stacks that follow it, sorted. */
  cells: Record<string, string[]>;
  /** deployment → its production stacks, each with its appservers' pinned releases. */
  production: Record<string, { stack: string; appServers: { id: string; release: string }[] }[]>;
  /** Stacks that name a release of their own (and production stacks without a deployment). */
  explicit: { stack: string; releases: string[] }[];
  /** Stack files that could not be read, or name a cell the matrix does not have. */
  problems: string[];
}

export const cellKey = (deployment: string, stage: string) => `${deployment}/${stage}`;

export function matrixFollowers(root: string, known: { deployments: Record<string, Partial<Record<string, string>>> }): MatrixFollowers {
  const result: MatrixFollowers = { cells: {}, production: {}, explicit: [], problems: [] };
  let stacks: string[];
  try {
    stacks = listStacks(root);
  } catch (error) {
    result.problems.push(`${root}: cannot list stack files (${(error as Error).message})`);
    return result;
  }
  for (const stack of stacks) {
    const file = `Pulumi.${stack}.yaml`;
    let instance: unknown;
    try {
      instance = readStackFile(stack, root).values["openedx-im:instance"];
    } catch (error) {
      result.problems.push(`${(error as Error).message.startsWith(file) ? "" : `${file}: `}${(error as Error).message}`);
      continue;
    }
    if (!isPlainObject(instance)) {
      result.problems.push(`${file}: no openedx-im:instance`);
      continue;
    }
    const text = (key: string) => (typeof instance[key] === "string" ? (instance[key] as string) : undefined);
    const deployment = text("deployment");
    const stage = text("stage");
    if (text("lifecycle") === "production") {
      const appServers = (Array.isArray(instance.appServers) ? instance.appServers : [])
        .filter(isPlainObject)
        .map((entry) => ({ id: String(entry.id ?? "?"), release: String(entry.release ?? "?") }));
      if (deployment === undefined) {
        result.explicit.push({ stack, releases: appServers.map((a) => `${a.id}: ${a.release}`) });
        continue;
      }
      if (!Object.hasOwn(known.deployments, deployment)) result.problems.push(`${file}: deployment "${deployment}" is not in the matrix`);
      if (stage !== undefined) result.problems.push(`${file}: stage "${stage}" is ignored in production (each appserver pins its release); remove it`);
      (result.production[deployment] ??= []).push({ stack, appServers });
      continue;
    }
    if (deployment !== undefined && stage !== undefined) {
      if (!known.deployments[deployment]?.[stage]) {
        result.problems.push(`${file}: follows ${cellKey(deployment, stage)}, which the matrix does not have`);
        continue;
      }
      (result.cells[cellKey(deployment, stage)] ??= []).push(stack);
      continue;
    }
    result.explicit.push({ stack, releases: [text("release") ?? "default"] });
  }
  return result;
}
