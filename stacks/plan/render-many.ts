import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { listStacks } from "../../config/stack-file";
import type { Plan } from "./render";
import type { RenderOutcome } from "./diff";

/**
 * Renders many stacks of one source tree in ONE process, so the program's start-up
 * (TypeScript compilation, Pulumi SDK load) is paid once, not once per stack.
 *
 *   npx tsx stacks/plan/render-many.ts [--tree DIR] [--root DIR] [--out FILE] [--timings] (--all | <stack>...)
 *
 * --tree  the source tree whose program renders the stacks (default: this one). The
 *         diff runs this file against a git worktree of an older commit, so the tree's
 *         own `stacks/plan/stack.ts` is loaded: each commit renders with its own code.
 * --root  where Pulumi.yaml and the stack files are (default: the tree).
 * --out   write the JSON there instead of stdout (the program may log to stdout).
 * --timings  print "rendered <stack> in <ms> ms" per stack on stderr.
 *
 * Prints one JSON object: stack → plan, or → {"problems": [...]} for a stack whose
 * configuration is invalid, or → {"error": "..."} when the program threw. Neither
 * stops the other stacks. Exit status 0 unless the tree cannot render at all.
 */

type RenderStack = (stack: string, root?: string) => Promise<Plan>;

const THIS_TREE = path.resolve(__dirname, "..", "..");

/** Stack names of `Pulumi.<stack>.yaml` files in a directory. */
export { listStacks };

/** The tree's renderer; throws when the tree has no offline plan (a commit older than it). */
export async function loadRenderer(tree: string): Promise<RenderStack> {
  const file = path.join(tree, "stacks", "plan", "stack.ts");
  let module: { renderStack?: RenderStack };
  try {
    module = (await import(file)) as { renderStack?: RenderStack };
  } catch (error) {
    throw new Error(`cannot load the offline plan of ${tree} (${file}): ${firstLine(error)}`);
  }
  if (typeof module.renderStack !== "function") throw new Error(`${file} exports no renderStack`);
  return module.renderStack;
}

/** Renders each stack in turn (the SDK's mock state is global, so never in parallel). */
export async function renderMany(
  stacks: readonly string[],
  options: { renderStack: RenderStack; root?: string; onRendered?: (stack: string, ms: number) => void },
): Promise<Record<string, RenderOutcome>> {
  const results: Record<string, RenderOutcome> = {};
  for (const stack of stacks) {
    const started = performance.now();
    results[stack] = await renderOne(stack, options.renderStack, options.root);
    options.onRendered?.(stack, performance.now() - started);
  }
  return results;
}

/**
 * One stack, first without JavaScript stack traces; a stack that throws is rendered again
 * with them, so its error says where it was thrown.
 *
 * The SDK records where each resource is declared and a stack trace per promise it tracks
 * (`Resource.callsites`, `debuggablePromise`); building those, through the source maps tsx
 * turns on, was three quarters of a render. The plan never reads them: the mock monitor
 * ignores source positions and render.ts records none, so plans are byte-identical with or
 * without (test/fleet-render.test.ts). Modules stay source-mapped: they are loaded before.
 */
async function renderOne(stack: string, renderStack: RenderStack, root?: string): Promise<RenderOutcome> {
  const fast = await withoutStackTraces(() => attempt(stack, renderStack, root));
  return "error" in fast ? attempt(stack, renderStack, root) : fast;
}

async function withoutStackTraces<T>(run: () => Promise<T>): Promise<T> {
  const limit = Error.stackTraceLimit;
  const sourceMaps = process.sourceMapsEnabled;
  Error.stackTraceLimit = 0;
  process.setSourceMapsEnabled(false);
  try {
    return await run();
  } finally {
    Error.stackTraceLimit = limit;
    process.setSourceMapsEnabled(sourceMaps);
  }
}

async function attempt(stack: string, renderStack: RenderStack, root?: string): Promise<RenderOutcome> {
  try {
    return root === undefined ? await renderStack(stack) : await renderStack(stack, root);
  } catch (error) {
    // ConfigProblems (invalid config) carries one line per problem; a StackFileError
    // (unreadable YAML) is a config problem too. Matched by shape: they are the tree's
    // own classes, not this file's.
    const problems = (error as { problems?: unknown }).problems;
    if (Array.isArray(problems) && problems.every((p) => typeof p === "string")) return { problems };
    if (error instanceof Error && error.constructor.name === "StackFileError") return { problems: [error.message] };
    return { error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
  }
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0];
}

interface CliOptions {
  tree: string;
  root?: string;
  out?: string;
  all: boolean;
  timings: boolean;
  stacks: string[];
}

function parseArgs(argv: readonly string[]): CliOptions {
  const options: CliOptions = { tree: THIS_TREE, all: false, timings: false, stacks: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined || next.startsWith("--")) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === "--tree") options.tree = path.resolve(value());
    else if (arg === "--root") options.root = path.resolve(value());
    else if (arg === "--out") options.out = path.resolve(value());
    else if (arg === "--all") options.all = true;
    else if (arg === "--timings") options.timings = true;
    else if (arg.startsWith("--")) throw new Error(`unknown option ${arg}`);
    else options.stacks.push(arg);
  }
  if (!options.all && options.stacks.length === 0) throw new Error("name the stacks to render, or --all");
  return options;
}

async function main(argv: readonly string[]): Promise<number> {
  let options: CliOptions;
  try {
    options = parseArgs(argv);
  } catch (error) {
    process.stderr.write(
      `${firstLine(error)}\nusage: npx tsx stacks/plan/render-many.ts [--tree DIR] [--root DIR] [--out FILE] [--timings] (--all | <stack>...)\n`,
    );
    return 2;
  }
  const root = options.root ?? options.tree;
  const stacks = options.all ? listStacks(root) : options.stacks;
  let renderStack: RenderStack;
  try {
    renderStack = await loadRenderer(options.tree);
  } catch (error) {
    process.stderr.write(`${firstLine(error)}\n`);
    return 1;
  }
  const results = await renderMany(stacks, {
    renderStack,
    ...(options.root ? { root: options.root } : {}),
    ...(options.timings ? { onRendered: (stack: string, ms: number) => process.stderr.write(`rendered ${stack} in ${ms.toFixed(0)} ms\n`) } : {}),
  });
  const text = JSON.stringify(results) + "\n";
  if (options.out) writeFileSync(options.out, text);
  else process.stdout.write(text);
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`render-many failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
