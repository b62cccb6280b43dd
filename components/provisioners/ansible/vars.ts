/**
 * The Ansible variables an appserver is provisioned with, rendered from layers.
 * Pure: no Pulumi resource is created here, so every rule has a plain unit test.
 *
 * Precedence, lowest first (a later layer wins):
 *   1. built-in defaults            (`builtInDefaults`)
 *   2. lifecycle defaults           (`lifecycleDefaults`: sandbox / production)
 *   3. versions of the release      (`releaseVariables`: repositories and refs from the version matrix)
 *   4. the instance                 (`instanceVariables`: name, domains, enabled services)
 *   5. service connections          (`serviceVars` from the instance: databases, broker, secrets)
 *   6. the appserver's extraSettings  (the operator's: trusted, Ansible may template them)
 *   7. a generated sandbox's pullRequestSettings  (a pull request's: data, never templated)
 *
 * `trustedVariablePaths` says which values the provisioning wrapper may hand to
 * Ansible as they are; every other string reaches Ansible marked unsafe.
 *
 * The values are generic (`T`), so a layer may hold `pulumi.Output`s — a secret
 * stays a secret per key, and the plan shows "[secret]" only where it must.
 */
import type { InstanceDomain, DomainRole } from "../../../config/domains";
import type { ResolvedApplication, ResolvedRelease } from "../../../config/matrix/types";
import { own, setOwn } from "../../../config/json";
import type { InstanceFacts } from "../instance-facts";

export type AnsibleVariables<T = unknown> = Record<string, T>;

/**
 * Merges layers, lowest first. A key of a later layer replaces the earlier value,
 * except when both values are plain mappings (plain objects: not arrays, not
 * `pulumi.Output`s, not class instances): then they are merged key by key with
 * the same rule, recursively. So `extraSettings: { EDXAPP_FEATURES_EXTRA: { X: true } }`
 * adds X to the program's feature flags instead of dropping them; set a nested
 * key to `null` to clear it. Lists always replace (never concatenate), as Ansible
 * itself does with extra variables. Inputs are not modified.
 */
export function mergeLayers<T>(...layers: Record<string, T>[]): Record<string, T> {
  const result: Record<string, T> = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) {
      // Own properties only: a key such as constructor or toString is a variable name like any other.
      const previous = own(result, key);
      setOwn(result, key, (isPlainMapping(previous) && isPlainMapping(value) ? mergeLayers(previous, value) : value) as T);
    }
  }
  return result;
}

/** A plain object literal (or `Object.create(null)`), the only kind of value that is merged rather than replaced. */
export function isPlainMapping(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * Settings every appserver gets. The appserver sits behind the load balancer,
 * which terminates TLS and sets the X-Forwarded-* headers: nginx on the VM
 * speaks plain HTTP on port 80 and must keep the balancer's headers.
 */
export function builtInDefaults(): AnsibleVariables {
  return {
    migrate_db: "yes",
    EDXAPP_LMS_BASE_SCHEME: "https",
    EDXAPP_LMS_NGINX_PORT: 80,
    EDXAPP_CMS_NGINX_PORT: 80,
    NGINX_ENABLE_SSL: false,
    NGINX_REDIRECT_TO_HTTPS: false,
    NGINX_SET_X_FORWARDED_HEADERS: false,
    // The MFEs get a domain of their own through the balancer, not the playbook's port 19010 on the LMS name.
    MFE_DEPLOY_NGINX_PORT: 80,
    EDXAPP_CSRF_COOKIE_SECURE: true,
    EDXAPP_SESSION_COOKIE_SECURE: true,
    EDXAPP_ENABLE_CORS_HEADERS: true,
    EDXAPP_ENABLE_CROSS_DOMAIN_CSRF_COOKIE: true,
    EDXAPP_LANG: "en_US.UTF-8",
    EDXAPP_TIME_ZONE: "UTC",
    EDXAPP_CLEARSESSIONS_CRON_ENABLED: true,
    FORUM_RACK_ENV: "production",
    FORUM_SINATRA_ENV: "production",
    COMMON_SECURITY_UPDATES: true,
    SECURITY_UNATTENDED_UPGRADES: true,
    // The balancer in front of every appserver is the only proxy between clients and Django.
    EDXAPP_LMS_ENV_EXTRA: djangoBehindOneProxy(),
    EDXAPP_CMS_ENV_EXTRA: djangoBehindOneProxy(),
    // Services the single-server playbook turns on that an instance here does not run.
    SANDBOX_ENABLE_ANALYTICS_API: false,
    SANDBOX_ENABLE_INSIGHTS: false,
    SANDBOX_ENABLE_BLOCKSTORE: false,
  };
}

function djangoBehindOneProxy(): Record<string, unknown> {
  return {
    // Sessions in the database survive the switch from one appserver to the next.
    SESSION_ENGINE: "django.contrib.sessions.backends.cached_db",
    CLOSEST_CLIENT_IP_FROM_HEADERS: [{ name: "X-Forwarded-For", index: -1 }],
    REST_FRAMEWORK: { NUM_PROXIES: 1 },
  };
}

/** What differs between a disposable sandbox and a production site. */
export function lifecycleDefaults(lifecycle: "sandbox" | "production"): AnsibleVariables {
  if (lifecycle === "sandbox")
    return {
      COMMON_ENVIRONMENT: "sandbox",
      DEMO_ROLE_ENABLED: true,
      ecommerce_create_demo_data: true,
      credentials_create_demo_data: true,
      EDXAPP_WORKERS: { lms: 2, cms: 1 },
      EDXAPP_ENABLE_AUTO_AUTH: false,
    };
  return {
    COMMON_ENVIRONMENT: "production",
    DEMO_ROLE_ENABLED: false,
    ecommerce_create_demo_data: false,
    credentials_create_demo_data: false,
    EDXAPP_WORKERS: { lms: 4, cms: 2 },
    EDXAPP_ENABLE_AUTO_AUTH: false,
    // Restart workers now and then to bound the memory leaks of long-lived Django processes.
    EDXAPP_LMS_MAX_REQ: 5000,
    EDXAPP_CMS_MAX_REQ: 1000,
  };
}

/** An https or ssh git URL split the way the configuration roles' `*_REPOS` lists and the MFE deployer want it. */
export interface GitLocation {
  protocol: "https" | "ssh";
  domain: string;
  /** The owner path, e.g. `openedx`. */
  path: string;
  /** The repository name without `.git`. */
  name: string;
}

/**
 * Splits `https://github.com/openedx/xqueue.git` or `git@github.com:openedx/xqueue.git`.
 * The roles rebuild the URL as `<protocol>://<domain>/<path>/<name>.git`, so any
 * other form (a local path, `file://`, a port) cannot be expressed and is refused.
 */
export function parseGitUrl(url: string, field: string): GitLocation {
  const https = /^https:\/\/([A-Za-z0-9.-]+)\/([A-Za-z0-9._\-/]+)\/([A-Za-z0-9._-]+?)(?:\.git)?\/?$/.exec(url);
  if (https) return { protocol: "https", domain: https[1], path: https[2], name: https[3] };
  const ssh = /^(?:ssh:\/\/)?git@([A-Za-z0-9.-]+)[:/]([A-Za-z0-9._\-/]+)\/([A-Za-z0-9._-]+?)(?:\.git)?$/.exec(url);
  if (ssh) return { protocol: "ssh", domain: ssh[1], path: ssh[2], name: ssh[3] };
  throw new Error(
    `${field}: "${url}" is not a git URL the configuration roles can clone; use https://<host>/<owner>/<repository>.git or git@<host>:<owner>/<repository>.git`,
  );
}

/** A `*_REPOS` entry of the configuration roles' git_clone convention. */
function gitCloneEntry(app: ResolvedApplication, destination: string, sshKeyVariable: string): Record<string, unknown> {
  const at = parseGitUrl(app.repository, `applications.${app.name}.repository`);
  return {
    PROTOCOL: at.protocol,
    DOMAIN: at.domain,
    PATH: at.path,
    REPO: `${at.name}.git`,
    VERSION: app.ref,
    // Left to Ansible to fill in: these name the role's own variables.
    DESTINATION: `{{ ${destination} }}`,
    SSH_KEY: `{{ ${sshKeyVariable} }}`,
  };
}

/**
 * The MFE deployer's name for an MFE: `learning-mfe` → `learning`. The role
 * installs it under that name and serves it at its `public_path` on the MFE domain.
 */
export function mfeName(app: ResolvedApplication): string {
  return app.name.replace(/-mfe$/, "");
}

function mfePublicPath(app: ResolvedApplication): string {
  const path = app.path ?? `/${mfeName(app)}`;
  return path.endsWith("/") ? path : `${path}/`;
}

/**
 * Repositories and refs of everything the release runs: edx-platform, forum,
 * notes, xqueue, the MFEs, and the configuration repository itself (recorded
 * on the VM by the edx_ansible role). Applications the release does not list
 * are left to the roles' defaults.
 */
export function releaseVariables(release: ResolvedRelease): AnsibleVariables {
  if (release.provisioner !== "ansible")
    throw new Error(
      `release "${release.release}": provisioner is "${release.provisioner}"; Ansible variables are only rendered for releases the configuration repository builds`,
    );
  const apps = release.applications;
  const vars: AnsibleVariables = {
    EDXAPP_PYTHON_VERSION: `python${release.python}`,
    EDXAPP_NODE_VERSION: release.node,
  };
  const platform = apps["edx-platform"];
  if (platform) {
    vars.edx_platform_repo = platform.repository;
    vars.EDX_PLATFORM_VERSION = platform.ref;
  }
  const forum = apps.forum;
  if (forum) {
    vars.forum_source_repo = forum.repository;
    vars.FORUM_VERSION = forum.ref;
  }
  const notes = apps.notes;
  if (notes) {
    vars.EDX_NOTES_API_VERSION = notes.ref;
    vars.EDX_NOTES_API_REPOS = [gitCloneEntry(notes, "edx_notes_api_code_dir", "EDX_NOTES_API_GIT_SSH_KEY")];
  }
  const xqueue = apps.xqueue;
  if (xqueue) {
    vars.XQUEUE_VERSION = xqueue.ref;
    vars.XQUEUE_REPOS = [gitCloneEntry(xqueue, "xqueue_code_dir", "XQUEUE_GIT_IDENTITY")];
  }
  const mfes = Object.values(apps)
    .filter((app) => app.type === "MFE")
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (mfes.length > 0) {
    vars.MFE_DEPLOY_VERSION = release.ref;
    vars.MFES = mfes.map((app) => {
      const at = parseGitUrl(app.repository, `applications.${app.name}.repository`);
      return {
        name: mfeName(app),
        repo: at.name,
        version: app.ref,
        git_protocol: at.protocol,
        git_domain: at.domain,
        git_path: at.path,
        public_path: mfePublicPath(app),
      };
    });
  }
  if (release.configuration) {
    vars.edx_ansible_source_repo = release.configuration.repository;
    vars.CONFIGURATION_VERSION = release.configuration.ref;
  }
  return vars;
}

/** The instance facts the variables are built from. */
export type { InstanceFacts } from "../instance-facts";

/**
 * Where the LMS links to an MFE, for the MFEs the configuration's edxapp role
 * has a variable for; the others are told to the LMS through EDXAPP_LMS_ENV_EXTRA.
 */
const MFE_URL_VARIABLES: Record<string, { variable: string } | { lmsSetting: string }> = {
  "learning-mfe": { variable: "EDXAPP_LEARNING_MICROFRONTEND_URL" },
  "account-mfe": { variable: "EDXAPP_ACCOUNT_MICROFRONTEND_URL" },
  "profile-mfe": { variable: "EDXAPP_PROFILE_MICROFRONTEND_URL" },
  "authoring-mfe": { variable: "EDXAPP_COURSE_AUTHORING_MICROFRONTEND_URL" },
  "authn-mfe": { lmsSetting: "AUTHN_MICROFRONTEND_URL" },
  "learner-dashboard-mfe": { lmsSetting: "LEARNER_HOME_MICROFRONTEND_URL" },
  "gradebook-mfe": { lmsSetting: "WRITABLE_GRADEBOOK_URL" },
  "ora-grading-mfe": { lmsSetting: "ORA_GRADING_MICROFRONTEND_URL" },
  "discussions-mfe": { lmsSetting: "DISCUSSIONS_MICROFRONTEND_URL" },
};

/**
 * The instance's own variables: its name, its domains (LMS, Studio, preview,
 * MFEs, and ecommerce / discovery where enabled), where the LMS finds each MFE,
 * and which optional services the playbook installs.
 */
export function instanceVariables(instance: InstanceFacts, release: ResolvedRelease): AnsibleVariables {
  const fqdn = domainLookup(instance.domains);
  const lms = fqdn("lms");
  const studio = fqdn("studio");
  const preview = fqdn("preview");
  const mfe = fqdn("mfe");
  const https = (host: string) => `https://${host}`;

  const vars: AnsibleVariables = {
    COMMON_DEPLOYMENT: instance.id,
    EDXAPP_PLATFORM_NAME: instance.name,
    EDXAPP_SITE_NAME: lms,
    EDXAPP_LMS_BASE: lms,
    EDXAPP_LMS_SITE_NAME: lms,
    COMMON_LMS_BASE_URL: https(lms),
    EDXAPP_CMS_BASE: studio,
    EDXAPP_CMS_SITE_NAME: studio,
    // nginx picks the Studio site by this server_name; the LMS is the default site and answers the rest.
    CMS_HOSTNAME: studio,
    EDXAPP_PREVIEW_LMS_BASE: preview,
    MFE_BASE: mfe,
    MFE_DEPLOY_COMMON_HOSTNAME: mfe,
    EDXAPP_LOGIN_REDIRECT_WHITELIST: [studio, mfe],
    EDXAPP_CORS_ORIGIN_WHITELIST: [https(mfe), https(studio)],
    EDXAPP_CSRF_TRUSTED_ORIGINS: [https(mfe), https(studio)],
    EDXAPP_CROSS_DOMAIN_CSRF_COOKIE_DOMAIN: lms,
    EDXAPP_FEATURES_EXTRA: { PREVIEW_LMS_BASE: preview },
    SANDBOX_ENABLE_NOTES: instance.services.notes && release.applications.notes !== undefined,
    SANDBOX_ENABLE_ECOMMERCE: instance.services.ecommerce,
    SANDBOX_ENABLE_DISCOVERY: instance.services.discovery,
  };

  // One session cookie for every name only works when they all lie under the LMS name.
  const others = instance.domains.filter((d) => d.role !== "lms").map((d) => d.fqdn);
  if (others.every((name) => name.endsWith(`.${lms}`))) vars.EDXAPP_SESSION_COOKIE_DOMAIN = `.${lms}`;

  const lmsSettings: Record<string, unknown> = {};
  for (const app of Object.values(release.applications)) {
    if (app.type !== "MFE") continue;
    const url = `${https(mfe)}${mfePublicPath(app).replace(/\/$/, "")}`;
    const target = own(MFE_URL_VARIABLES, app.name);
    if (target === undefined) continue;
    if ("variable" in target) vars[target.variable] = url;
    else lmsSettings[target.lmsSetting] = url;
  }
  if (Object.keys(lmsSettings).length > 0) vars.EDXAPP_LMS_ENV_EXTRA = lmsSettings;

  if (instance.services.ecommerce) {
    const ecommerce = fqdn("ecommerce");
    vars.ECOMMERCE_ECOMMERCE_URL_ROOT = https(ecommerce);
    vars.COMMON_ECOMMERCE_BASE_URL = https(ecommerce);
    vars.EDXAPP_ECOMMERCE_PUBLIC_URL_ROOT = https(ecommerce);
    vars.EDXAPP_ECOMMERCE_API_URL = `${https(ecommerce)}/api/v2`;
    vars.ECOMMERCE_LMS_URL_ROOT = https(lms);
    vars.EDXAPP_ORDER_HISTORY_MICROFRONTEND_URL = `${https(mfe)}/ecommerce/orders`;
  }
  if (instance.services.discovery) vars.DISCOVERY_URL_ROOT = https(fqdn("discovery"));
  return vars;
}

function domainLookup(domains: InstanceDomain[]): (role: DomainRole) => string {
  return (role) => {
    const domain = domains.find((d) => d.role === role);
    if (!domain)
      throw new Error(
        `domains: no "${role}" domain; deriveDomains() gives lms, studio, preview and mfe always, and ecommerce / discovery when the service is enabled`,
      );
    return domain.fqdn;
  };
}

/**
 * Service variables that must be present. Since Redwood the LMS signs its JWTs
 * with an asymmetric key only; without it every login fails with a 500
 * (MIT Open Learning hit exactly this when they moved to Redwood).
 */
export const REQUIRED_SERVICE_VARIABLES = ["EDXAPP_JWT_PRIVATE_SIGNING_JWK", "COMMON_JWT_PUBLIC_SIGNING_JWK_SET"] as const;

export interface AnsibleVariablesInput<T> {
  instance: InstanceFacts;
  lifecycle: "sandbox" | "production";
  release: ResolvedRelease;
  /** Connections and secrets from the instance; secret values as secret Outputs, one per key. */
  serviceVars: Record<string, T>;
  /** The appserver's own settings, written by the operator. */
  extraSettings: Record<string, unknown>;
  /** A generated sandbox's settings from its pull request, the highest layer; never trusted. */
  pullRequestSettings?: Record<string, unknown>;
}

/** The layers in precedence order, lowest first, named for messages and tests. */
export function ansibleVariableLayers<T>(input: AnsibleVariablesInput<T>): { name: string; variables: Record<string, T | unknown> }[] {
  return [
    { name: "built-in defaults", variables: builtInDefaults() },
    { name: `${input.lifecycle} defaults`, variables: lifecycleDefaults(input.lifecycle) },
    { name: `release ${input.release.release}`, variables: releaseVariables(input.release) },
    { name: `instance ${input.instance.id}`, variables: instanceVariables(input.instance, input.release) },
    { name: "service connections", variables: input.serviceVars },
    { name: "extraSettings", variables: input.extraSettings },
    ...(input.pullRequestSettings !== undefined ? [{ name: "pull request settings", variables: input.pullRequestSettings }] : []),
  ];
}

/**
 * Release variables the program writes with Jinja on purpose (`{{ xqueue_code_dir }}`
 * in the roles' git_clone entries): built from the version matrix, and useless unless
 * Ansible templates them.
 */
export const TEMPLATED_RELEASE_VARIABLES: readonly string[] = ["EDX_NOTES_API_REPOS", "XQUEUE_REPOS"];

/**
 * Paths to every value in a mapping that replaces what lies below it when
 * merged (scalars, lists, null), descending into non-empty mappings. An empty
 * mapping changes nothing when merged, so it is a path only with `emptyMappings`.
 */
export function leafPaths(variables: Record<string, unknown>, options: { emptyMappings?: boolean } = {}, prefix: string[] = []): string[][] {
  const paths: string[][] = [];
  for (const [key, value] of Object.entries(variables)) {
    const path = [...prefix, key];
    if (isPlainMapping(value) && Object.keys(value).length > 0) paths.push(...leafPaths(value, options, path));
    else if (!isPlainMapping(value) || options.emptyMappings) paths.push(path);
  }
  return paths;
}

function isPrefix(prefix: readonly string[], path: readonly string[]): boolean {
  return prefix.length <= path.length && prefix.every((part, index) => part === path[index]);
}

/**
 * The paths whose rendered values came from the operator alone, so Ansible may
 * template them: each leaf of the operator's extraSettings, and the release's
 * templated git_clone entries — minus every path a pull request's settings
 * reach (the same path, one above it that the pull request replaced, or one
 * below it that the pull request added). Everything else — the instance's
 * name, domains, the platform's repository and ref, secrets, and every value
 * a pull request wrote — is data. Sorted, so plans compare.
 */
export function trustedVariablePaths<T>(input: AnsibleVariablesInput<T>): string[][] {
  const untrusted = leafPaths(input.pullRequestSettings ?? {}, { emptyMappings: true });
  const releaseVars = input.release.provisioner === "ansible" ? releaseVariables(input.release) : {};
  const candidates = [
    ...leafPaths(input.extraSettings),
    ...TEMPLATED_RELEASE_VARIABLES.filter((name) => Object.hasOwn(releaseVars, name)).map((name) => [name]),
  ];
  const trusted = candidates.filter((path) => !untrusted.some((other) => isPrefix(other, path) || isPrefix(path, other)));
  const byText = new Map(trusted.map((path) => [JSON.stringify(path), path]));
  return [...byText.keys()].sort().map((text) => byText.get(text)!);
}

/**
 * The variables handed to `ansible-playbook -e @file`, all layers merged (see
 * `mergeLayers` for the rule). Throws when a required service variable is missing.
 */
export function renderAnsibleVars<T>(input: AnsibleVariablesInput<T>): Record<string, T | unknown> {
  const missing = REQUIRED_SERVICE_VARIABLES.filter(
    (name) => !Object.hasOwn(input.serviceVars, name) && !Object.hasOwn(input.extraSettings, name),
  );
  if (missing.length > 0)
    throw new Error(
      `serviceVars: missing ${missing.join(", ")} (the instance's JWT signing key pair; without it logins fail on Redwood); the instance component must generate it`,
    );
  return mergeLayers<T | unknown>(...ansibleVariableLayers(input).map((layer) => layer.variables));
}

/**
 * Every variable name the program itself can generate (layers 1–4), for the test
 * that checks each against the configuration repository's roles and playbooks.
 * The service connection names belong to the instance component's own list.
 */
export const GENERATED_VARIABLE_NAMES: readonly string[] = [
  ...Object.keys(builtInDefaults()),
  ...Object.keys(lifecycleDefaults("sandbox")),
  ...Object.keys(lifecycleDefaults("production")),
  "EDXAPP_PYTHON_VERSION",
  "EDXAPP_NODE_VERSION",
  "edx_platform_repo",
  "EDX_PLATFORM_VERSION",
  "forum_source_repo",
  "FORUM_VERSION",
  "EDX_NOTES_API_VERSION",
  "EDX_NOTES_API_REPOS",
  "XQUEUE_VERSION",
  "XQUEUE_REPOS",
  "MFE_DEPLOY_VERSION",
  "MFES",
  "edx_ansible_source_repo",
  "CONFIGURATION_VERSION",
  "COMMON_DEPLOYMENT",
  "EDXAPP_PLATFORM_NAME",
  "EDXAPP_SITE_NAME",
  "EDXAPP_LMS_BASE",
  "EDXAPP_LMS_SITE_NAME",
  "COMMON_LMS_BASE_URL",
  "EDXAPP_CMS_BASE",
  "EDXAPP_CMS_SITE_NAME",
  "CMS_HOSTNAME",
  "EDXAPP_PREVIEW_LMS_BASE",
  "MFE_BASE",
  "MFE_DEPLOY_COMMON_HOSTNAME",
  "EDXAPP_LOGIN_REDIRECT_WHITELIST",
  "EDXAPP_CORS_ORIGIN_WHITELIST",
  "EDXAPP_CSRF_TRUSTED_ORIGINS",
  "EDXAPP_CROSS_DOMAIN_CSRF_COOKIE_DOMAIN",
  "EDXAPP_FEATURES_EXTRA",
  "SANDBOX_ENABLE_NOTES",
  "SANDBOX_ENABLE_ECOMMERCE",
  "SANDBOX_ENABLE_DISCOVERY",
  "EDXAPP_SESSION_COOKIE_DOMAIN",
  ...Object.values(MFE_URL_VARIABLES).flatMap((target) => ("variable" in target ? [target.variable] : [])),
  "ECOMMERCE_ECOMMERCE_URL_ROOT",
  "COMMON_ECOMMERCE_BASE_URL",
  "EDXAPP_ECOMMERCE_PUBLIC_URL_ROOT",
  "EDXAPP_ECOMMERCE_API_URL",
  "ECOMMERCE_LMS_URL_ROOT",
  "EDXAPP_ORDER_HISTORY_MICROFRONTEND_URL",
  "DISCOVERY_URL_ROOT",
].filter((name, index, all) => all.indexOf(name) === index);
