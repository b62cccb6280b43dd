import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { z } from "zod";
import { FORBIDDEN_KEY_RULES } from "./settings-policy";
import type { Databases } from "./types";

/**
 * config/watched-forks.yaml: per-fork defaults for generated sandboxes, the
 * successor of the old instance manager's WatchedFork rows. Precedence for
 * every field: the pull request's Settings, then this file, then the built-in
 * defaults below.
 */

export const BUILT_IN_FORK_DEFAULTS = {
  databases: "ephemeral" as Databases,
  subDomainPrefix: "pr",
};

const ansibleVariableName = /^[A-Za-z_][A-Za-z0-9_]*$/;

const extraSettingsSchema = z.record(z.string(), z.unknown()).superRefine((settings, ctx) => {
  for (const key of Object.keys(settings)) {
    if (!ansibleVariableName.test(key)) {
      ctx.addIssue({ code: "custom", path: [key], message: "is not an Ansible variable name (letters, digits, _)" });
      continue;
    }
    const rule = FORBIDDEN_KEY_RULES.find((candidate) => candidate.pattern.test(key));
    if (rule) ctx.addIssue({ code: "custom", path: [key], message: `may not be a fork default: ${rule.reason}` });
  }
});

const forkDefaultsSchema = z.strictObject({
  /** Databases for sandboxes whose pull request carries no marker. */
  databases: z.enum(["ephemeral", "persistent"], { error: "must be ephemeral or persistent" }).optional(),
  /** An Open edX release the version matrix knows, e.g. ulmo. */
  release: z.string().regex(/^[a-z][a-z0-9.-]*$/, "must be a release name such as ulmo").optional(),
  configuration: z
    .strictObject({
      repository: z.string().min(1).optional(),
      ref: z.string().min(1).optional(),
      playbook: z.string().min(1).optional(),
    })
    .optional(),
  extraSettings: extraSettingsSchema.optional(),
  /** Sandboxes are `<prefix><PR number>`; a distinct prefix keeps two forks' sandboxes apart. */
  subDomainPrefix: z
    .string()
    .regex(/^[a-z]([a-z0-9-]*[a-z0-9])?$/, "must start a DNS label: lowercase letters, digits, hyphens")
    .max(50)
    .optional(),
});

export const watchedForksFileSchema = z.strictObject({
  forks: z.record(
    z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, "fork names are owner/repo, e.g. openedx/edx-platform"),
    forkDefaultsSchema,
  ),
});

export type ForkDefaults = z.infer<typeof forkDefaultsSchema>;
export type WatchedForksFile = z.infer<typeof watchedForksFileSchema>;

export interface ResolvedForkDefaults {
  databases: Databases;
  subDomainPrefix: string;
  release?: string;
  configuration?: { repository?: string; ref?: string; playbook?: string };
  extraSettings: Record<string, unknown>;
}

export class WatchedForksFileError extends Error {}

/** Parses and validates the file's text; every problem names its key path. */
export function parseWatchedForks(text: string, source: string): WatchedForksFile {
  let raw: unknown;
  try {
    raw = parse(text, { maxAliasCount: 50, uniqueKeys: true });
  } catch (error) {
    const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw new WatchedForksFileError(`${source}: invalid YAML: ${message}`);
  }
  const result = watchedForksFileSchema.safeParse(raw ?? { forks: {} });
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `${source}: ${issue.path.join(".") || "(top)"}: ${issue.message}`);
    throw new WatchedForksFileError(lines.join("\n"));
  }
  return result.data;
}

export function loadWatchedForks(path: string): WatchedForksFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { forks: {} };
    throw error;
  }
  return parseWatchedForks(text, path);
}

/** The defaults for one fork; fork names compare case-insensitively, as GitHub's do. */
export function defaultsForFork(file: WatchedForksFile, fork: string): ResolvedForkDefaults {
  const entry = Object.entries(file.forks).find(([name]) => name.toLowerCase() === fork.toLowerCase())?.[1] ?? {};
  return {
    databases: entry.databases ?? BUILT_IN_FORK_DEFAULTS.databases,
    subDomainPrefix: entry.subDomainPrefix ?? BUILT_IN_FORK_DEFAULTS.subDomainPrefix,
    release: entry.release,
    configuration: entry.configuration,
    extraSettings: entry.extraSettings ?? {},
  };
}
