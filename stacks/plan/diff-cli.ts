import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import {
  type DiffReport,
  type RenderOutcome,
  type StackSelection,
  diffStack,
  renderMarkdown,
  selectAffectedStacks,
  stackOfFile,
  WORKING_TREE,
} from "./diff";
import { listStacks } from "./render-many";

/**
 * `npm run plan -- diff <base-ref> [<head-ref>] [--stacks a,b] [--json] [--stacks-only]`
 *
 * Renders the affected stacks offline at two commits and prints what the change
 * does to each. The base (and a head ref, when given) is checked out in a
 * temporary git worktree that borrows this checkout's node_modules; each side is
 * rendered by one child process (render-many.ts) running that side's own program,
 * both at once. Without a head ref, the head is the working tree as it is now,
 * uncommitted and untracked files included.
 */

const USAGE = `usage: npm run plan -- diff <base-ref> [<head-ref>] [--stacks a,b] [--json | --stacks-only]
  <base-ref>     the commit to compare against (e.g. origin/main, HEAD~1)
  <head-ref>     the commit to compare (default: the working tree)
  --stacks a,b   render these stacks whatever changed
  --json         print the diff as JSON instead of Markdown
  --stacks-only  print the affected stacks as JSON and render nothing
                 ({"stacks": [...at head], "removed": [...], "added": [...], "all": bool})`;

const RENDER_MANY = path.join(__dirname, "render-many.ts");

export class DiffUsageError extends Error {}

/** A ref that does not resolve: the message says how to get it; no usage text. */
export class MissingRefError extends DiffUsageError {}

export interface DiffOptions {
  /** Any directory inside the repository (default: the current directory). */
  cwd?: string;
  base: string;
  head?: string;
  stacks?: string[];
}

export interface DiffCliArguments extends DiffOptions {
  json: boolean;
  stacksOnly: boolean;
}

export function parseDiffArguments(argv: readonly string[]): DiffCliArguments {
  const positional: string[] = [];
  const parsed: DiffCliArguments = { base: "", json: false, stacksOnly: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--json") parsed.json = true;
    else if (arg === "--stacks-only") parsed.stacksOnly = true;
    else if (arg === "--stacks" || arg.startsWith("--stacks=")) {
      const value = arg === "--stacks" ? argv[++i] : arg.slice("--stacks=".length);
      if (!value || value.startsWith("--")) throw new DiffUsageError(`--stacks needs a comma-separated list, e.g. --stacks dev,prod`);
      parsed.stacks = value.split(",").map((s) => s.trim()).filter(Boolean);
    } else if (arg === "--help" || arg === "-h") throw new DiffUsageError("");
    else if (arg.startsWith("-")) throw new DiffUsageError(`unknown option ${arg}`);
    else positional.push(arg);
  }
  if (positional.length < 1 || positional.length > 2)
    throw new DiffUsageError(positional.length ? "too many refs: give a base ref and at most one head ref" : "the base ref is missing (e.g. origin/main or HEAD~1)");
  if (parsed.json && parsed.stacksOnly) throw new DiffUsageError("--json and --stacks-only exclude each other");
  parsed.base = positional[0];
  if (positional[1] !== undefined) parsed.head = positional[1];
  return parsed;
}

function git(cwd: string, args: readonly string[]): string {
  return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 * 1024 * 1024 });
}

function gitList(cwd: string, args: readonly string[]): string[] {
  return git(cwd, args).split("\0").filter(Boolean);
}

/** The commit a ref names, or an error that says why it is missing and how to get it. */
export function resolveCommit(repo: string, ref: string): string {
  if (ref.startsWith("-")) throw new DiffUsageError(`"${ref}" is not a git ref`);
  try {
    return git(repo, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]).trim();
  } catch {
    const count = Number(tryGit(repo, ["rev-list", "--count", "HEAD"]) ?? "0");
    const shallow = tryGit(repo, ["rev-parse", "--is-shallow-repository"])?.trim() === "true";
    const hint = shallow
      ? ` This clone is shallow (${count} commit(s)): fetch more history (git fetch --deepen=1, or fetch-depth: 0 in actions/checkout).`
      : /^HEAD([~^]\d*)+$/.test(ref)
        ? ` This repository has ${count} commit(s), so ${ref} does not exist.`
        : " Fetch it first (e.g. git fetch origin main).";
    throw new MissingRefError(`git ref "${ref}" not found.${hint}`);
  }
}

function tryGit(cwd: string, args: readonly string[]): string | undefined {
  try {
    return git(cwd, args);
  } catch {
    return undefined;
  }
}

interface Sides {
  repo: string;
  base: { ref: string; commit: string; stacks: string[] };
  head: { ref: string; commit: string; stacks: string[]; workingTree: boolean };
  changedFiles: string[];
}

function readSides(options: DiffOptions): Sides {
  const cwd = options.cwd ?? process.cwd();
  const repo = tryGit(cwd, ["rev-parse", "--show-toplevel"])?.trim();
  if (!repo) throw new DiffUsageError(`${cwd} is not inside a git repository`);
  const baseCommit = resolveCommit(repo, options.base);
  const stacksAt = (commit: string) =>
    gitList(repo, ["ls-tree", "--name-only", "-z", commit])
      .map(stackOfFile)
      .filter((s): s is string => s !== undefined)
      .sort();
  const base = { ref: options.base, commit: baseCommit, stacks: stacksAt(baseCommit) };
  if (options.head !== undefined) {
    const headCommit = resolveCommit(repo, options.head);
    return {
      repo,
      base,
      head: { ref: options.head, commit: headCommit, stacks: stacksAt(headCommit), workingTree: false },
      changedFiles: gitList(repo, ["diff", "--name-only", "--no-renames", "-z", baseCommit, headCommit]),
    };
  }
  const changedFiles = [
    ...gitList(repo, ["diff", "--name-only", "--no-renames", "-z", baseCommit]),
    ...gitList(repo, ["ls-files", "--others", "--exclude-standard", "-z"]),
  ];
  const headCommit = git(repo, ["rev-parse", "HEAD"]).trim();
  return {
    repo,
    base,
    head: { ref: WORKING_TREE, commit: headCommit, stacks: listStacks(repo), workingTree: true },
    changedFiles: [...new Set(changedFiles)].sort(),
  };
}

function selectStacks(sides: Sides, requested: string[] | undefined): StackSelection {
  const selection = selectAffectedStacks({
    changedFiles: sides.changedFiles,
    baseStacks: sides.base.stacks,
    headStacks: sides.head.stacks,
  });
  if (!requested) return selection;
  const known = new Set([...sides.base.stacks, ...sides.head.stacks]);
  const unknown = requested.filter((s) => !known.has(s));
  if (unknown.length)
    throw new DiffUsageError(`--stacks: no stack file for ${unknown.join(", ")} at either commit (known: ${[...known].sort().join(", ")})`);
  return { ...selection, stacks: [...new Set(requested)].sort() };
}

/** Which stacks the change affects, without rendering: what the deploy workflow needs. */
export function affectedStacks(options: DiffOptions): { stacks: string[]; removed: string[]; added: string[]; all: boolean } {
  const sides = readSides(options);
  const selection = selectStacks(sides, options.stacks);
  const atHead = new Set(sides.head.stacks);
  return {
    stacks: selection.stacks.filter((s) => atHead.has(s)),
    removed: selection.removed,
    added: selection.added,
    all: selection.all,
  };
}

/** A temporary checkout of one commit; `dispose` removes it and its registration. */
class Worktree {
  readonly dir: string;
  private readonly parent: string;
  constructor(
    private readonly repo: string,
    commit: string,
    label: string,
  ) {
    this.parent = mkdtempSync(path.join(tmpdir(), `openedx-im-plan-${label}-`));
    this.dir = path.join(this.parent, "tree");
    git(repo, ["worktree", "add", "--detach", "--quiet", this.dir, commit]);
    const modules = path.join(repo, "node_modules");
    if (!existsSync(modules)) throw new DiffUsageError(`${modules} is missing: run npm ci first`);
    // A commit may carry its own node_modules entry (a committed symlink); keep it.
    const link = path.join(this.dir, "node_modules");
    if (!existsSync(link)) symlinkSync(modules, link, "dir");
  }
  dispose(): void {
    tryGit(this.repo, ["worktree", "remove", "--force", this.dir]);
    rmSync(this.parent, { recursive: true, force: true });
    tryGit(this.repo, ["worktree", "prune"]);
  }
}

/** Renders stacks of one tree in a child process (its own program, its own SDK state). */
export function renderTree(tree: string, stacks: readonly string[], label = tree): Promise<Record<string, RenderOutcome>> {
  if (stacks.length === 0) return Promise.resolve({});
  const outDir = mkdtempSync(path.join(tmpdir(), "openedx-im-render-"));
  const out = path.join(outDir, "plans.json");
  const tsx = require.resolve("tsx/cli");
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [tsx, RENDER_MANY, "--tree", tree, "--out", out, ...stacks],
      { cwd: tree, maxBuffer: 64 * 1024 * 1024 },
      (error, _stdout, stderr) => {
        let results: Record<string, RenderOutcome> | undefined;
        if (!error && existsSync(out)) results = JSON.parse(readFileSync(out, "utf8")) as Record<string, RenderOutcome>;
        rmSync(outDir, { recursive: true, force: true });
        if (results) return resolve(results);
        const detail = String(stderr).trim().split("\n").slice(0, 3).join(" ").replaceAll(tree, "<tree>");
        const message = `the ${label} did not render: ${detail || error?.message}`;
        resolve(Object.fromEntries(stacks.map((s) => [s, { error: message }])));
      },
    );
  });
}

/** Renders the affected stacks at both sides and diffs them. */
export async function computeDiff(options: DiffOptions): Promise<DiffReport> {
  const sides = readSides(options);
  const selection = selectStacks(sides, options.stacks);
  const baseSet = new Set(sides.base.stacks);
  const headSet = new Set(sides.head.stacks);
  const baseStacks = selection.stacks.filter((s) => baseSet.has(s));
  const headStacks = selection.stacks.filter((s) => headSet.has(s));

  const worktrees: Worktree[] = [];
  const cleanUp = () => worktrees.splice(0).forEach((w) => w.dispose());
  const onSignal = () => {
    cleanUp();
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    let baseTree: string | undefined;
    if (baseStacks.length) {
      const worktree = new Worktree(sides.repo, sides.base.commit, "base");
      worktrees.push(worktree);
      baseTree = worktree.dir;
    }
    let headTree = sides.repo;
    if (!sides.head.workingTree && headStacks.length) {
      const worktree = new Worktree(sides.repo, sides.head.commit, "head");
      worktrees.push(worktree);
      headTree = worktree.dir;
    }
    const [basePlans, headPlans] = await Promise.all([
      baseTree ? renderTree(baseTree, baseStacks, `base (${sides.base.ref})`) : Promise.resolve({}),
      renderTree(headTree, headStacks, `head (${sides.head.ref})`),
    ]);
    const stacks = selection.stacks.map((stack) =>
      diffStack(
        stack,
        baseSet.has(stack) ? (basePlans as Record<string, RenderOutcome>)[stack] : undefined,
        headSet.has(stack) ? (headPlans as Record<string, RenderOutcome>)[stack] : undefined,
      ),
    );
    return {
      base: { ref: sides.base.ref, commit: sides.base.commit },
      head: { ref: sides.head.ref, commit: sides.head.commit },
      selection,
      unaffected: sides.head.stacks.filter((s) => !selection.stacks.includes(s)),
      stacks,
    };
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    cleanUp();
  }
}

/** The CLI: Markdown (or JSON) on stdout; exit 1 when a stack is invalid or fails at head. */
export async function diffCli(argv: string[]): Promise<number> {
  let args: DiffCliArguments;
  try {
    args = parseDiffArguments(argv);
    if (args.stacksOnly) {
      process.stdout.write(JSON.stringify(affectedStacks(args)) + "\n");
      return 0;
    }
    const report = await computeDiff(args);
    process.stdout.write(args.json ? JSON.stringify(report, null, 2) + "\n" : renderMarkdown(report));
    const broken = report.stacks.filter((s) => s.status === "invalid" || s.status === "failed");
    for (const stack of broken) process.stderr.write(`${stack.stack}: ${stack.status} at head\n`);
    return broken.length ? 1 : 0;
  } catch (error) {
    if (error instanceof DiffUsageError) {
      const usage = error instanceof MissingRefError ? "" : `${USAGE}\n`;
      process.stderr.write(error.message ? `${error.message}\n${usage}` : usage);
      return 2;
    }
    throw error;
  }
}
