import { validateStackConfig } from "../../config/stack-config";
import { readProject } from "../../config/stack-file";

/**
 * The generator writes only what the stack-config schema accepts: each
 * generated `config:` map is checked exactly as `npm run plan` would see it,
 * i.e. over the project-level defaults in Pulumi.yaml (so, for instance,
 * `databases: persistent` is checked against the fleet's MySQL servers).
 */

/** Pulumi.yaml's `config:` entries (`key: {value: ...}`, `{default: ...}` or a bare value), with full keys. */
export function readProjectConfig(repositoryRoot: string): Record<string, unknown> {
  try {
    return readProject(repositoryRoot).values;
  } catch {
    return {};
  }
}

/** One line per problem, each naming the key path; empty when the schema accepts the stack. */
export function stackConfigProblems(stackValues: Record<string, unknown>, projectConfig: Record<string, unknown>): string[] {
  const result = validateStackConfig({ ...projectConfig, ...stackValues });
  return result.ok ? [] : result.problems;
}
