import { UnexpectedResponseError } from "./github-api";
import type { GeneratorOptions } from "./options";

/**
 * A failed read from GitHub, as one sentence an operator can act on. The
 * token never appears: only the API URL, fork and organization do.
 */

interface RequestErrorLike {
  status?: number;
  message?: string;
  response?: { headers?: Record<string, string | undefined>; data?: unknown };
  request?: { method?: string; url?: string };
}

function asRequestError(error: unknown): RequestErrorLike {
  return typeof error === "object" && error !== null ? (error as RequestErrorLike) : { message: String(error) };
}

export function describeGitHubFailure(
  error: unknown,
  options: Pick<GeneratorOptions, "apiBaseUrl" | "fork" | "organization">,
): string {
  const failure = asRequestError(error);
  const where = failure.request?.url ? ` (${failure.request.method ?? "GET"} ${failure.request.url})` : "";
  const headers = failure.response?.headers ?? {};
  const nothingWritten = "; no stack file was written or removed";
  if (error instanceof UnexpectedResponseError) return `${error.message}${nothingWritten}`;
  if (failure.response === undefined && failure.request === undefined)
    return `unexpected failure while reading GitHub: ${failure.message ?? String(error)}${nothingWritten}`;
  if (failure.response === undefined)
    return `GitHub API unreachable at ${options.apiBaseUrl}: ${failure.message ?? "no response"}${where}; check GITHUB_API_URL and the network${nothingWritten}`;
  const status = failure.status ?? 0;
  const rateLimited =
    status === 429 || (status === 403 && (headers["x-ratelimit-remaining"] === "0" || /rate limit/i.test(failure.message ?? "")));
  if (rateLimited) {
    const reset = Number(headers["x-ratelimit-reset"]);
    const when = Number.isFinite(reset) && reset > 0 ? `; the limit resets at ${new Date(reset * 1000).toISOString()}` : "";
    const retryAfter = headers["retry-after"] ? `; GitHub asks to wait ${headers["retry-after"]}s` : "";
    return `GitHub rate limit still exceeded after retrying${where}${when}${retryAfter}; run again later${nothingWritten}`;
  }
  if (status === 401)
    return `GitHub rejected GITHUB_ACCESS_TOKEN (401 ${failure.message ?? "Bad credentials"}): set a valid token with the read:org scope${nothingWritten}`;
  if (status === 403)
    return `GitHub refused access (403 ${failure.message ?? ""})${where}: the token needs the read:org scope and its user must belong to ${options.organization}${nothingWritten}`;
  if (status === 404)
    return `GitHub answered 404${where}: check WATCH_FORK (${options.fork.owner}/${options.fork.repo}) and WATCH_ORGANIZATION (${options.organization}), and that the token can see them${nothingWritten}`;
  if (status >= 500)
    return `GitHub API failing (${status} ${failure.message ?? ""})${where} after retries; run again later${nothingWritten}`;
  return `GitHub request failed (${status} ${failure.message ?? ""})${where}${nothingWritten}`;
}
