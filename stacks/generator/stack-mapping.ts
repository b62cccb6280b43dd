import { isPlainObject } from "../../config/json";
import { extractSettingsBlock, findDatabasesMarker, parseSettingsYaml } from "./pr-body";
import { checkPullRequestSettings, findShellSyntax } from "./settings-policy";
import type { PullRequestOutcome, PullRequestSummary, SandboxInstanceConfig } from "./types";
import type { ResolvedForkDefaults } from "./watched-forks";

/**
 * Pull request + fork defaults -> the sandbox's instance config. Pure: same
 * input, same object (keys sorted where order carries no meaning), so an
 * unchanged pull request renders to an unchanged file.
 */

/** Settings keys that choose config fields instead of becoming Ansible variables (the old convention). */
export const FIELD_SETTINGS = {
  openedx_release: "release",
  configuration_version: "configuration.ref",
  edx_ansible_source_repo: "configuration.repository",
  configuration_playbook_name: "configuration.playbook",
} as const;
type FieldSetting = keyof typeof FIELD_SETTINGS;

const FIELD_VALUE_RULES: Record<FieldSetting, [RegExp, string]> = {
  openedx_release: [/^[a-z][a-z0-9.-]*$/, "a release name such as ulmo"],
  configuration_version: [/^(?!-)[A-Za-z0-9._/+-]{1,255}$/, "a git branch, tag or commit SHA"],
  edx_ansible_source_repo: [/^https:\/\/[A-Za-z0-9.-]+(:[0-9]+)?\/[A-Za-z0-9._/-]+$/, "an https:// repository URL"],
  configuration_playbook_name: [/^[A-Za-z0-9_./-]+\.ya?ml$/, "a playbook file name such as openedx_native.yml"],
};

export interface MappingContext {
  /** owner/repo the pull requests target (WATCH_FORK). */
  fork: string;
  baseDomain: string;
  defaults: ResolvedForkDefaults;
}

const TITLE_WORDS = 4;
const TITLE_MAX_CHARS = 80;
/** The stack schema's limit on `name`. */
const NAME_MAX_CHARS = 255;

/** The first words of the title, as the old instance manager named sandboxes; control characters dropped. */
export function shortTitle(title: string): string {
  const words = title.replace(/[\u0000-\u001f\u007f]/g, " ").split(/\s+/).filter(Boolean);
  const first = words.slice(0, TITLE_WORDS).join(" ");
  const clipped = first.slice(0, TITLE_MAX_CHARS);
  return words.length > TITLE_WORDS || clipped !== first ? `${clipped} …` : clipped;
}

export function sandboxSubDomain(defaults: ResolvedForkDefaults, number: number): string {
  return `${defaults.subDomainPrefix}${number}`;
}


/** Mappings merge key by key (the pull request wins); lists and scalars are replaced, as the old yaml_merge did. */
export function mergeSettings(base: Record<string, unknown>, override: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const existing = merged[key];
    merged[key] = isPlainObject(existing) && isPlainObject(value) ? mergeSettings(existing, value) : value;
  }
  return merged;
}

export function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (isPlainObject(value))
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortKeysDeep(value[key])]),
    );
  return value;
}

function readFieldSettings(settings: Record<string, unknown>): {
  fields: Partial<Record<FieldSetting, string>>;
  ansibleVariables: Record<string, unknown>;
  problems: string[];
} {
  const fields: Partial<Record<FieldSetting, string>> = {};
  const ansibleVariables: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, value] of Object.entries(settings)) {
    if (!(key in FIELD_SETTINGS)) {
      ansibleVariables[key] = value;
      continue;
    }
    const field = key as FieldSetting;
    const [pattern, expected] = FIELD_VALUE_RULES[field];
    if (typeof value !== "string") {
      problems.push(`Settings.${key}: must be a string (${expected})`);
      continue;
    }
    const shell = findShellSyntax(value);
    if (shell) problems.push(`Settings.${key}: value contains ${shell}`);
    else if (!pattern.test(value)) problems.push(`Settings.${key}: must be ${expected}`);
    else fields[field] = value;
  }
  return { fields, ansibleVariables, problems };
}

export function mapPullRequest(pr: PullRequestSummary, context: MappingContext): PullRequestOutcome {
  const problems: string[] = [];
  const { defaults } = context;

  if (!pr.headRepository || !pr.headCloneUrl)
    return { kind: "invalid", problems: ["head repository is gone (deleted fork); nothing to build"] };
  if (!/^[0-9a-f]{40}$/.test(pr.headSha)) problems.push(`head commit "${pr.headSha}" is not a 40-hex SHA`);
  const branchShell = findShellSyntax(pr.headRef);
  if (branchShell) problems.push(`branch name contains ${branchShell}`);

  let prSettings: Record<string, unknown> = {};
  const block = extractSettingsBlock(pr.body);
  if (block.found && "problem" in block) problems.push(block.problem);
  else if (block.found) {
    const parsed = parseSettingsYaml(block.text);
    if (parsed.ok) prSettings = parsed.settings;
    else problems.push(parsed.problem);
  }

  const { fields, ansibleVariables, problems: fieldProblems } = readFieldSettings(prSettings);
  problems.push(...fieldProblems);
  for (const problem of checkPullRequestSettings(ansibleVariables))
    problems.push(`Settings.${problem.path}: ${problem.message}`);

  const subDomain = sandboxSubDomain(defaults, pr.number);
  const marker = findDatabasesMarker(pr.body, `${subDomain}.${context.baseDomain}`);
  if (!marker.ok) problems.push(marker.problem);

  if (problems.length > 0) return { kind: "invalid", problems };

  const configuration = {
    repository: fields.edx_ansible_source_repo ?? defaults.configuration?.repository,
    ref: fields.configuration_version ?? defaults.configuration?.ref,
    playbook: fields.configuration_playbook_name ?? defaults.configuration?.playbook,
  };
  const definedConfiguration = Object.fromEntries(Object.entries(configuration).filter(([, value]) => value !== undefined));
  const release = fields.openedx_release ?? defaults.release;

  const fullName = `PR#${pr.number}: ${shortTitle(pr.title)} (${pr.author}) - ${pr.headRepository}/${pr.headRef} (${pr.headSha.slice(0, 7)})`;
  const config: SandboxInstanceConfig = {
    name: fullName.length > NAME_MAX_CHARS ? `${fullName.slice(0, NAME_MAX_CHARS - 1)}…` : fullName,
    subDomain,
    baseDomain: context.baseDomain,
    lifecycle: "sandbox",
    ...(release !== undefined ? { release } : {}),
    edxPlatform: { repository: pr.headCloneUrl, ref: pr.headSha },
    ...(Object.keys(definedConfiguration).length > 0 ? { configuration: definedConfiguration } : {}),
    databases: (marker.ok && marker.databases) || defaults.databases,
    extraSettings: sortKeysDeep(mergeSettings(defaults.extraSettings, ansibleVariables)) as Record<string, unknown>,
    source: { pullRequest: pr.number, repository: context.fork, author: pr.author },
  };
  return { kind: "stack", config };
}
