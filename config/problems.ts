import type { z } from "zod";
import { didYouMeanHint } from "./did-you-mean";

/**
 * Invalid configuration: each line names a key and what it allows. Thrown at the
 * edge (config validation) and by the few checks only the program can make (an
 * adopted user's password missing from credentials); the CLI entries print the
 * lines without a stack trace.
 */
export class ConfigProblems extends Error {
  constructor(readonly problems: string[]) {
    super(`the stack configuration is invalid:\n${problems.map((p) => `  ${p}`).join("\n")}`);
    this.name = "ConfigProblems";
  }
}

export type ParseResult<T> = { ok: true; data: T } | { ok: false; problems: string[] };

export interface ProblemHints {
  /** Appended to a problem whose path ends in this key, e.g. `release` → "(supported: …)". */
  byLastKey?: Record<string, string>;
}

/**
 * Validates `value` against a zod schema and says what is wrong, one line per
 * problem, each `<key><path>: <what is allowed>`: the one place schema problems
 * are worded. A missing key says "required"; an unknown key says which known key
 * it may stand for, and then no "required" line appears for that key as well.
 */
export function parseConfig<T>(key: string, schema: z.ZodType<T>, value: unknown, hints: ProblemHints = {}): ParseResult<T> {
  // reportInput: a missing key is told apart from a wrong value even where the schema words its own message.
  const result = schema.safeParse(value, { error: wordIssue, reportInput: true });
  if (result.success) return { ok: true, data: result.data };
  return { ok: false, problems: formatIssues(key, schema, result.error.issues, hints) };
}

function formatIssues(key: string, schema: z.ZodType, issues: readonly z.core.$ZodIssue[], hints: ProblemHints): string[] {
  const at = (path: readonly PropertyKey[]) => key + path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
  // Keys an unknown key stands for: "subdomain" is "subDomain" misspelt, not a second problem.
  const meant = new Set<string>();
  const unknownLines: string[] = [];
  for (const issue of issues) {
    if (issue.code !== "unrecognized_keys") continue;
    const known = keysAt(schema, issue.path);
    for (const unknown of issue.keys) {
      const hint = didYouMeanHint(unknown, known);
      const suggestion = /"(.*)"/.exec(hint)?.[1];
      if (suggestion !== undefined) meant.add(at([...issue.path, suggestion]));
      unknownLines.push(
        `${at([...issue.path, unknown])}: unknown key${hint}${hint ? "" : ` (known: ${known.join(", ")})`}`,
      );
    }
  }
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") continue;
    if (issue.code === "invalid_union") {
      // A name or an object with a name: the branch of the value's own type says what is wrong inside it (a misspelt key).
      const fitting = issue.errors.filter((branch) => !branch.some((inner) => inner.code === "invalid_type" && inner.path.length === 0));
      // Only for what lies inside the value (a key of the object branch): about the value itself, the union's own message says more.
      if (fitting.length === 1 && fitting[0].every((inner) => inner.path.length > 0 || inner.code === "unrecognized_keys")) {
        const inner = fitting[0].map((inner) => ({ ...inner, path: [...issue.path, ...inner.path] })) as z.core.$ZodIssue[];
        lines.push(...formatIssues(key, schema, inner, hints));
        continue;
      }
    }
    const where = at(issue.path);
    const missing = issue.input === undefined && MISSING_CODES.has(issue.code);
    if (missing && meant.has(where)) continue;
    const message = missing ? REQUIRED : issue.code === "invalid_key" ? (issue.issues[0]?.message ?? issue.message) : issue.message;
    const last = issue.path[issue.path.length - 1];
    const hint = typeof last === "string" ? hints.byLastKey?.[last] : undefined;
    lines.push(`${where}: ${message}${hint ? ` ${hint}` : ""}`);
  }
  return [...lines, ...unknownLines];
}

const REQUIRED = "required";
/** The issues a key that is not there at all gives: whatever the schema, it is "required". */
const MISSING_CODES = new Set<string>(["invalid_type", "invalid_value", "invalid_union"]);

/** Wording for the issues the schema gives no message of its own. */
function wordIssue(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code !== "invalid_type") return undefined;
  if (issue.input === undefined) return REQUIRED;
  return `must be ${EXPECTED[issue.expected] ?? issue.expected}, not ${describeValue(issue.input)}`;
}

const EXPECTED: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  object: "a mapping of keys to values",
  array: "a list",
  record: "a mapping of keys to values",
};

function describeValue(value: unknown): string {
  if (value === null) return "null (an empty value)";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value === "number" && Number.isInteger(value) ? "the number" : typeof value} ${String(value)}`;
}

/** The keys an object schema allows at `path` (through optional, default, array, record and union layers). */
export function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let nodes: z.core.$ZodType[] = [schema];
  for (let i = 0; i <= path.length; i++) {
    nodes = nodes.flatMap(unwrap);
    if (i === path.length) break;
    const step = path[i];
    nodes = nodes.flatMap((node) => {
      const def = node._zod.def as unknown as Record<string, unknown>;
      if (def.type === "object") {
        const child = (def.shape as Record<string, z.core.$ZodType>)[String(step)];
        return child ? [child] : [];
      }
      if (def.type === "array") return [def.element as z.core.$ZodType];
      if (def.type === "record") return [def.valueType as z.core.$ZodType];
      return [];
    });
  }
  const keys = nodes.flatMap((node) => {
    const def = node._zod.def as unknown as Record<string, unknown>;
    return def.type === "object" ? Object.keys(def.shape as Record<string, unknown>) : [];
  });
  return [...new Set(keys)];
}

/** The schemas a wrapper stands for: optional/default/nullable/pipe layers peeled, union options spread. */
function unwrap(node: z.core.$ZodType): z.core.$ZodType[] {
  const def = node._zod.def as unknown as Record<string, unknown>;
  switch (def.type) {
    case "optional":
    case "nullable":
    case "default":
    case "prefault":
    case "readonly":
    case "nonoptional":
    case "catch":
      return unwrap(def.innerType as z.core.$ZodType);
    case "pipe":
      return unwrap(def.in as z.core.$ZodType);
    case "lazy":
      return unwrap((def.getter as () => z.core.$ZodType)());
    case "union":
      return (def.options as z.core.$ZodType[]).flatMap(unwrap);
    default:
      return [node];
  }
}
