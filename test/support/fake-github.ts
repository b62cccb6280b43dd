import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";

/**
 * A local HTTP server that answers like GitHub's REST API for the endpoints the
 * stack generator reads: organization members, a repository's pull requests
 * (list and single), with GitHub's pagination (`Link` headers), ETags and 304s,
 * rate-limit headers, and injectable failures (primary and secondary rate
 * limits as 403/429 with the headers Octokit's throttling plugin reads, 5xx).
 * Objects are copies of real captured API responses (test/generator/fixtures).
 */

const FIXTURES = path.join(__dirname, "..", "generator", "fixtures");
const PULL_TEMPLATE = JSON.parse(readFileSync(path.join(FIXTURES, "api_pr.json"), "utf8")) as Record<string, unknown>;
const MEMBER_TEMPLATE = (JSON.parse(readFileSync(path.join(FIXTURES, "api_members.json"), "utf8")) as Record<string, unknown>[])[0];

/** The real captured pull request body: CRLF lines, non-ASCII text, Settings block with no trailing newline. */
export const REAL_PULL_REQUEST_BODY = PULL_TEMPLATE.body as string;

export interface PullRequestSpec {
  number: number;
  author: string;
  title?: string;
  body?: string | null;
  /** owner/repo of the head branch; default `<author>/edx-platform`; null = the fork was deleted. */
  headRepository?: string | null;
  branch?: string;
  sha?: string;
  state?: "open" | "closed";
  closedAt?: string | null;
  createdAt?: string;
  updatedAt?: string;
}

type Json = Record<string, unknown>;

function userObject(login: string, id: number): Json {
  const user = structuredClone(MEMBER_TEMPLATE);
  for (const [key, value] of Object.entries(user))
    if (typeof value === "string") user[key] = value.replaceAll(String(MEMBER_TEMPLATE.login), login);
  return { ...user, login, id };
}

function stableId(text: string): number {
  return createHash("sha1").update(text).digest().readUInt32BE(0);
}

/** A pull request object shaped exactly like the captured one, with the spec's fields swapped in. */
export function makePullRequest(fork: string, spec: PullRequestSpec): Json {
  const pr = structuredClone(PULL_TEMPLATE);
  const headRepository = spec.headRepository === undefined ? `${spec.author}/edx-platform` : spec.headRepository;
  const branch = spec.branch ?? `${spec.author}/change-${spec.number}`;
  const sha = spec.sha ?? createHash("sha1").update(`${fork}#${spec.number}`).digest("hex");
  const created = spec.createdAt ?? new Date(Date.UTC(2025, 0, 1) + spec.number * 60_000).toISOString().replace(".000", "");
  const state = spec.state ?? "open";
  const closedAt = spec.closedAt ?? (state === "closed" ? created : null);
  const head = pr.head as Json;
  const headOwner = headRepository?.split("/")[0] ?? "ghost";
  const headRepo = structuredClone(head.repo) as Json;
  Object.assign(headRepo, {
    full_name: headRepository,
    name: headRepository?.split("/")[1],
    clone_url: `https://github.com/${headRepository}.git`,
    html_url: `https://github.com/${headRepository}`,
    owner: userObject(headOwner, stableId(headOwner)),
  });
  Object.assign(head, {
    label: `${headOwner}:${branch}`,
    ref: branch,
    sha,
    user: userObject(headOwner, stableId(headOwner)),
    repo: headRepository === null ? null : headRepo,
  });
  const base = pr.base as Json;
  (base.repo as Json).full_name = fork;
  return Object.assign(pr, {
    url: `https://api.github.com/repos/${fork}/pulls/${spec.number}`,
    html_url: `https://github.com/${fork}/pull/${spec.number}`,
    issue_url: `https://api.github.com/repos/${fork}/issues/${spec.number}`,
    id: stableId(`${fork}#${spec.number}`),
    number: spec.number,
    state,
    title: spec.title ?? `Change number ${spec.number} to the platform`,
    user: userObject(spec.author, stableId(spec.author)),
    body: spec.body === undefined ? `Description of change ${spec.number}.` : spec.body,
    created_at: created,
    updated_at: spec.updatedAt ?? closedAt ?? created,
    closed_at: closedAt,
    merged_at: null,
    merged: false,
  });
}

export type Fault =
  | { kind: "rate-limit"; status: 403 | 429; resetInSeconds: number }
  | { kind: "secondary-rate-limit"; status: 403 | 429; retryAfterSeconds: number }
  | { kind: "server-error"; status: 500 | 502 | 503 };

interface ScheduledFault {
  fault: Fault;
  remaining: number;
  pathPattern?: RegExp;
}

export interface LoggedRequest {
  method: string;
  path: string;
  status: number;
  ifNoneMatch?: string;
}

export interface FakeGitHubOptions {
  token: string;
  organization: string;
  fork: string;
}

export class FakeGitHub {
  readonly requests: LoggedRequest[] = [];
  private members: Json[] = [];
  private pulls = new Map<number, Json>();
  private faults: ScheduledFault[] = [];
  private rateRemaining = 5000;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly options: FakeGitHubOptions,
  ) {}

  static async start(options: FakeGitHubOptions): Promise<FakeGitHub> {
    const handlers: { handle?: (request: IncomingMessage, response: ServerResponse) => void } = {};
    const server = createServer((request, response) => handlers.handle!(request, response));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const fake = new FakeGitHub(server, `http://127.0.0.1:${port}`, options);
    handlers.handle = (request, response) => fake.handle(request, response);
    return fake;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve, reject) => this.server.close((error) => (error ? reject(error) : resolve())));
  }

  setMembers(logins: readonly string[]): void {
    this.members = logins.map((login) => userObject(login, stableId(login)));
  }

  /** Adds or replaces pull requests by number. */
  putPullRequests(...specs: PullRequestSpec[]): void {
    for (const spec of specs) this.pulls.set(spec.number, makePullRequest(this.options.fork, spec));
  }

  removePullRequest(number: number): void {
    this.pulls.delete(number);
  }

  /** The next `times` requests (matching `pathPattern`, if given) fail with this fault. */
  injectFault(fault: Fault, times = 1, pathPattern?: RegExp): void {
    this.faults.push({ fault, remaining: times, pathPattern });
  }

  clearLog(): void {
    this.requests.length = 0;
  }

  private send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = body === undefined ? "" : JSON.stringify(body);
    response.writeHead(status, {
      "content-type": "application/json; charset=utf-8",
      "x-ratelimit-limit": "5000",
      "x-ratelimit-remaining": String(this.rateRemaining),
      "x-ratelimit-reset": String(Math.floor(Date.now() / 1000) + 3600),
      "x-ratelimit-resource": "core",
      ...headers,
    });
    response.end(text);
  }

  private takeFault(pathname: string): Fault | undefined {
    const scheduled = this.faults.find((entry) => entry.remaining > 0 && (!entry.pathPattern || entry.pathPattern.test(pathname)));
    if (!scheduled) return undefined;
    scheduled.remaining--;
    return scheduled.fault;
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? "/", this.url);
    const ifNoneMatch = request.headers["if-none-match"];
    const log: LoggedRequest = { method: request.method ?? "GET", path: url.pathname + url.search, status: 0, ifNoneMatch };
    this.requests.push(log);
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      log.status = status;
      this.send(response, status, body, headers);
    };

    const fault = this.takeFault(url.pathname);
    if (fault?.kind === "rate-limit") {
      this.rateRemaining = 0;
      return reply(
        fault.status,
        { message: "API rate limit exceeded for user ID 1.", documentation_url: "https://docs.github.com/rest/rate-limit" },
        { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(Math.floor(Date.now() / 1000) + fault.resetInSeconds) },
      );
    }
    if (fault?.kind === "secondary-rate-limit")
      return reply(
        fault.status,
        {
          message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
          documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
        },
        { "retry-after": String(fault.retryAfterSeconds) },
      );
    if (fault?.kind === "server-error") return reply(fault.status, { message: "Server Error" });
    this.rateRemaining = Math.max(this.rateRemaining, 1);

    const authorization = request.headers.authorization ?? "";
    if (authorization !== `token ${this.options.token}` && authorization !== `bearer ${this.options.token}`)
      return reply(401, { message: "Bad credentials", documentation_url: "https://docs.github.com/rest" });
    if (request.method !== "GET") return reply(404, { message: "Not Found" });

    const route = this.route(url);
    if (route === undefined) return reply(404, { message: "Not Found", documentation_url: "https://docs.github.com/rest" });
    const text = JSON.stringify(route.body);
    const etag = `W/"${createHash("sha256").update(text).digest("hex").slice(0, 40)}"`;
    const headers: Record<string, string> = { etag, ...(route.link ? { link: route.link } : {}) };
    if (ifNoneMatch === etag) return reply(304, undefined, headers);
    this.rateRemaining--;
    reply(200, route.body, headers);
  }

  private route(url: URL): { body: unknown; link?: string } | undefined {
    const members = /^\/orgs\/([^/]+)\/members$/.exec(url.pathname);
    if (members) {
      if (decodeURIComponent(members[1]).toLowerCase() !== this.options.organization.toLowerCase()) return undefined;
      return this.paginate(url, this.members);
    }
    const [owner, repo] = this.options.fork.split("/");
    const pullsPrefix = `/repos/${owner}/${repo}/pulls`;
    if (url.pathname.toLowerCase() === pullsPrefix.toLowerCase()) {
      const state = url.searchParams.get("state") ?? "open";
      const sortField = url.searchParams.get("sort") === "updated" ? "updated_at" : "created_at";
      // GitHub's default: desc for created (or no sort), asc otherwise.
      const direction = url.searchParams.get("direction") ?? (sortField === "created_at" ? "desc" : "asc");
      const selected = [...this.pulls.values()]
        .filter((pr) => state === "all" || pr.state === state)
        .sort((a, b) => {
          const order = String(a[sortField]).localeCompare(String(b[sortField])) || Number(a.number) - Number(b.number);
          return direction === "asc" ? order : -order;
        });
      return this.paginate(url, selected);
    }
    const single = new RegExp(`^${pullsPrefix}/([0-9]+)$`, "i").exec(url.pathname);
    if (single) {
      const pr = this.pulls.get(Number(single[1]));
      return pr ? { body: pr } : undefined;
    }
    return undefined;
  }

  private paginate(url: URL, items: unknown[]): { body: unknown[]; link?: string } {
    const perPage = Math.min(Math.max(Number(url.searchParams.get("per_page") ?? 30) || 30, 1), 100);
    const page = Math.max(Number(url.searchParams.get("page") ?? 1) || 1, 1);
    const last = Math.max(Math.ceil(items.length / perPage), 1);
    const pageUrl = (n: number) => {
      const copy = new URL(url.toString());
      copy.searchParams.set("page", String(n));
      return copy.toString();
    };
    const links: string[] = [];
    if (page < last) links.push(`<${pageUrl(page + 1)}>; rel="next"`, `<${pageUrl(last)}>; rel="last"`);
    if (page > 1) links.push(`<${pageUrl(1)}>; rel="first"`, `<${pageUrl(page - 1)}>; rel="prev"`);
    return { body: items.slice((page - 1) * perPage, page * perPage), link: links.length ? links.join(", ") : undefined };
  }
}
