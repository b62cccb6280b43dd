import { runGenerateStacks } from "./generator/cli";

// `npm run generate-stacks -- [--out DIR] [--dry-run] [--json]`; see docs/sandboxes.md.
runGenerateStacks(process.argv.slice(2), process.env, {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`generate-stacks: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 3;
  },
);
