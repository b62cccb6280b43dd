import { isPlainObject, own } from "../../config/json";
import { versionMatrix } from "../../config/matrix/data";
import { releaseForBaseBranch } from "../../config/matrix/resolve";
import { tutorSettingsProblems } from "../../config/tutor/settings";
import { extractSettingsBlock, findDatabasesMarker, parseSettingsYaml } from "./pr-body";
import { checkPullRequestSettings } from "./settings-policy";
import type { PullRequestOutcome, PullRequestSummary, SandboxInstanceConfig } from "./types";
import { isAllowedRepository, type ResolvedForkDefaults } from "./watched-forks";

/**
 * Pull request + fork defaults -> the sandbox's instance config. Pure: same
 * input, same object (keys sorted where order carries no meaning), so an
 * unchanged pull request renders to an unchanged file.
 */

type FieldSetting = "openedx_release" | "configuration_version" | "edx_ansible_source_repo" | "configuration_playbook_name";

/**
 * Settings keys that choose config fields instead of becoming Ansible variables
 * (the old convention): openedx_release → release, configuration_version →
 * configuration.ref, edx_ansible_source_repo → configuration.repository,
 * configuration_playbook_name → configuration.playbook. A Map, so a key such
 * as `constructor` is simply not one of them.
 */
export const FIELD_SETTINGS: ReadonlyMap<string, [RegExp, string]> = new Map<string, [RegExp, string]>([
  ["openedx_release", [/^[a-z][a-z0-9.-]*$/, "a release name such as redwood"]],
  // No leading + either: git reads it as refspec syntax (force) and fetches the name after it,
  // so "+pull/7/head" would slip past FOREIGN_CODE_REF below.
  ["configuration_version", [/^(?![-+])[A-Za-z0-9._/+-]{1,255}$/, "a branch or tag of the configuration repository"]],
  ["edx_ansible_source_repo", [/^https:\/\/[A-Za-z0-9.-]+(:[0-9]+)?\/[A-Za-z0-9._/-]+$/, "an https:// repository URL"]],
  ["configuration_playbook_name", [/^[A-Za-z0-9_][A-Za-z0-9_./-]*\.ya?ml$/, "a playbook file name such as openedx_native.yml"]],
]);

/**
 * Refs a pull request may not pick in a configuration repository, even an
 * allowed one: GitHub serves any commit of any fork of a repository by its
 * SHA, and pull requests' heads as `pull/<N>/head`, through the repository's
 * own URL — so a SHA or such a ref would run code nobody allowed. Branches and
 * tags belong to the repository's maintainers.
 */
const FOREIGN_CODE_REF = /^(refs\/|pull\/|merge-requests\/)|^[0-9a-f]{7,40}$/i;

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

function readFieldSettings(
  settings: Record<string, unknown>,
  defaults: ResolvedForkDefaults,
): {
  fields: Partial<Record<FieldSetting, string>>;
  ansibleVariables: Record<string, unknown>;
  problems: string[];
} {
  const fields: Partial<Record<FieldSetting, string>> = {};
  const ansibleVariables: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, value] of Object.entries(settings)) {
    const rule = FIELD_SETTINGS.get(key);
    if (rule === undefined) {
      // Own data property, whatever the key (constructor, toString, __proto__ ...).
      Object.defineProperty(ansibleVariables, key, { value, enumerable: true, writable: true, configurable: true });
      continue;
    }
    const field = key as FieldSetting;
    const [pattern, expected] = rule;
    if (typeof value !== "string") {
      problems.push(`Settings.${key}: must be a string (${expected})`);
      continue;
    }
    if (!pattern.test(value)) {
      problems.push(`Settings.${key}: must be ${expected}`);
      continue;
    }
    const refused = fieldProblem(field, value, defaults);
    if (refused) problems.push(`Settings.${key}: ${refused}`);
    else fields[field] = value;
  }
  return { fields, ansibleVariables, problems };
}

/** What the operator's allowlist says about a configuration field a pull request chose; undefined when allowed. */
function fieldProblem(field: FieldSetting, value: string, defaults: ResolvedForkDefaults): string | undefined {
  const { allowlist } = defaults;
  if (field === "edx_ansible_source_repo" && !isAllowedRepository(allowlist, value))
    return (
      `${value} is not an allowed configuration repository (allowed: ${allowlist.repositories.join(", ")}); ` +
      "the playbook runs on the deploy machine, so an operator adds repositories to allowedConfiguration in config/watched-forks.yaml"
    );
  if (field === "configuration_playbook_name" && !allowlist.playbooks.includes(value))
    return (
      `${value} is not an allowed playbook (allowed: ${allowlist.playbooks.join(", ")}); ` +
      "an operator adds playbooks to allowedConfiguration in config/watched-forks.yaml"
    );
  if (field === "configuration_version" && FOREIGN_CODE_REF.test(value))
    return (
      `"${value}" looks like a commit SHA or a pull-request ref, which GitHub serves from any fork of the repository; ` +
      "name a branch or tag of the configuration repository (an operator may pin a SHA in config/watched-forks.yaml)"
    );
  return undefined;
}

/**
 * The sandbox's human-readable name, from the pull request's own words: data
 * that ends up in a YAML file, VM metadata and EDXAPP_PLATFORM_NAME. Control
 * characters become spaces and Jinja delimiters are broken apart, so the name
 * reads the same everywhere and can never be mistaken for a template.
 */
export function sandboxName(pr: PullRequestSummary): string {
  const fullName = `PR#${pr.number}: ${shortTitle(pr.title)} (${pr.author}) - ${pr.headRepository}/${pr.headRef} (${pr.headSha.slice(0, 7)})`;
  const clean = fullName.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, " ").replace(/\{(?=[{%#])/g, "{ ");
  return clean.length > NAME_MAX_CHARS ? `${clean.slice(0, NAME_MAX_CHARS - 1)}…` : clean;
}

export function mapPullRequest(pr: PullRequestSummary, context: MappingContext): PullRequestOutcome {
  const problems: string[] = [];
  const { defaults } = context;

  if (!pr.headRepository || !pr.headCloneUrl)
    return { kind: "invalid", problems: ["head repository is gone (deleted fork); nothing to build"] };
  if (!/^[0-9a-f]{40}$/.test(pr.headSha)) problems.push(`head commit "${pr.headSha}" is not a 40-hex SHA`);

  let prSettings: Record<string, unknown> = {};
  const block = extractSettingsBlock(pr.body);
  if (block.found && "problem" in block) problems.push(block.problem);
  else if (block.found) {
    const parsed = parseSettingsYaml(block.text);
    if (parsed.ok) prSettings = parsed.settings;
    else problems.push(parsed.problem);
  }

  const { fields, ansibleVariables, problems: fieldProblems } = readFieldSettings(prSettings, defaults);
  problems.push(...fieldProblems);
  for (const problem of checkPullRequestSettings(ansibleVariables))
    problems.push(`Settings.${problem.path}: ${problem.message}`);

  // The release: the Settings block's, else the base branch's (when the fork says so), else the fork's default.
  const release =
    fields.openedx_release ?? (defaults.releaseFromBaseBranch ? releaseForBaseBranch(versionMatrix, pr.baseRef) : undefined) ?? defaults.release;
  const tutor = release !== undefined ? own(versionMatrix.releases, release)?.tutor : undefined;
  if (tutor) {
    // Tutor builds it: the Settings are Tutor config keys, with the pull-request policy; no configuration repository.
    for (const problem of tutorSettingsProblems(ansibleVariables, tutor, { at: "Settings", fromPullRequest: true })) problems.push(problem);
    for (const key of ["configuration_version", "edx_ansible_source_repo", "configuration_playbook_name"] as const)
      if (fields[key] !== undefined) problems.push(`Settings.${key}: release "${release}" is built with Tutor, which uses no configuration repository`);
  }

  const subDomain = sandboxSubDomain(defaults, pr.number);
  const marker = findDatabasesMarker(pr.body, `${subDomain}.${context.baseDomain}`);
  if (!marker.ok) problems.push(marker.problem);

  if (problems.length > 0) return { kind: "invalid", problems };

  const configuration = {
    repository: fields.edx_ansible_source_repo ?? defaults.configuration?.repository,
    ref: fields.configuration_version ?? defaults.configuration?.ref,
    playbook: fields.configuration_playbook_name ?? defaults.configuration?.playbook,
  };
  const definedConfiguration = tutor ? {} : Object.fromEntries(Object.entries(configuration).filter(([, value]) => value !== undefined));

  const config: SandboxInstanceConfig = {
    name: sandboxName(pr),
    subDomain,
    baseDomain: context.baseDomain,
    lifecycle: "sandbox",
    // studio-pr<N>.<base> rather than studio.pr<N>.<base>: the base domain's one wildcard certificate
    // covers every sandbox, so a new sandbox obtains no certificate (Let's Encrypt's weekly limit).
    domains: { style: "dash" },
    ...(release !== undefined ? { release } : {}),
    edxPlatform: { repository: pr.headCloneUrl, ref: pr.headSha },
    ...(Object.keys(definedConfiguration).length > 0 ? { configuration: definedConfiguration } : {}),
    databases: (marker.ok && marker.databases) || defaults.databases,
    // The operator's fork defaults and the pull request's Settings stay apart in the file, so the
    // program knows, long after the sync pull request is merged, which values a pull request wrote.
    // (The fork's extraSettings are Ansible variables: a Tutor-built sandbox does not take them.)
    extraSettings: tutor ? {} : (sortKeysDeep(defaults.extraSettings) as Record<string, unknown>),
    ...(Object.keys(ansibleVariables).length > 0
      ? { pullRequestSettings: sortKeysDeep(ansibleVariables) as Record<string, unknown> }
      : {}),
    source: { pullRequest: pr.number, repository: context.fork, author: pr.author },
  };
  return { kind: "stack", config };
}
