import { parseDocument } from "yaml";
import type { Databases } from "./types";

/**
 * Reading what a pull request's author wrote in its description. The body is
 * untrusted text: everything here is bounded (size, aliases) and returns
 * problems as one-line strings instead of throwing.
 */

/** Larger Settings blocks are refused before parsing; real ones are a few hundred bytes. */
export const MAX_SETTINGS_BYTES = 64 * 1024;
/** yaml's own guard against "billion laughs" alias expansion. */
const MAX_ALIAS_COUNT = 50;

export type SettingsBlock = { found: false } | { found: true; text: string } | { found: true; problem: string };

const SETTINGS_HEADING = /^\s*(\*\*|__)Settings\1\s*$/;
const OPENING_FENCE = /^\s*```[A-Za-z0-9_-]*\s*$/;
const CLOSING_FENCE = /^\s*```\s*$/;

/**
 * The old instance manager's convention: a line `**Settings**`, then (after
 * optional blank lines) a fenced block, ` ```yaml ` or bare. Only the first
 * Settings heading counts. A heading not followed by a fence is ordinary prose,
 * as before; a fence that never closes is a problem, since the author clearly
 * meant settings.
 */
export function extractSettingsBlock(body: string): SettingsBlock {
  const lines = body.split(/\r?\n|\r/);
  const heading = lines.findIndex((line) => SETTINGS_HEADING.test(line));
  if (heading < 0) return { found: false };
  let start = heading + 1;
  while (start < lines.length && lines[start].trim() === "") start++;
  if (start >= lines.length || !OPENING_FENCE.test(lines[start])) return { found: false };
  const end = lines.findIndex((line, index) => index > start && CLOSING_FENCE.test(line));
  if (end < 0) return { found: true, problem: "Settings: the ``` block after **Settings** is never closed" };
  return { found: true, text: lines.slice(start + 1, end).join("\n") };
}

export type ParsedSettings = { ok: true; settings: Record<string, unknown> } | { ok: false; problem: string };

function firstLine(message: string): string {
  return message.split("\n")[0].trim().replace(/:$/, "");
}

/** YAML 1.2 core schema (no custom tags, no merge keys), unique keys, bounded aliases; must be a mapping. Keys stay own keys, `__proto__` included. */
export function parseSettingsYaml(text: string): ParsedSettings {
  if (Buffer.byteLength(text, "utf8") > MAX_SETTINGS_BYTES)
    return { ok: false, problem: `Settings: block is larger than ${MAX_SETTINGS_BYTES} bytes` };
  const document = parseDocument(text, { version: "1.2", schema: "core", uniqueKeys: true, prettyErrors: true });
  if (document.errors.length > 0)
    return { ok: false, problem: `Settings: invalid YAML: ${firstLine(document.errors[0].message)}` };
  // An unknown tag (!!python/object, !ruby) is only a warning to the parser, which then reads the
  // value as a plain string: refuse it, so nobody believes a tag did something.
  if (document.warnings.length > 0)
    return { ok: false, problem: `Settings: YAML refused: ${firstLine(document.warnings[0].message)}` };
  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    // yaml throws here for excessive aliases ("resource exhaustion") and similar.
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, problem: `Settings: YAML rejected: ${firstLine(message)}` };
  }
  if (value === null || value === undefined) return { ok: true, settings: {} };
  if (typeof value !== "object" || Array.isArray(value) || value instanceof Map || value instanceof Set) {
    const kind = Array.isArray(value) ? "a list" : typeof value === "object" ? "not a plain mapping" : `a ${typeof value}`;
    return { ok: false, problem: `Settings: must be a mapping of variable names to values, got ${kind}` };
  }
  return { ok: true, settings: value as Record<string, unknown> };
}

export type MarkerResult = { ok: true; databases: Databases | undefined } | { ok: false; problem: string };

const MARKERS: ReadonlyArray<[string, Databases]> = [
  ["(ephemeral databases)", "ephemeral"],
  ["(persistent databases)", "persistent"],
];

/**
 * `(ephemeral databases)` / `(persistent databases)` count only on a line that
 * names the sandbox's own domain, so a marker quoted elsewhere in the text (or
 * meant for another sandbox) does not flip this one's data.
 */
export function findDatabasesMarker(body: string, sandboxDomain: string): MarkerResult {
  const domain = sandboxDomain.toLowerCase();
  const chosen = new Set<Databases>();
  for (const line of body.split(/\r?\n|\r/)) {
    const lower = line.toLowerCase();
    if (!lower.includes(domain)) continue;
    for (const [marker, databases] of MARKERS) if (lower.includes(marker)) chosen.add(databases);
  }
  if (chosen.size > 1)
    return {
      ok: false,
      problem: `databases: both (ephemeral databases) and (persistent databases) appear next to ${sandboxDomain}; keep one`,
    };
  const [databases] = [...chosen];
  return { ok: true, databases };
}
