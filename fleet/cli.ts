import { createInterface } from "node:readline/promises";
import { PROJECT_ROOT } from "../config/stack-file";
import type { Plan } from "../stacks/plan/render";
import { selectRows } from "./filter";
import { readInventory } from "./inventory";
import { type ListedRow, toCsv, toJson, toTable } from "./format";
import { NewAppServerError } from "./new-appserver";
import { type ListOptions, type TeardownOptions, USAGE, UsageError, parseFleetArguments } from "./options";
import type { FleetRun } from "./policy";
import { runRedeploy } from "./redeploy";
import { drift } from "./state";
import { archiveSummary, deleteRefusal, deleteSummary, summaryText } from "./teardown";

/**
 * `npm run fleet -- <list | redeploy | archive | delete> …` (docs/fleet.md).
 * Everything up to the Pulumi CLI is offline; the Automation API is loaded only when a
 * stack is really updated, read (--state), archived or deleted.
 */

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Asks a yes/no question; undefined when there is no terminal to ask on. */
  confirm?: (question: string) => Promise<boolean | undefined>;
}

export async function fleetCli(argv: readonly string[], io: CliIo): Promise<number> {
  let options;
  try {
    options = parseFleetArguments(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`${error.message}\n${USAGE}\n`);
      return 2;
    }
    throw error;
  }
  try {
    switch (options.command) {
      case "list":
        return await list(options, io);
      case "redeploy":
        return await runRedeploy(options, {
          out: io.out,
          err: io.err,
          now: () => new Date(),
          progressEveryMs: 60_000,
          updater: async () => new (await import("./automation.js")).AutomationUpdater(options.root ?? PROJECT_ROOT),
          onRun: interruptible,
        });
      case "archive":
      case "delete":
        return await teardown(options, io);
    }
  } catch (error) {
    if (error instanceof NewAppServerError) {
      io.err(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

async function list(options: ListOptions, io: CliIo): Promise<number> {
  const rows: ListedRow[] = selectRows(readInventory(options.root), options.filter, options.exclude);
  if (options.state) {
    const { AutomationUpdater } = await import("./automation.js");
    const reader = new AutomationUpdater(options.root ?? PROJECT_ROOT);
    for (const row of rows) {
      row.state = await reader.read(row.stack);
      row.drift = drift(row, row.state);
    }
  }
  io.out(options.format === "json" ? toJson(rows) : options.format === "csv" ? toCsv(rows, options.state) : toTable(rows, options.state));
  return 0;
}

/** Ctrl-C: first drains, second cancels the running stacks, a third leaves at once. */
function interruptible(run: FleetRun): void {
  let presses = 0;
  const onSignal = () => {
    presses += 1;
    if (presses === 1) {
      process.stderr.write("\nCtrl-C: no new stack starts; the running ones finish. Ctrl-C again cancels them (cleanly, no lock left).\n");
      run.drain();
    } else if (presses === 2) {
      process.stderr.write("\nCtrl-C: cancelling the running stacks; waiting for each to stop and release its lock. Ctrl-C again leaves at once.\n");
      run.cancel();
    } else {
      const { running } = run.snapshot();
      process.stderr.write(
        `\nleaving now; these stacks may still be locked or have pending operations: ${running.join(", ") || "none"}\n` +
          running.map((s) => `  npx pulumi cancel --yes -s ${s} && npx pulumi refresh -s ${s}\n`).join(""),
      );
      process.exit(130);
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  void run.done.finally(() => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  });
}

async function teardown(options: TeardownOptions, io: CliIo): Promise<number> {
  const { renderStack } = await import("../stacks/plan/stack.js");
  let plan: Plan;
  try {
    plan = await renderStack(options.stack, options.root);
  } catch (error) {
    const problems = (error as { problems?: string[] }).problems;
    io.err(`${options.stack}: cannot render its offline plan: ${problems ? problems.join("; ") : (error as Error).message}\n`);
    return 1;
  }
  if (options.command === "delete") {
    const refusal = deleteRefusal(plan);
    if (refusal) {
      io.err(`${refusal}\n`);
      return 1;
    }
  }
  const summary = options.command === "archive" ? archiveSummary(plan) : deleteSummary(plan);
  io.out(summaryText(options.stack, options.command, summary));
  const lifecycle = readInventory(options.root).find((r) => r.stack === options.stack)?.lifecycle;
  if (options.command === "delete" && lifecycle === "production")
    io.out(`delete runs pulumi up first (the state must carry the lifted retention), then pulumi destroy --remove\n`);
  if (!options.yes) {
    const question = `${options.command} ${options.stack}${options.command === "delete" ? " and destroy its data" : ""}? [y/N] `;
    const answer = io.confirm ? await io.confirm(question) : undefined;
    if (answer === undefined) {
      io.err(`no terminal to confirm on; add --yes to ${options.command} without a question\n`);
      return 1;
    }
    if (!answer) {
      io.err("nothing done\n");
      return 1;
    }
  }
  const { AutomationUpdater } = await import("./automation.js");
  const adapter = new AutomationUpdater(options.root ?? PROJECT_ROOT);
  const log = (line: string) => io.err(`${line}\n`);
  if (options.command === "archive") await adapter.archive(options.stack, log);
  else await adapter.delete(options.stack, log);
  io.out(`${options.command} of ${options.stack}: done\n`);
  return 0;
}

async function confirmOnTerminal(question: string): Promise<boolean | undefined> {
  if (!process.stdin.isTTY) return undefined;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

if (require.main === module) {
  const write = (stream: NodeJS.WriteStream) => (text: string) => void stream.write(text);
  fleetCli(process.argv.slice(2), { out: write(process.stdout), err: write(process.stderr), confirm: confirmOnTerminal })
    .then((code) => {
      // Exit once stdout is flushed: a pipe (| head, > file) gets everything.
      process.stdout.write("", () => process.exit(code));
    })
    .catch((error: unknown) => {
      process.stderr.write(`fleet failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    });
}
