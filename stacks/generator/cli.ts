import { type GeneratorOptions, parseArguments, readOptions, USAGE, UsageError } from "./options";
import { formatReport } from "./report";
import { syncStacks } from "./sync";
import { WatchedForksFileError } from "./watched-forks";

/**
 * Exit codes: 0 the sync ran (per-PR problems are in the report, not a
 * failure); 1 GitHub could not be read, nothing written; 2 bad invocation,
 * environment or config/watched-forks.yaml.
 */
export const EXIT_OK = 0;
export const EXIT_GITHUB_FAILED = 1;
export const EXIT_USAGE = 2;

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export async function runGenerateStacks(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  io: CliIo,
  overrides: Partial<Pick<GeneratorOptions, "now" | "watchedForksFile" | "client">> = {},
): Promise<number> {
  let options: GeneratorOptions;
  let json = false;
  try {
    const args = parseArguments(argv);
    if (args.help) {
      io.stdout(`${USAGE}\n`);
      return EXIT_OK;
    }
    json = args.json;
    options = readOptions(args, env, overrides);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`generate-stacks: ${error.message}\n`);
      return EXIT_USAGE;
    }
    throw error;
  }

  const warnings: string[] = [];
  let result;
  try {
    result = await syncStacks(options, { warn: (line) => warnings.push(line) });
  } catch (error) {
    if (error instanceof WatchedForksFileError) {
      io.stderr(`generate-stacks: ${error.message}\n`);
      return EXIT_USAGE;
    }
    throw error;
  }
  for (const line of warnings) io.stderr(`generate-stacks: warning: ${line}\n`);

  if (!result.ok) {
    io.stderr(`generate-stacks: ${result.message}\n`);
    if (json) io.stdout(`${JSON.stringify({ fatal: result.message, requests: result.requests }, null, 2)}\n`);
    return EXIT_GITHUB_FAILED;
  }
  io.stdout(json ? `${JSON.stringify(result.report, null, 2)}\n` : `${formatReport(result.report)}\n`);
  return EXIT_OK;
}
