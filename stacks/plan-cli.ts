import { StackFileError } from "../config/stack-file";
import { ConfigProblems } from "./load-config";
import { planToJson } from "./plan/render";
import { renderStack } from "./plan/stack";
import { planToTree } from "./plan/tree";

const USAGE = `usage: npm run plan -- <stack> [--json] [--root DIR]
       npm run plan -- diff <base-ref> [<head-ref>] [--stacks a,b] [--json]`;

async function main(argv: string[]): Promise<number> {
  if (argv[0] === "diff") {
    const { diffCli } = await import("./plan/diff-cli.js");
    return diffCli(argv.slice(1));
  }
  const json = argv.includes("--json");
  const rootAt = argv.indexOf("--root");
  const root = rootAt >= 0 ? argv[rootAt + 1] : undefined;
  const rest = rootAt >= 0 ? argv.filter((_, i) => i !== rootAt && i !== rootAt + 1) : argv;
  const positional = rest.filter((a) => !a.startsWith("--"));
  const unknown = rest.filter((a) => a.startsWith("--") && a !== "--json");
  if (positional.length !== 1 || unknown.length > 0 || (rootAt >= 0 && !root)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const plan = await renderStack(positional[0], root);
  await writeOut(json ? planToJson(plan) : planToTree(plan));
  return 0;
}

/** Resolves once the text is handed to the OS: exiting earlier truncates output on a pipe. */
function writeOut(text: string): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(text, (error) => (error ? reject(error) : resolve())));
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigProblems) {
      for (const problem of error.problems) process.stderr.write(`${problem}\n`);
      process.stderr.write(`${error.problems.length} configuration problem(s)\n`);
    } else if (error instanceof StackFileError) {
      process.stderr.write(`${error.message}\n`);
    } else {
      process.stderr.write(`plan failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    }
    process.exit(1);
  },
);
