import { readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { YAMLError, parse } from "yaml";
import { isPlainObject } from "./json";

/** The project's root: where Pulumi.yaml and the stack files live. */
export const PROJECT_ROOT = path.resolve(__dirname, "..");

export interface StackFile {
  project: string;
  stack: string;
  /** Project defaults from Pulumi.yaml, then the stack file's own values over them. */
  values: Record<string, unknown>;
}

/** Pulumi's stack names: what `pulumi stack init` accepts, and nothing that could leave the directory. */
const STACK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

/** The stack a file name belongs to: `Pulumi.<stack>.yaml` (not Pulumi.yaml, the project file). */
export function stackOfFile(file: string): string | undefined {
  const match = /^Pulumi\.(.+)\.yaml$/.exec(file);
  return match && STACK_NAME.test(match[1]) ? match[1] : undefined;
}

/** Every stack with a `Pulumi.<stack>.yaml` in `root`, sorted. */
export function listStacks(root = PROJECT_ROOT): string[] {
  return readdirSync(root)
    .map(stackOfFile)
    .filter((stack): stack is string => stack !== undefined)
    .sort();
}

export function readStackFile(stack: string, root = PROJECT_ROOT): StackFile {
  if (!STACK_NAME.test(stack))
    throw new StackFileError(`stack name "${stack}" is not valid (letters, digits, - _ . ; e.g. dev, prod, pr-123)`);
  const { project, values } = readProject(root);
  const stackDoc = readYaml(path.join(root, `Pulumi.${stack}.yaml`), `Pulumi.${stack}.yaml`);
  for (const [key, value] of Object.entries(asMapping(stackDoc.config))) values[qualify(key, project)] = value;
  return { project, stack, values };
}

/** The project's name and its project-level config values (Pulumi.yaml `config:`), keys fully qualified. */
export function readProject(root = PROJECT_ROOT): { project: string; values: Record<string, unknown> } {
  const doc = readYaml(path.join(root, "Pulumi.yaml"), "Pulumi.yaml");
  const project = typeof doc.name === "string" ? doc.name : "openedx-im";
  const values: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(asMapping(doc.config))) {
    // Project-level config: `key: {value: ...}` or `key: {default: ...}` or a bare value.
    const entry = asMapping(spec);
    if ("value" in entry) values[qualify(key, project)] = entry.value;
    else if ("default" in entry) values[qualify(key, project)] = entry.default;
    else if (spec !== null && typeof spec !== "object") values[qualify(key, project)] = spec;
  }
  return { project, values };
}

const qualify = (key: string, project: string) => (key.includes(":") ? key : `${project}:${key}`);

export class StackFileError extends Error {}

function readYaml(file: string, label: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new StackFileError(`${label}: not found in ${path.dirname(file)}`);
  }
  try {
    return asMapping(parse(text, { maxAliasCount: 100 }));
  } catch (error) {
    throw new StackFileError(yamlErrorLine(label, error));
  }
}

/**
 * `Pulumi.x.yaml line 6, column 11: not valid YAML: <reason>`, then the line itself: the
 * parser's own message ends "at line 6, column 11:" before an excerpt, which a one-line
 * summary must not cut in half.
 */
export function yamlErrorLine(label: string, error: unknown): string {
  if (!(error instanceof YAMLError)) return `${label}: not valid YAML (${String((error as Error)?.message ?? error).split("\n")[0]})`;
  const reason = error.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "").replace(/:$/, "");
  const position = error.linePos?.[0];
  const where = position ? ` line ${position.line}, column ${position.col}` : "";
  const excerpt = error.message
    .split("\n")
    .slice(1)
    .filter((line) => line.trim() !== "");
  return [`${label}${where}: not valid YAML: ${reason}`, ...excerpt.map((line) => `  ${line}`)].join("\n");
}

function asMapping(value: unknown): Record<string, unknown> {
  return isPlainObject(value) ? value : {};
}
