import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { z } from "zod";
import { versionMatrix } from "../../config/matrix/data";
import type { VersionMatrix } from "../../config/matrix/types";
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
  /**
   * Build each pull request with the release its base branch names (master → master,
   * open-release/redwood.master → redwood); `release` applies when the branch names none.
   */
  releaseFromBaseBranch: z.boolean().optional(),
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

const repositoryUrl = z
  .string()
  .regex(/^https:\/\/[A-Za-z0-9.-]+(:[0-9]+)?\/[A-Za-z0-9._/-]+$/, "must be an https:// repository URL");
const playbookName = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_./-]*\.ya?ml$/, "must be a playbook file name such as openedx_native.yml")
  .refine((name) => !name.split("/").includes(".."), "must stay inside the configuration repository (no ..)");

/**
 * What may run on the deploy machine: the configuration repositories and
 * playbooks a sandbox may be built with, besides each release's own
 * repository and playbook in the version matrix (always allowed). A pull
 * request may pick one of these and a branch or tag in it, nothing else.
 */
const allowedConfigurationSchema = z.strictObject({
  repositories: z.array(repositoryUrl).optional(),
  playbooks: z.array(playbookName).optional(),
});

export const watchedForksFileSchema = z.strictObject({
  allowedConfiguration: allowedConfigurationSchema.optional(),
  forks: z.record(
    z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, "fork names are owner/repo, e.g. openedx/edx-platform"),
    forkDefaultsSchema,
  ),
});

export type ForkDefaults = z.infer<typeof forkDefaultsSchema>;

/** The configuration repositories and playbooks sandboxes may use, resolved against the version matrix. */
export interface ConfigurationAllowlist {
  repositories: string[];
  playbooks: string[];
}
export type WatchedForksFile = z.infer<typeof watchedForksFileSchema>;

export interface ResolvedForkDefaults {
  databases: Databases;
  subDomainPrefix: string;
  release?: string;
  releaseFromBaseBranch: boolean;
  configuration?: { repository?: string; ref?: string; playbook?: string };
  extraSettings: Record<string, unknown>;
  allowlist: ConfigurationAllowlist;
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
  const allowlist = configurationAllowlist(result.data);
  const outside: string[] = [];
  for (const [fork, entry] of Object.entries(result.data.forks)) {
    const repository = entry.configuration?.repository;
    if (repository !== undefined && !isAllowedRepository(allowlist, repository))
      outside.push(`${source}: forks.${fork}.configuration.repository: ${repository} is not in allowedConfiguration.repositories nor a release's repository in the version matrix; add it there`);
    const playbook = entry.configuration?.playbook;
    if (playbook !== undefined && !allowlist.playbooks.includes(playbook))
      outside.push(`${source}: forks.${fork}.configuration.playbook: ${playbook} is not in allowedConfiguration.playbooks; add it there`);
  }
  if (outside.length > 0) throw new WatchedForksFileError(outside.join("\n"));
  return result.data;
}

/** Repository URLs compare without a trailing `/` or `.git`, and with the host in lowercase. */
export function normalizeRepositoryUrl(url: string): string {
  const match = /^(https:\/\/)([^/]+)(\/.*)$/.exec(url.trim());
  const [scheme, host, path] = match ? [match[1], match[2].toLowerCase(), match[3]] : ["", "", url.trim()];
  return `${scheme}${host}${path.replace(/\/+$/, "").replace(/\.git$/, "")}`;
}

export function isAllowedRepository(allowlist: ConfigurationAllowlist, url: string): boolean {
  const wanted = normalizeRepositoryUrl(url);
  return allowlist.repositories.some((allowed) => normalizeRepositoryUrl(allowed) === wanted);
}

/** The file's allowlist plus every Ansible release's own configuration repository and playbook. */
export function configurationAllowlist(file: WatchedForksFile, matrix: VersionMatrix = versionMatrix): ConfigurationAllowlist {
  const fromMatrix = Object.values(matrix.releases).flatMap((release) => (release.configuration ? [release.configuration] : []));
  const unique = (values: string[]) => values.filter((value, index) => values.indexOf(value) === index);
  return {
    repositories: unique([...fromMatrix.map((c) => c.repository), ...(file.allowedConfiguration?.repositories ?? [])]),
    playbooks: unique([...fromMatrix.map((c) => c.playbook), ...(file.allowedConfiguration?.playbooks ?? [])]),
  };
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
    releaseFromBaseBranch: entry.releaseFromBaseBranch ?? false,
    configuration: entry.configuration,
    extraSettings: entry.extraSettings ?? {},
    allowlist: configurationAllowlist(file),
  };
}
