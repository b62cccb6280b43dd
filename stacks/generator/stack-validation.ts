import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { validateStackConfig } from "../../config/stack-config";

/**
 * The generator writes only what the stack-config schema accepts: each
 * generated `config:` map is checked exactly as `npm run plan` would see it,
 * i.e. over the project-level defaults in Pulumi.yaml (so, for instance,
 * `databases: persistent` is checked against the fleet's MySQL servers).
 */

function asMapping(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** Pulumi.yaml's `config:` entries (`key: {value: ...}`, `{default: ...}` or a bare value), with full keys. */
export function readProjectConfig(repositoryRoot: string): Record<string, unknown> {
  let project: Record<string, unknown>;
  try {
    project = asMapping(parse(readFileSync(path.join(repositoryRoot, "Pulumi.yaml"), "utf8")));
  } catch {
    return {};
  }
  const projectName = typeof project.name === "string" ? project.name : "openedx-im";
  const values: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(asMapping(project.config))) {
    const fullKey = key.includes(":") ? key : `${projectName}:${key}`;
    const entry = asMapping(spec);
    if ("value" in entry) values[fullKey] = entry.value;
    else if ("default" in entry) values[fullKey] = entry.default;
    else if (spec !== null && typeof spec !== "object") values[fullKey] = spec;
  }
  return values;
}

/** One line per problem, each naming the key path; empty when the schema accepts the stack. */
export function stackConfigProblems(stackValues: Record<string, unknown>, projectConfig: Record<string, unknown>): string[] {
  const result = validateStackConfig({ ...projectConfig, ...stackValues });
  return result.ok ? [] : result.problems;
}
