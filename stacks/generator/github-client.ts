import { Octokit } from "@octokit/rest";
import { retry } from "@octokit/plugin-retry";
import { throttling } from "@octokit/plugin-throttling";

/**
 * The one GitHub client: Octokit core with the retry and throttling plugins,
 * composed once. Retries, rate-limit waits and request counting are configured
 * here, not around each call.
 */

export const GitHubClient = Octokit.plugin(retry, throttling);
export type GitHubClient = InstanceType<typeof GitHubClient>;

export interface GitHubClientOptions {
  token: string;
  baseUrl: string;
  /** Retries of 5xx and network failures (the retry plugin). */
  retries: number;
  /** Backoff unit of the retry plugin: waits are unit * attempt². */
  retryUnitMs: number;
  /** How often a primary or secondary rate limit is waited out before giving up. */
  rateLimitRetries: number;
  /** A rate limit that resets later than this is not waited for. */
  maxRateLimitWaitSeconds: number;
  /** Length of the throttling plugin's "second"; 1000 outside tests. */
  rateLimitSecondMs: number;
  requestTimeoutMs: number;
  warn: (line: string) => void;
}

export const DEFAULT_CLIENT_TUNING = {
  retries: 3,
  retryUnitMs: 1000,
  rateLimitRetries: 2,
  maxRateLimitWaitSeconds: 120,
  rateLimitSecondMs: 1000,
  requestTimeoutMs: 30_000,
} satisfies Partial<GitHubClientOptions>;

/** Every HTTP request that left the process, retries included. */
export interface RequestStats {
  total: number;
  /** Answered 304 from an ETag: free against GitHub's rate limit. */
  notModified: number;
}

export function createGitHubClient(options: GitHubClientOptions): { client: GitHubClient; stats: RequestStats } {
  const stats: RequestStats = { total: 0, notModified: 0 };
  const countingFetch: typeof fetch = async (input, init) => {
    stats.total++;
    const response = await fetch(input, { ...init, signal: init?.signal ?? AbortSignal.timeout(options.requestTimeoutMs) });
    if (response.status === 304) stats.notModified++;
    return response;
  };
  const waitOrGiveUp =
    (kind: string) =>
    (retryAfter: number, request: { method: string; url: string }, _octokit: unknown, retryCount: number): boolean => {
      if (retryCount < options.rateLimitRetries && retryAfter <= options.maxRateLimitWaitSeconds) {
        options.warn(`GitHub ${kind} rate limit on ${request.method} ${request.url}; waiting ${retryAfter}s before retrying`);
        return true;
      }
      return false;
    };
  const client = new GitHubClient({
    auth: options.token,
    baseUrl: options.baseUrl,
    userAgent: "openedx-im-generate-stacks",
    request: { fetch: countingFetch },
    // 429 is left to the throttling plugin, which waits for the reset instead of retrying blindly.
    retry: {
      retries: options.retries,
      retryAfterBaseValue: options.retryUnitMs,
      doNotRetry: [400, 401, 403, 404, 410, 422, 429, 451],
    },
    throttle: {
      onRateLimit: waitOrGiveUp("primary"),
      onSecondaryRateLimit: waitOrGiveUp("secondary"),
      retryAfterBaseValue: options.rateLimitSecondMs,
    },
    log: { debug: () => {}, info: () => {}, warn: (message: string) => options.warn(message), error: () => {} },
  });
  return { client, stats };
}
