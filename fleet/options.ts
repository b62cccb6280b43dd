import { FilterSyntaxError, type FilterTerm, parseFilter } from "./filter";

/** Command-line options of `npm run fleet -- <command>`, parsed strictly. */

export const USAGE = `usage: npm run fleet -- list [--json | --csv] [--filter EXPR] [--exclude EXPR] [--state]
       npm run fleet -- redeploy (--filter EXPR | --stacks a,b) [--exclude EXPR] [--release NAME]
                      [--batch-size N] [--batch-interval SECONDS] [--max-failures N] [--no-activate]
                      [--dry-run | --emit-matrix | --edit-only | --no-edit] [--log-dir DIR]
       npm run fleet -- archive <stack> [--yes]
       npm run fleet -- delete <stack> --i-understand-data-loss [--yes]
  common: [--root DIR] (where Pulumi.yaml and the stack files are; default: this project)
  EXPR: terms joined by "," (all must match), each <key>=<glob>[|<glob>...] or <key>!=...;
        keys: name lifecycle deployment stage release active provisioner activeappserver
              domain mysql data status (docs/fleet.md)`;

export class UsageError extends Error {}

export interface ListOptions {
  command: "list";
  format: "table" | "json" | "csv";
  filter?: FilterTerm[];
  exclude?: FilterTerm[];
  state: boolean;
  root?: string;
}

export interface RedeployOptions {
  command: "redeploy";
  filter?: FilterTerm[];
  filterText?: string;
  exclude?: FilterTerm[];
  excludeText?: string;
  stacks?: string[];
  release?: string;
  batchSize: number;
  batchIntervalSeconds: number;
  maxFailures: number;
  activate: boolean;
  mode: "run" | "dry-run" | "emit-matrix" | "edit-only";
  edit: boolean;
  logDir?: string;
  root?: string;
}

export interface TeardownOptions {
  command: "archive" | "delete";
  stack: string;
  yes: boolean;
  understood: boolean;
  root?: string;
}

export type FleetOptions = ListOptions | RedeployOptions | TeardownOptions;

export const DEFAULTS = { batchSize: 5, batchIntervalSeconds: 0, maxFailures: 1 };

export function parseFleetArguments(argv: readonly string[]): FleetOptions {
  const [command, ...rest] = argv;
  const flags = new Map<string, string | true>();
  const positional: string[] = [];
  const VALUED = new Set(["--filter", "--exclude", "--stacks", "--release", "--batch-size", "--batch-interval", "--max-failures", "--log-dir", "--root"]);
  const BOOLEAN = new Set(["--json", "--csv", "--state", "--no-activate", "--dry-run", "--emit-matrix", "--edit-only", "--no-edit", "--yes", "--i-understand-data-loss"]);
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    if (VALUED.has(name)) {
      const value = eq > 0 && arg.startsWith("--") ? arg.slice(eq + 1) : rest[++i];
      if (value === undefined || (value.startsWith("--") && eq < 0)) throw new UsageError(`${name} needs a value`);
      if (flags.has(name)) throw new UsageError(`${name} is given twice`);
      flags.set(name, value);
    } else if (BOOLEAN.has(arg)) flags.set(arg, true);
    else if (arg.startsWith("-")) throw new UsageError(`unknown option ${arg}`);
    else positional.push(arg);
  }
  const text = (name: string) => (typeof flags.get(name) === "string" ? (flags.get(name) as string) : undefined);
  const filterOf = (name: string) => {
    const value = text(name);
    if (value === undefined) return undefined;
    try {
      return parseFilter(value);
    } catch (error) {
      if (error instanceof FilterSyntaxError) throw new UsageError(`${name}: ${error.message}`);
      throw error;
    }
  };
  const allow = (allowed: string[]) => {
    for (const flag of flags.keys()) if (!allowed.includes(flag)) throw new UsageError(`${flag} does not apply to ${command}`);
  };
  const root = text("--root");
  const withRoot = root !== undefined ? { root } : {};

  if (command === "list") {
    allow(["--json", "--csv", "--filter", "--exclude", "--state", "--root"]);
    if (positional.length) throw new UsageError(`list takes no stack names; use --filter name=<glob>`);
    if (flags.has("--json") && flags.has("--csv")) throw new UsageError("--json and --csv exclude each other");
    const filter = filterOf("--filter");
    const exclude = filterOf("--exclude");
    return {
      command,
      format: flags.has("--json") ? "json" : flags.has("--csv") ? "csv" : "table",
      ...(filter ? { filter } : {}),
      ...(exclude ? { exclude } : {}),
      state: flags.has("--state"),
      ...withRoot,
    };
  }
  if (command === "redeploy") {
    allow([...VALUED, "--no-activate", "--dry-run", "--emit-matrix", "--edit-only", "--no-edit"]);
    if (positional.length) throw new UsageError(`redeploy takes no positional arguments (got ${positional.join(" ")}); use --stacks a,b or --filter`);
    const filter = filterOf("--filter");
    const exclude = filterOf("--exclude");
    const stacksText = text("--stacks");
    const stacks = stacksText?.split(",").map((s) => s.trim());
    if (stacks?.some((s) => !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/.test(s))) throw new UsageError(`--stacks: "${stacksText}" is not a comma-separated list of stack names`);
    if (!filter && !stacks) throw new UsageError("redeploy needs --filter or --stacks (the whole fleet is --filter name=*)");
    const modes = (["--dry-run", "--emit-matrix", "--edit-only"] as const).filter((m) => flags.has(m));
    if (modes.length > 1) throw new UsageError(`${modes.join(" and ")} exclude each other`);
    if (flags.has("--edit-only") && flags.has("--no-edit")) throw new UsageError("--edit-only and --no-edit exclude each other");
    const number = (name: string, fallback: number) => {
      const value = text(name);
      if (value === undefined) return fallback;
      if (!/^\d+(\.\d+)?$/.test(value)) throw new UsageError(`${name}: "${value}" is not a number`);
      return Number(value);
    };
    const release = text("--release");
    if (release !== undefined && !/^[a-z0-9.-]+$/.test(release)) throw new UsageError(`--release: "${release}" is not a release name`);
    const logDir = text("--log-dir");
    return {
      command,
      ...(filter ? { filter, filterText: text("--filter") as string } : {}),
      ...(exclude ? { exclude, excludeText: text("--exclude") as string } : {}),
      ...(stacks ? { stacks } : {}),
      ...(release !== undefined ? { release } : {}),
      batchSize: number("--batch-size", DEFAULTS.batchSize),
      batchIntervalSeconds: number("--batch-interval", DEFAULTS.batchIntervalSeconds),
      maxFailures: number("--max-failures", DEFAULTS.maxFailures),
      activate: !flags.has("--no-activate"),
      mode: modes[0] === "--dry-run" ? "dry-run" : modes[0] === "--emit-matrix" ? "emit-matrix" : modes[0] === "--edit-only" ? "edit-only" : "run",
      edit: !flags.has("--no-edit"),
      ...(logDir !== undefined ? { logDir } : {}),
      ...withRoot,
    };
  }
  if (command === "archive" || command === "delete") {
    allow(["--yes", "--root", ...(command === "delete" ? ["--i-understand-data-loss"] : [])]);
    if (positional.length !== 1) throw new UsageError(`${command} takes exactly one stack name`);
    if (command === "delete" && !flags.has("--i-understand-data-loss"))
      throw new UsageError("delete destroys the instance's data; add --i-understand-data-loss (or use archive, which keeps it)");
    return { command, stack: positional[0], yes: flags.has("--yes"), understood: flags.has("--i-understand-data-loss"), ...withRoot };
  }
  throw new UsageError(command ? `unknown command ${command}` : "name a command");
}
