import { promises as fs } from "node:fs";
import { z } from "zod";
import type { GitHubClient } from "./github-client";
import { writeFileAtomically } from "./stack-file";

/**
 * Conditional requests: each GET URL's ETag is kept with the (already mapped)
 * items it returned and its next-page link. A repeated request sends
 * If-None-Match; GitHub answers 304, which does not count against the rate
 * limit, and the cached items stand in for the body.
 *
 * The cache lives beside the stack files (`<out>/.generator-cache.json`): it
 * describes exactly the state those files were generated from, and cron/CI
 * keeps the out directory between runs anyway. It is not a stack file, so the
 * generator's "only Pulumi.pr-<N>.yaml" rule does not apply to it; it belongs
 * in .gitignore.
 */

export const CACHE_FILE_NAME = ".generator-cache.json";
const CACHE_VERSION = 1;

const cacheEntrySchema = z.object({ etag: z.string(), next: z.string().nullable(), items: z.array(z.unknown()) });
const cacheFileSchema = z.object({ version: z.literal(CACHE_VERSION), entries: z.record(z.string(), cacheEntrySchema) });
type CacheEntry = z.infer<typeof cacheEntrySchema>;

export class ConditionalCache {
  private readonly previous: Map<string, CacheEntry>;
  private readonly used = new Map<string, CacheEntry>();

  constructor(entries: Record<string, CacheEntry> = {}) {
    this.previous = new Map(Object.entries(entries));
  }

  /** A missing or unreadable cache only costs full requests, so it is never an error. */
  static async load(path: string, warn: (line: string) => void): Promise<ConditionalCache> {
    let text: string;
    try {
      text = await fs.readFile(path, "utf8");
    } catch {
      return new ConditionalCache();
    }
    try {
      const parsed = cacheFileSchema.safeParse(JSON.parse(text));
      if (parsed.success) return new ConditionalCache(parsed.data.entries);
    } catch {
      // fall through
    }
    warn(`${path}: unreadable request cache, ignored (this run makes full requests)`);
    return new ConditionalCache();
  }

  lookup(url: string): CacheEntry | undefined {
    return this.previous.get(url);
  }

  remember(url: string, entry: CacheEntry): void {
    this.used.set(url, entry);
  }

  /** Only URLs requested in this run are kept, so the file does not grow with history. */
  async save(path: string): Promise<void> {
    const file = { version: CACHE_VERSION, entries: Object.fromEntries(this.used) };
    await writeFileAtomically(path, `${JSON.stringify(file)}\n`);
  }
}

function nextLink(linkHeader: string | undefined): string | null {
  if (!linkHeader) return null;
  for (const part of linkHeader.split(",")) {
    const match = /<([^>]+)>\s*;\s*rel="next"/.exec(part);
    if (match) return match[1];
  }
  return null;
}

function isNotModified(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { status?: unknown }).status === 304;
}

/** One page: its items (mapped by `mapItem`) and the next page's URL. */
export async function getPageConditionally<T>(
  client: GitHubClient,
  cache: ConditionalCache,
  url: string,
  mapItem: (raw: unknown) => T,
): Promise<{ items: T[]; next: string | null }> {
  const cached = cache.lookup(url);
  try {
    const response = await client.request({
      method: "GET",
      url,
      headers: cached ? { "if-none-match": cached.etag } : {},
    });
    const body: unknown = response.data;
    // A list endpoint answers an array; a single-object endpoint is cached as a one-item page.
    const rawItems: unknown[] = Array.isArray(body) ? body : body === null || body === undefined || body === "" ? [] : [body];
    const items = rawItems.map(mapItem);
    const next = nextLink(response.headers.link);
    const etag = response.headers.etag;
    if (etag) cache.remember(url, { etag, next, items });
    return { items, next };
  } catch (error) {
    if (cached && isNotModified(error)) {
      cache.remember(url, cached);
      return { items: cached.items as T[], next: cached.next };
    }
    throw error;
  }
}

/**
 * Every page of a list endpoint, following `Link: rel="next"`, until
 * `keepGoing` says the pages so far are enough.
 */
export async function getAllPagesConditionally<T>(
  client: GitHubClient,
  cache: ConditionalCache,
  firstUrl: string,
  mapItem: (raw: unknown) => T,
  keepGoing: (itemsSoFar: T[]) => boolean = () => true,
): Promise<T[]> {
  const all: T[] = [];
  const seen = new Set<string>();
  let url: string | null = firstUrl;
  while (url && !seen.has(url)) {
    seen.add(url);
    const page: { items: T[]; next: string | null } = await getPageConditionally(client, cache, url, mapItem);
    all.push(...page.items);
    if (!keepGoing(all)) break;
    url = page.next;
  }
  return all;
}
