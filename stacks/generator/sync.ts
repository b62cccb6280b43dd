import { promises as fs } from "node:fs";
import * as path from "node:path";
import { CACHE_FILE_NAME, ConditionalCache } from "./conditional-cache";
import {
  fetchOpenPullRequests,
  fetchOrganizationMembers,
  fetchPullRequest,
  fetchRecentlyClosedPullRequests,
} from "./github-api";
import { createGitHubClient, type RequestStats } from "./github-client";
import { describeGitHubFailure } from "./github-errors";
import { type GeneratorOptions, REPOSITORY_ROOT } from "./options";
import type { ArchiveEntry, ErrorEntry, RequestSummary, StackEntry, SyncReport } from "./report";
import {
  listStackFiles,
  readIfExists,
  renderStackFile,
  stackConfigValues,
  stackFileName,
  stackName,
  writeFileAtomically,
} from "./stack-file";
import { sandboxMysqlServer, withMysqlServer } from "./placement";
import { mapPullRequest, type MappingContext } from "./stack-mapping";
import { readProjectConfig, stackConfigProblems } from "./stack-validation";
import type { PullRequestSummary, SandboxInstanceConfig } from "./types";
import { defaultsForFork, loadWatchedForks } from "./watched-forks";

/**
 * One sync: read everything from GitHub first, then decide per pull request,
 * then write. A GitHub failure therefore ends the run before any file changes;
 * a bad pull request only ever affects its own stack.
 */

export type SyncResult = { ok: true; report: SyncReport } | { ok: false; message: string; requests: RequestSummary };

export interface SyncIo {
  warn: (line: string) => void;
}

const DAY_MS = 24 * 60 * 60 * 1000;

function summarize(stats: RequestStats): RequestSummary {
  return { total: stats.total, notModified: stats.notModified, counted: stats.total - stats.notModified };
}

interface GitHubSnapshot {
  members: Set<string>;
  open: PullRequestSummary[];
  /** For stack files whose pull request is not in the open list: what GitHub says about it (undefined = not found). */
  notListedOpen: Map<number, PullRequestSummary | undefined>;
}

export async function syncStacks(options: GeneratorOptions, io: SyncIo): Promise<SyncResult> {
  const forkName = `${options.fork.owner}/${options.fork.repo}`;
  const defaults = defaultsForFork(loadWatchedForks(options.watchedForksFile), forkName);
  const projectConfig = readProjectConfig(REPOSITORY_ROOT);
  const cachePath = path.join(options.outDir, CACHE_FILE_NAME);
  const cache = await ConditionalCache.load(cachePath, io.warn);
  const existingFiles = await listStackFilesIfAny(options.outDir);
  const { client, stats } = createGitHubClient({
    token: options.token,
    baseUrl: options.apiBaseUrl,
    warn: io.warn,
    ...options.client,
  });
  const graceCutoff = new Date(options.now.getTime() - options.gracePeriodDays * DAY_MS);

  let snapshot: GitHubSnapshot;
  try {
    const [members, open] = await Promise.all([
      fetchOrganizationMembers(client, cache, options.apiBaseUrl, options.organization),
      fetchOpenPullRequests(client, cache, options.apiBaseUrl, options.fork),
    ]);
    const openNumbers = new Set(open.map((pr) => pr.number));
    const notListed = new Set([...existingFiles.keys()].filter((number) => !openNumbers.has(number)));
    const notListedOpen = new Map<number, PullRequestSummary | undefined>();
    if (notListed.size > 0) {
      const closed = await fetchRecentlyClosedPullRequests(client, cache, options.apiBaseUrl, options.fork, notListed, graceCutoff);
      for (const pr of closed) if (notListed.has(pr.number)) notListedOpen.set(pr.number, pr);
      for (const number of notListed)
        if (!notListedOpen.has(number))
          notListedOpen.set(number, await fetchPullRequest(client, cache, options.apiBaseUrl, options.fork, number));
    }
    snapshot = { members, open, notListedOpen };
  } catch (error) {
    return { ok: false, message: describeGitHubFailure(error, options), requests: summarize(stats) };
  }

  const report: SyncReport = {
    fork: forkName,
    organization: options.organization,
    outDir: options.outDir,
    dryRun: options.dryRun,
    created: [],
    updated: [],
    unchanged: [],
    archived: [],
    skipped: [],
    errors: [],
    destroy: [],
    requests: summarize(stats),
  };

  const openPullRequests = [...snapshot.open];
  const closedPullRequests: PullRequestSummary[] = [];
  for (const [number, pr] of snapshot.notListedOpen) {
    if (pr === undefined)
      report.skipped.push({
        stack: stackName(number),
        pullRequest: number,
        reason: `not found in ${forkName}; its stack file is left as is (did WATCH_FORK change?)`,
      });
    else if (pr.state === "open") openPullRequests.push(pr);
    else closedPullRequests.push(pr);
  }

  openPullRequests.sort((a, b) => a.number - b.number);
  let madeOutDir = false;
  for (const pr of openPullRequests) {
    const stack = stackName(pr.number);
    const file = stackFileName(pr.number);
    const filePath = path.join(options.outDir, file);
    if (!snapshot.members.has(pr.author.toLowerCase())) {
      const kept = existingFiles.has(pr.number) ? "; its existing stack file is left as is" : "";
      report.skipped.push({
        stack,
        pullRequest: pr.number,
        reason: `author ${pr.author} is not a member of ${options.organization}${kept}`,
      });
      continue;
    }
    const previous = await readIfExists(filePath);
    const decided = decideStackFile(pr, { fork: forkName, baseDomain: options.baseDomain, defaults }, projectConfig, (config) =>
      // Persistent data stays where it is: the server is written into the file once and kept (placement.ts).
      withMysqlServer(config, sandboxMysqlServer(stack, previous, projectConfig)),
    );
    if (!decided.ok) {
      const kept = existingFiles.has(pr.number) ? " (existing stack file left as is)" : "";
      report.errors.push(...decided.problems.map((message): ErrorEntry => ({ stack, pullRequest: pr.number, message: message + kept })));
      continue;
    }
    const content = decided.content;
    const entry: StackEntry = { stack, pullRequest: pr.number, file };
    if (previous === content) {
      report.unchanged.push(entry);
      continue;
    }
    if (!options.dryRun) {
      if (!madeOutDir) await fs.mkdir(options.outDir, { recursive: true });
      madeOutDir = true;
      await writeFileAtomically(filePath, content);
    }
    (previous === undefined ? report.created : report.updated).push(entry);
  }

  closedPullRequests.sort((a, b) => a.number - b.number);
  for (const pr of closedPullRequests) {
    const stack = stackName(pr.number);
    const filePath = existingFiles.get(pr.number)!;
    const closedAt = pr.closedAt ? new Date(pr.closedAt) : null;
    const removeAfter = closedAt ? new Date(closedAt.getTime() + options.gracePeriodDays * DAY_MS) : null;
    const graceOver = removeAfter !== null && options.now.getTime() >= removeAfter.getTime();
    if (graceOver && !options.dryRun) await fs.rm(filePath, { force: true });
    const entry: ArchiveEntry = {
      stack,
      pullRequest: pr.number,
      file: path.basename(filePath),
      closedAt: pr.closedAt,
      removeAfter: removeAfter?.toISOString() ?? null,
      fileRemoved: graceOver,
    };
    report.archived.push(entry);
    report.destroy.push(stack);
  }

  report.skipped.sort((a, b) => a.pullRequest - b.pullRequest);
  if (!options.dryRun) {
    await fs.mkdir(options.outDir, { recursive: true });
    await cache.save(cachePath);
  }
  report.requests = summarize(stats);
  return { ok: true, report };
}

/**
 * One pull request's stack file text, or its problems. Whatever a pull request
 * holds, the outcome is its own: an exception here (a bug the pull request
 * found) is reported for it, and the other pull requests and the cache go on.
 */
function decideStackFile(
  pr: PullRequestSummary,
  context: MappingContext,
  projectConfig: Record<string, unknown>,
  place: (config: SandboxInstanceConfig) => SandboxInstanceConfig,
): { ok: true; content: string } | { ok: false; problems: string[] } {
  try {
    const outcome = mapPullRequest(pr, context);
    if (outcome.kind === "invalid") return { ok: false, problems: outcome.problems };
    const config = place(outcome.config);
    const problems = stackConfigProblems(stackConfigValues(config), projectConfig);
    if (problems.length > 0) return { ok: false, problems };
    return { ok: true, content: renderStackFile(config) };
  } catch (error) {
    const message = (error instanceof Error ? error.message : String(error)).split("\n")[0];
    return { ok: false, problems: [`could not be turned into a stack (internal error, please report it): ${message}`] };
  }
}

async function listStackFilesIfAny(directory: string): Promise<Map<number, string>> {
  try {
    return await listStackFiles(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return new Map();
    throw error;
  }
}

