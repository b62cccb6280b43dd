import { z } from "zod";
import { type ConditionalCache, getAllPagesConditionally, getPageConditionally } from "./conditional-cache";
import type { GitHubClient } from "./github-client";
import type { PullRequestSummary } from "./types";

/**
 * The three reads a sync needs, each a list endpoint at 100 per page so the
 * cost grows with pages, not pull requests: the organization's members, the
 * fork's open pull requests (which carry body, head SHA and clone URL, so no
 * per-PR request), and recently closed ones for archiving.
 */

export const PAGE_SIZE = 100;

const pullSchema = z.object({
  number: z.number().int().positive(),
  state: z.enum(["open", "closed"]),
  title: z.string(),
  body: z.string().nullable().optional(),
  user: z.object({ login: z.string() }).nullable(),
  head: z.object({
    ref: z.string(),
    sha: z.string(),
    repo: z.object({ full_name: z.string(), clone_url: z.string() }).nullable(),
  }),
  base: z.object({ ref: z.string() }),
  closed_at: z.string().nullable().optional(),
  updated_at: z.string(),
});

const memberSchema = z.object({ login: z.string() });

export class UnexpectedResponseError extends Error {}

function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  return `${issue.path.join(".")}: ${issue.message}`;
}

export function toPullRequestSummary(raw: unknown): PullRequestSummary {
  const parsed = pullSchema.safeParse(raw);
  if (!parsed.success) throw new UnexpectedResponseError(`GitHub returned a pull request of unexpected shape (${describe(parsed.error)})`);
  const pr = parsed.data;
  return {
    number: pr.number,
    state: pr.state,
    title: pr.title,
    author: pr.user?.login ?? "ghost",
    body: pr.body ?? "",
    headRepository: pr.head.repo?.full_name ?? null,
    headCloneUrl: pr.head.repo?.clone_url ?? null,
    headRef: pr.head.ref,
    headSha: pr.head.sha,
    baseRef: pr.base.ref,
    closedAt: pr.closed_at ?? null,
    updatedAt: pr.updated_at,
  };
}

function toLogin(raw: unknown): string {
  const parsed = memberSchema.safeParse(raw);
  if (!parsed.success) throw new UnexpectedResponseError(`GitHub returned a member of unexpected shape (${describe(parsed.error)})`);
  return parsed.data.login;
}

function apiUrl(baseUrl: string, path: string, query: Record<string, string | number>): string {
  const url = new URL(baseUrl.replace(/\/+$/, "") + path);
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, String(value));
  return url.toString();
}

export interface Fork {
  owner: string;
  repo: string;
}

/** Lower-cased logins: GitHub logins compare case-insensitively. */
export async function fetchOrganizationMembers(
  client: GitHubClient,
  cache: ConditionalCache,
  baseUrl: string,
  organization: string,
): Promise<Set<string>> {
  const url = apiUrl(baseUrl, `/orgs/${encodeURIComponent(organization)}/members`, { per_page: PAGE_SIZE });
  const logins = await getAllPagesConditionally(client, cache, url, toLogin);
  return new Set(logins.map((login) => login.toLowerCase()));
}

/** Oldest first, so a new pull request changes only the last page and earlier pages stay 304. */
export async function fetchOpenPullRequests(
  client: GitHubClient,
  cache: ConditionalCache,
  baseUrl: string,
  fork: Fork,
): Promise<PullRequestSummary[]> {
  const url = apiUrl(baseUrl, `/repos/${encodeURIComponent(fork.owner)}/${encodeURIComponent(fork.repo)}/pulls`, {
    state: "open",
    sort: "created",
    direction: "asc",
    per_page: PAGE_SIZE,
  });
  return getAllPagesConditionally(client, cache, url, toPullRequestSummary);
}

/**
 * Closed pull requests, most recently updated first, until every wanted number
 * is found or the pages reach `updatedBefore` (a PR closed earlier cannot have
 * been updated later, so anything not found by then was closed before it).
 */
export async function fetchRecentlyClosedPullRequests(
  client: GitHubClient,
  cache: ConditionalCache,
  baseUrl: string,
  fork: Fork,
  wanted: ReadonlySet<number>,
  updatedBefore: Date,
): Promise<PullRequestSummary[]> {
  const url = apiUrl(baseUrl, `/repos/${encodeURIComponent(fork.owner)}/${encodeURIComponent(fork.repo)}/pulls`, {
    state: "closed",
    sort: "updated",
    direction: "desc",
    per_page: PAGE_SIZE,
  });
  return getAllPagesConditionally(client, cache, url, toPullRequestSummary, (soFar) => {
    const found = soFar.filter((pr) => wanted.has(pr.number)).length;
    const oldest = soFar.at(-1);
    return found < wanted.size && oldest !== undefined && new Date(oldest.updatedAt) >= updatedBefore;
  });
}

/** One pull request; used only for stacks found in neither list (at most once in each such PR's life). */
export async function fetchPullRequest(
  client: GitHubClient,
  cache: ConditionalCache,
  baseUrl: string,
  fork: Fork,
  number: number,
): Promise<PullRequestSummary | undefined> {
  const url = apiUrl(baseUrl, `/repos/${encodeURIComponent(fork.owner)}/${encodeURIComponent(fork.repo)}/pulls/${number}`, {});
  try {
    const { items } = await getPageConditionally(client, cache, url, toPullRequestSummary);
    return items[0];
  } catch (error) {
    if ((error as { status?: unknown }).status === 404) return undefined;
    throw error;
  }
}
