import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { PROJECT_ROOT } from "../config/stack-file";
import type { RenderOutcome } from "../stacks/plan/diff";
import type { Plan } from "../stacks/plan/render";
import { selectRows } from "./filter";
import { type FleetRow, readInventory } from "./inventory";
import { NewAppServerError, addAppServer, addAppServerToText } from "./new-appserver";
import type { RedeployOptions } from "./options";
import { type Clock, type FleetEvent, FleetRun, batchesOf } from "./policy";
import { buildReport, progressLine, reportText } from "./report";
import type { StackUpdater } from "./updater";

/**
 * `fleet redeploy`: select stacks, make the production change (a new appserver entry in
 * each production stack file, see ./new-appserver.ts), then run `up` on each stack under
 * the batch policy (./policy.ts), one log file per stack, and write the report.
 */

export interface RedeployIo {
  out: (text: string) => void;
  err: (text: string) => void;
  now: () => Date;
  clock?: Clock;
  /** Builds the real updater (the Automation API) only when stacks are really updated. */
  updater: () => Promise<StackUpdater>;
  /** Handed the run once it starts, so the CLI can wire Ctrl-C to drain() and cancel(). */
  onRun?: (run: FleetRun) => void;
  /** How often a progress line is printed while stacks run (ms); 0 = only on events. */
  progressEveryMs?: number;
}

export interface Selection {
  rows: FleetRow[];
  /** Selected stacks whose file is invalid: never run, reported. */
  invalid: FleetRow[];
}

export function selectStacks(options: RedeployOptions): Selection {
  const inventory = readInventory(options.root);
  let rows = selectRows(inventory, options.filter, options.exclude);
  if (options.stacks) {
    const known = new Set(inventory.map((r) => r.stack));
    const unknown = options.stacks.filter((s) => !known.has(s));
    if (unknown.length) throw new NewAppServerError(`--stacks: no stack file for ${unknown.join(", ")}`);
    const wanted = new Set(options.stacks);
    rows = rows.filter((r) => wanted.has(r.stack));
  }
  return { rows: rows.filter((r) => r.problems.length === 0), invalid: rows.filter((r) => r.problems.length > 0) };
}

/** The GitHub Actions matrix: one entry per batch, its stacks comma-separated. */
export function emitMatrix(stacks: readonly string[], batchSize: number): { include: Array<{ batch: number; stacks: string }> } {
  return { include: batchesOf(stacks, batchSize).map((batch, i) => ({ batch: i + 1, stacks: batch.join(",") })) };
}

/** Flags a retry keeps: the change is already in the stack files, so it never edits again. */
function retryExtras(options: RedeployOptions, logDir: string): string[] {
  return ["--no-edit", ...(options.root ? [`--root ${shellWord(options.root)}`] : []), `--log-dir ${shellWord(`${logDir}-retry`)}`];
}

/** A path as one shell word: as it is when it is plain, else single-quoted. */
export function shellWord(text: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
}

export async function runRedeploy(options: RedeployOptions, io: RedeployIo): Promise<number> {
  const root = options.root ?? PROJECT_ROOT;
  const { rows, invalid } = selectStacks(options);
  for (const row of invalid) io.err(`${row.stack}: skipped, its stack file is invalid: ${row.problems.join("; ")}\n`);
  if (rows.length === 0) {
    io.err("no valid stack matches; nothing to do\n");
    return invalid.length ? 1 : 0;
  }
  const stacks = rows.map((r) => r.stack);

  if (options.mode === "emit-matrix") {
    // Invalid stacks are named above and left out; the valid ones still roll out.
    io.out(JSON.stringify(emitMatrix(stacks, options.batchSize)) + "\n");
    return 0;
  }

  const production = rows.filter((r) => r.lifecycle === "production").map((r) => r.stack);
  const editOptions = { ...(options.release !== undefined ? { release: options.release } : {}), activate: options.activate, date: io.now(), root };

  if (options.mode === "dry-run") return dryRun(rows, options, io, editOptions, invalid.length > 0);

  const refused: string[] = [];
  if (options.edit && production.length) {
    for (const stack of production) {
      try {
        const entry = addAppServer(stack, editOptions);
        io.err(`${stack}: added appserver ${entry.id} (${entry.release}, settings of ${entry.copiedFrom})${entry.activated ? ", activated" : ", not activated"} in ${path.relative(process.cwd(), entry.file) || entry.file}\n`);
      } catch (error) {
        if (!(error instanceof NewAppServerError)) throw error;
        refused.push(stack);
        io.err(`${error.message}\n`);
      }
    }
    io.err(`commit the changed stack files (git add Pulumi.*.yaml && git commit): the change is reviewed and kept like any other\n`);
  }
  if (options.mode === "edit-only") return refused.length || invalid.length ? 1 : 0;

  const toRun = stacks.filter((s) => !refused.includes(s));
  if (toRun.length === 0) return 1;
  const stamp = io.now().toISOString().replace(/[:.]/g, "-");
  const logDir = path.resolve(options.logDir ?? path.join(root, "fleet-logs", stamp));
  mkdirSync(logDir, { recursive: true });
  const logFiles = Object.fromEntries(toRun.map((s) => [s, path.join(logDir, `${s}.log`)]));
  const logFor = (stack: string) => (line: string) => appendFileSync(logFiles[stack], `${new Date().toISOString()} ${line}\n`);

  const updater = await io.updater();
  const clock = io.clock;
  const run = new FleetRun(toRun, { batchSize: options.batchSize, batchIntervalMs: options.batchIntervalSeconds * 1000, maxFailures: options.maxFailures }, updater, {
    ...(clock ? { clock } : {}),
    logFor,
    onEvent: (event) => io.err(eventLine(event, run) + "\n"),
  });
  io.onRun?.(run);
  const startedAt = (clock ?? { now: Date.now }).now();
  const ticker = io.progressEveryMs
    ? setInterval(() => {
        const { records, running } = run.snapshot();
        io.err(`progress: ${progressLine(records, running, startedAt, Date.now(), options.batchSize)}\n`);
      }, io.progressEveryMs)
    : undefined;
  let outcome;
  try {
    outcome = await run.done;
  } finally {
    if (ticker) clearInterval(ticker);
  }
  const report = buildReport(outcome, logFiles, { extra: retryExtras(options, logDir) });
  const text = reportText(report);
  writeFileSync(path.join(logDir, "report.json"), JSON.stringify(report, null, 2) + "\n");
  writeFileSync(path.join(logDir, "report.txt"), text);
  io.out(text);
  io.err(`report: ${path.join(logDir, "report.json")} and report.txt; one log per stack in ${logDir}\n`);
  return report.counts.succeeded === toRun.length && refused.length === 0 && invalid.length === 0 ? 0 : 1;

  function eventLine(event: FleetEvent, current: FleetRun): string {
    const { records, running } = current.snapshot();
    const progress = progressLine(records, running, startedAt, (clock ?? { now: Date.now }).now(), options.batchSize);
    switch (event.type) {
      case "batch-started":
        return `batch ${event.batch}: ${event.stacks.join(", ")}`;
      case "stack-started":
        return `${event.stack}: started (log: ${logFiles[event.stack]})`;
      case "stack-finished":
        return `${event.record.stack}: ${event.record.result}${event.record.message ? ` (${event.record.message.split("\n")[0]})` : ""} | ${progress}`;
      case "stopping":
        return event.reason;
    }
  }
}

/** Plan summaries, one line per stack, from the offline plan of the stack file as it would be after the edit. */
async function dryRun(
  rows: FleetRow[],
  options: RedeployOptions,
  io: RedeployIo,
  editOptions: { release?: string; activate: boolean; date: Date; root: string },
  hadInvalid: boolean,
): Promise<number> {
  const root = editOptions.root;
  const scratch = mkdtempSync(path.join(tmpdir(), "openedx-im-fleet-dry-run-"));
  const lines: string[] = [];
  let refusedCount = 0;
  try {
    copyFileSync(path.join(root, "Pulumi.yaml"), path.join(scratch, "Pulumi.yaml"));
    const change = new Map<string, string>();
    for (const row of rows) {
      const source = readFileSync(path.join(root, `Pulumi.${row.stack}.yaml`), "utf8");
      let text = source;
      if (row.lifecycle === "production" && options.edit) {
        try {
          const edited = addAppServerToText(row.stack, source, editOptions);
          text = edited.text;
          change.set(row.stack, `add appserver ${edited.entry.id} (${edited.entry.release}, settings of ${edited.entry.copiedFrom})${edited.entry.activated ? " and activate it" : ", not activated"}`);
        } catch (error) {
          if (!(error instanceof NewAppServerError)) throw error;
          change.set(row.stack, `refused: ${error.message}`);
          refusedCount += 1;
        }
      } else change.set(row.stack, row.lifecycle === "production" ? "pulumi up as the file is (--no-edit)" : "pulumi up as the file is (a sandbox rebuilds when what it is built from changed)");
      writeFileSync(path.join(scratch, `Pulumi.${row.stack}.yaml`), text);
    }
    const outcomes = await renderInProcess(rows.map((r) => r.stack), scratch);
    const batches = batchesOf(rows.map((r) => r.stack), options.batchSize);
    lines.push(`would redeploy ${rows.length} stack(s) in ${batches.length} batch(es) of up to ${options.batchSize}, stopping after ${options.maxFailures} failure(s):`);
    batches.forEach((batch, i) => {
      lines.push(`batch ${i + 1}:`);
      for (const stack of batch) lines.push(`  ${stack}: ${change.get(stack)}`, `    plan: ${planSummary(outcomes[stack])}`);
    });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  io.out(lines.join("\n") + "\n");
  return refusedCount || hadInvalid ? 1 : 0;
}

async function renderInProcess(stacks: string[], root: string): Promise<Record<string, RenderOutcome>> {
  const [{ renderMany }, { renderStack }] = await Promise.all([import("../stacks/plan/render-many.js"), import("../stacks/plan/stack.js")]);
  return renderMany(stacks, { renderStack, root });
}

export function planSummary(outcome: RenderOutcome | undefined): string {
  if (outcome === undefined) return "not rendered";
  if ("problems" in outcome) return `invalid: ${outcome.problems.join("; ")}`;
  if ("error" in outcome) return `failed to render: ${outcome.error.split("\n")[0]}`;
  const plan = outcome as Plan;
  const servers = plan.resources.filter((r) => r.type === "openstack:compute/instance:Instance").map((r) => r.name);
  const retained = plan.resources.filter((r) => r.retainOnDelete).length;
  const protectedCount = plan.resources.filter((r) => r.protect).length;
  const active = (plan.outputs as { activeAppServer?: unknown }).activeAppServer;
  return (
    `${plan.resources.length} resources; VMs ${servers.join(" ") || "none"}; active ${typeof active === "string" ? active : "none"}; ` +
    `${retained} retained, ${protectedCount} protected`
  );
}
