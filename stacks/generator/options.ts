import * as path from "node:path";
import { DEFAULT_CLIENT_TUNING, type GitHubClientOptions } from "./github-client";
import type { Fork } from "./github-api";

/** Where Pulumi.yaml and the stack files live. */
export const REPOSITORY_ROOT = path.resolve(__dirname, "..", "..");
export const DEFAULT_WATCHED_FORKS_FILE = path.join(REPOSITORY_ROOT, "config", "watched-forks.yaml");
export const DEFAULT_GRACE_DAYS = 7;

export interface GeneratorOptions {
  token: string;
  apiBaseUrl: string;
  fork: Fork;
  organization: string;
  baseDomain: string;
  outDir: string;
  dryRun: boolean;
  gracePeriodDays: number;
  watchedForksFile: string;
  /** Injected so tests can move the clock for the grace period. */
  now: Date;
  client: Omit<GitHubClientOptions, "token" | "baseUrl" | "warn">;
}

export interface CliArguments {
  outDir?: string;
  dryRun: boolean;
  json: boolean;
  help: boolean;
  gracePeriodDays?: number;
}

export const USAGE = `Usage: npm run generate-stacks -- [--out DIR] [--dry-run] [--json] [--grace-days N]

Keeps one sandbox stack file, Pulumi.pr-<N>.yaml, per qualifying open pull request.
  --out DIR        where stack files are written (default: the repository root)
  --dry-run        report what would change; write and remove nothing
  --json           print the summary as one JSON object on stdout
  --grace-days N   days a closed pull request keeps its stack file (default: ${DEFAULT_GRACE_DAYS},
                   or SANDBOX_CLOSED_GRACE_DAYS)
Environment: GITHUB_ACCESS_TOKEN, WATCH_ORGANIZATION (required), WATCH_FORK (default
openedx/edx-platform), SANDBOX_BASE_DOMAIN (required), GITHUB_API_URL (optional).`;

/** Bad invocation or environment: the message says which input and how to fix it. */
export class UsageError extends Error {}

function parseGraceDays(value: string, source: string): number {
  if (!/^\d+(\.\d+)?$/.test(value)) throw new UsageError(`${source}: "${value}" is not a number of days (e.g. 7)`);
  return Number(value);
}

export function parseArguments(argv: readonly string[]): CliArguments {
  const parsed: CliArguments = { dryRun: false, json: false, help: false };
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index];
    const [flag, inlineValue] = argument.startsWith("--") && argument.includes("=") ? argument.split(/=(.*)/s, 2) : [argument, undefined];
    const takeValue = (): string => {
      const value = inlineValue ?? argv[++index];
      if (value === undefined || value === "") throw new UsageError(`${flag} needs a value\n${USAGE}`);
      return value;
    };
    switch (flag) {
      case "--out":
        parsed.outDir = takeValue();
        break;
      case "--dry-run":
        parsed.dryRun = true;
        break;
      case "--json":
        parsed.json = true;
        break;
      case "--grace-days":
        parsed.gracePeriodDays = parseGraceDays(takeValue(), "--grace-days");
        break;
      case "--help":
      case "-h":
        parsed.help = true;
        break;
      default:
        throw new UsageError(`unknown argument "${argument}"\n${USAGE}`);
    }
  }
  return parsed;
}

const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;

/** All environment problems at once, so an operator fixes them in one go. */
export function readOptions(
  args: CliArguments,
  env: NodeJS.ProcessEnv,
  overrides: Partial<Pick<GeneratorOptions, "now" | "watchedForksFile" | "client">> = {},
): GeneratorOptions {
  const problems: string[] = [];
  const token = env.GITHUB_ACCESS_TOKEN?.trim() ?? "";
  if (!token) problems.push("GITHUB_ACCESS_TOKEN is not set: a token with the read:org scope (the fork is read too)");
  const organization = env.WATCH_ORGANIZATION?.trim() ?? "";
  if (!organization) problems.push("WATCH_ORGANIZATION is not set: only pull requests by its members get sandboxes");
  else if (!/^[A-Za-z0-9-]+$/.test(organization)) problems.push(`WATCH_ORGANIZATION "${organization}" is not a GitHub organization name`);
  const forkName = env.WATCH_FORK?.trim() || "openedx/edx-platform";
  const forkMatch = /^([A-Za-z0-9-]+)\/([A-Za-z0-9_.-]+)$/.exec(forkName);
  if (!forkMatch) problems.push(`WATCH_FORK "${forkName}" must be owner/repo, e.g. openedx/edx-platform`);
  const baseDomain = env.SANDBOX_BASE_DOMAIN?.trim().toLowerCase() ?? "";
  if (!baseDomain) problems.push("SANDBOX_BASE_DOMAIN is not set: sandboxes live at pr<N>.<SANDBOX_BASE_DOMAIN>");
  else if (!DNS_NAME.test(baseDomain)) problems.push(`SANDBOX_BASE_DOMAIN "${baseDomain}" is not a domain name`);
  const apiBaseUrl = (env.GITHUB_API_URL?.trim() || "https://api.github.com").replace(/\/+$/, "");
  if (!/^https?:\/\/[^\s/]+/.test(apiBaseUrl)) problems.push(`GITHUB_API_URL "${apiBaseUrl}" is not an http(s) URL`);

  let gracePeriodDays = args.gracePeriodDays;
  if (gracePeriodDays === undefined && env.SANDBOX_CLOSED_GRACE_DAYS) {
    try {
      gracePeriodDays = parseGraceDays(env.SANDBOX_CLOSED_GRACE_DAYS.trim(), "SANDBOX_CLOSED_GRACE_DAYS");
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  if (problems.length > 0) throw new UsageError(problems.join("\n"));

  return {
    token,
    apiBaseUrl,
    fork: { owner: forkMatch![1], repo: forkMatch![2] },
    organization,
    baseDomain,
    outDir: path.resolve(args.outDir ?? REPOSITORY_ROOT),
    dryRun: args.dryRun,
    gracePeriodDays: gracePeriodDays ?? DEFAULT_GRACE_DAYS,
    watchedForksFile: overrides.watchedForksFile ?? DEFAULT_WATCHED_FORKS_FILE,
    now: overrides.now ?? new Date(),
    client: overrides.client ?? { ...DEFAULT_CLIENT_TUNING },
  };
}
