import { createHash } from "node:crypto";
import type { z } from "zod";
import { type AdoptConfig, adoptionProblems } from "./adopt";
import { unknownSettingWarnings } from "./ansible-variables";
import { didYouMeanHint } from "./did-you-mean";
import { canonicalJson, isPlainObject, own } from "./json";
import { parseConfig } from "./problems";
import { instanceIdProblems } from "./instance-id";
import { isSecureValue, namesSecret, plainSecretProblems, withSecretSettings } from "./secret-names";
import { DEFAULT_DNS_TTL, DEFAULT_RELEASE, DEFAULT_SUBDOMAIN_BLACKLIST, LIFECYCLE_DEFAULTS } from "./lifecycle";
import { versionMatrix } from "./matrix/data";
import { resolveRelease } from "./matrix/resolve";
import type { ResolvedRelease, VersionMatrix } from "./matrix/types";
import { tutorSettingsProblems } from "./tutor/settings";
import {
  type AppServerEntry,
  type FleetKey,
  fleetSchemas,
  type InstanceConfig,
  instanceSchema,
  type LoadBalancerConfig,
  type MongodbConfig,
  type MysqlServerConfig,
  type OpenstackConfig,
  type RabbitmqConfig,
} from "./schema";
import { type CertificateMode, type HstsSettings, namesOutsideWildcard } from "./certificate-plan";
import { type DomainOptions, type InstanceDomain, cookieSharingProblem, deriveDomains } from "./domains";
import { chooseMysqlServer } from "./names";

export const NAMESPACE = "openedx-im";
export const INSTANCE_KEY = `${NAMESPACE}:instance`;

/** One appserver, with everything it is built from resolved and frozen. */
export interface ResolvedAppServer {
  id: string;
  release: ResolvedRelease;
  /** The operator's own variables: trusted (Ansible may template them); values set with `pulumi config set --secret` are SecretSetting. */
  extraSettings: Record<string, unknown>;
  /** A generated sandbox's variables from its pull request, above extraSettings: never trusted. */
  pullRequestSettings?: Record<string, unknown>;
  /** Tutor releases only; absent when not set (so the ids of other appservers do not change). */
  djangoSettings?: { lms?: Record<string, unknown>; cms?: Record<string, unknown> };
  flavor: string;
  image: string;
  count: number;
}

export interface ResolvedInstance {
  name: string;
  subDomain: string;
  baseDomain: string;
  lifecycle: "sandbox" | "production";
  deployment?: string;
  stage?: string;
  databases: "ephemeral" | "persistent";
  dnsTtl: number;
  domains: DomainOptions;
  tls: { certificate: CertificateMode; hsts?: HstsSettings };
  services: { xqueue: boolean; notes: boolean; ecommerce: boolean; discovery: boolean; forum: boolean };
  securityGroup: {
    sshSources: string[];
    extraRules: NonNullable<NonNullable<InstanceConfig["securityGroup"]>["extraRules"]>;
    extraGroups: string[];
  };
  data: { retainOnDelete: boolean; protect: boolean };
  autoActivate: boolean;
  appServers: ResolvedAppServer[];
  /** The appserver that takes traffic; undefined = the preliminary page. */
  activeAppServer?: string;
  /** A pinned MySQL server name; otherwise components choose by rendezvous hashing. */
  mysqlServer?: string;
  adopt?: AdoptConfig;
  source?: InstanceConfig["source"];
}

export interface StackConfig {
  instance: ResolvedInstance;
  openstack?: OpenstackConfig;
  loadBalancer?: LoadBalancerConfig;
  mysqlServers: MysqlServerConfig[];
  mongodb?: MongodbConfig;
  rabbitmq?: RabbitmqConfig;
  /** Which credentials keys are set (their values are secret and read by the program itself). */
  credentialKeys: string[];
  /**
   * Every value credentials hold, by dotted path (`mysql.mysql-b`, `adoptedPasswords.mysql.edxapp`): what is
   * set, known before any value is read, so a missing one is reported before any resource is declared.
   */
  credentialPaths?: string[];
}

/**
 * `warnings`: what is accepted but probably not meant (an extraSettings key no role reads); the
 * program logs them, the plan prints them on stderr.
 */
export type StackConfigResult = { ok: true; config: StackConfig; warnings: string[] } | { ok: false; problems: string[] };

export interface ValidateOptions {
  matrix?: VersionMatrix;
  /** The stack name (the instance id): checked as such when given, and lets a message name the MySQL server the hash would pick. */
  stack?: string;
  /**
   * The configuration repositories and playbooks a generated sandbox (one with
   * `source`) may be built with (config/watched-forks.yaml plus the matrix's).
   * Given by the program; a hand-edited generated stack cannot name others.
   */
  configurationAllowlist?: { repositories: string[]; playbooks: string[] };
}

/**
 * Validates the `config:` map of a `Pulumi.<stack>.yaml` (keys such as
 * `openedx-im:instance`) merged over the project's defaults, and resolves it.
 * Reports every problem at once, one line each, as `<full key path>: <what is allowed>`.
 */
export function validateStackConfig(values: Record<string, unknown>, options: ValidateOptions = {}): StackConfigResult {
  const matrix = options.matrix ?? versionMatrix;
  const problems: string[] = [];
  const parsed: Partial<Record<FleetKey, unknown>> = {};

  for (const [key, value] of Object.entries(values)) {
    if (!key.startsWith(`${NAMESPACE}:`)) continue; // provider and pulumi: keys belong to others
    const short = key.slice(NAMESPACE.length + 1);
    if (short === "instance") continue;
    if (!Object.hasOwn(fleetSchemas, short)) {
      const known = ["instance", ...Object.keys(fleetSchemas)];
      problems.push(`${key}: unknown key${didYouMeanHint(short, known) || ` (known: ${known.join(", ")})`}`);
      continue;
    }
    if (short === "credentials") {
      problems.push(...credentialProblems(key, value));
      continue;
    }
    const schema: z.ZodType = fleetSchemas[short as FleetKey];
    const result = parseConfig(key, schema, value);
    if (result.ok) parsed[short as FleetKey] = result.data;
    else problems.push(...result.problems);
  }

  const rawInstance = values[INSTANCE_KEY];
  if (rawInstance === undefined) {
    problems.push(`${INSTANCE_KEY}: missing (every stack describes one instance under this key)`);
    return { ok: false, problems };
  }
  // Before the schema: a parser keeps `__proto__` as a key, a copy by assignment makes it the prototype.
  const prototypeKeys = prototypeKeyPaths(rawInstance, INSTANCE_KEY);
  if (prototypeKeys.length > 0) {
    problems.push(...prototypeKeys.map((path) => `${path}: "__proto__" is not a key a stack file may use; remove it`));
    return { ok: false, problems };
  }
  const instanceResult = parseConfig(INSTANCE_KEY, instanceSchema, rawInstance, {
    byLastKey: { release: `(supported: ${Object.keys(matrix.releases).join(", ")})` },
  });
  if (!instanceResult.ok) {
    problems.push(...instanceResult.problems);
    return { ok: false, problems };
  }
  const instance = instanceResult.data;
  problems.push(...plainSecretProblems(INSTANCE_KEY, instance.extraSettings, ["extraSettings"]));
  (instance.appServers ?? []).forEach((entry, index) =>
    problems.push(...plainSecretProblems(INSTANCE_KEY, entry.extraSettings, ["appServers", index, "extraSettings"])),
  );
  if (options.stack !== undefined)
    problems.push(...instanceIdProblems(options.stack, (parsed.loadBalancer as LoadBalancerConfig | undefined)?.preliminaryBackend));
  const blacklist = (parsed.subdomainBlacklist as string[] | undefined) ?? DEFAULT_SUBDOMAIN_BLACKLIST;
  problems.push(...instanceRuleProblems(instance, matrix, blacklist));
  const mysqlServers = (parsed.mysqlServers as MysqlServerConfig[] | undefined) ?? [];
  const databases = instance.databases ?? LIFECYCLE_DEFAULTS[instance.lifecycle].databases;
  if (databases === "persistent" && mysqlServers.length === 0)
    problems.push(
      `${INSTANCE_KEY}.databases: "persistent" needs at least one server in ${NAMESPACE}:mysqlServers (or set databases: ephemeral)`,
    );
  if (instance.mysqlServer !== undefined && !mysqlServers.some((server) => server.name === instance.mysqlServer))
    problems.push(
      `${INSTANCE_KEY}.mysqlServer: "${instance.mysqlServer}" is not in ${NAMESPACE}:mysqlServers (names: ${mysqlServers.map((server) => server.name).join(", ") || "none"})`,
    );
  if (instance.lifecycle === "production" && databases === "persistent" && instance.mysqlServer === undefined && mysqlServers.length > 0)
    problems.push(unpinnedServerProblem(mysqlServers, options.stack));
  if (databases === "persistent" && problems.length === 0) {
    const server =
      instance.mysqlServer ??
      (options.stack !== undefined && mysqlServers.length > 0 && instanceIdProblems(options.stack).length === 0
        ? chooseMysqlServer(options.stack, mysqlServers.map((candidate) => candidate.name))
        : undefined);
    if (server !== undefined) problems.push(...mysqlCredentialProblems(values[`${NAMESPACE}:credentials`], server));
  }
  try {
    const domains = domainsOf(instance);
    const cookieProblem = cookieSharingProblem(domains, instance.baseDomain, instance.domains);
    if (cookieProblem !== undefined) problems.push(`${INSTANCE_KEY}.${cookieProblem}`);
    const deep = namesOutsideWildcard(domains);
    if (instance.tls?.certificate === "shared-wildcard" && deep.length > 0)
      problems.push(
        `${INSTANCE_KEY}.tls.certificate: shared-wildcard covers only names one label under ${instance.baseDomain}, ` +
          `not ${deep.map((domain) => domain.fqdn).join(", ")}; set domains.style: dash, or tls.certificate: instance`,
      );
  } catch (error) {
    // Its messages start with "domains: " and name the setting to change.
    problems.push(`${INSTANCE_KEY}.${(error as Error).message}`);
  }
  if (instance.adopt !== undefined) {
    const mongodb = parsed.mongodb as MongodbConfig | undefined;
    problems.push(
      ...adoptionProblems(instance.adopt, resolvedServices(instance), {
        databases,
        ...(mongodb ? { mongodbProjectId: mongodb.projectId } : {}),
      }),
    );
  }
  if (problems.length > 0) return { ok: false, problems };

  const resolved = resolveInstance(instance, matrix, parsed.openstack as OpenstackConfig | undefined);
  if (instance.source !== undefined && options.configurationAllowlist !== undefined)
    problems.push(...configurationAllowlistProblems(resolved, options.configurationAllowlist));
  if (problems.length > 0) return { ok: false, problems };

  const credentials = values[`${NAMESPACE}:credentials`];
  return {
    ok: true,
    warnings: extraSettingsWarnings(instance, resolved),
    config: {
      instance: resolved,
      openstack: parsed.openstack as OpenstackConfig | undefined,
      loadBalancer: parsed.loadBalancer as LoadBalancerConfig | undefined,
      mysqlServers,
      mongodb: parsed.mongodb as MongodbConfig | undefined,
      rabbitmq: parsed.rabbitmq as RabbitmqConfig | undefined,
      credentialKeys: isPlainObject(credentials) ? Object.keys(credentials).sort() : [],
      credentialPaths: secureLeafPaths(credentials).sort(),
    },
  };
}

/**
 * A production instance's data must stay where it is when the fleet's server list
 * changes: the hashed choice would move it (a new, empty database on another
 * server). The fix names the server the hash picks today, so pinning moves nothing.
 */
function unpinnedServerProblem(servers: MysqlServerConfig[], stack: string | undefined): string {
  const names = servers.map((server) => server.name);
  const fix =
    stack !== undefined
      ? `add mysqlServer: ${chooseMysqlServer(stack, names)} (the server its data is on today)`
      : `add mysqlServer: <the server its data is on> (one of ${names.join(", ")}; npm run plan -- <stack> names today's)`;
  return `${INSTANCE_KEY}.mysqlServer: required for a production instance with persistent databases, so that adding a server to ${NAMESPACE}:mysqlServers never moves its data; ${fix}`;
}

/** Credentials must be set with `pulumi config set --secret`: every value is a `secure:` leaf. */
function credentialProblems(key: string, value: unknown): string[] {
  if (isSecure(value)) return [];
  if (!isPlainObject(value)) return [`${key}: must be a mapping of secret values`];
  const known = Object.keys(fleetSchemas.credentials.shape);
  const problems: string[] = [];
  const walk = (node: unknown, path: string) => {
    if (isSecure(node)) return;
    if (isPlainObject(node)) {
      for (const [k, v] of Object.entries(node)) walk(v, `${path}.${k}`);
      return;
    }
    problems.push(`${path}: is plain text; set it with: pulumi config set --secret --path '${path}' <value>`);
  };
  for (const [k, v] of Object.entries(value)) {
    if (!known.includes(k)) problems.push(`${key}.${k}: unknown key${didYouMeanHint(k, known) || ` (known: ${known.join(", ")})`}`);
    else walk(v, `${key}.${k}`);
  }
  return problems;
}

const isSecure = isSecureValue;
/** Where `__proto__` is used as a key, at any depth. */
function prototypeKeyPaths(value: unknown, path: string): string[] {
  if (Array.isArray(value)) return value.flatMap((item, index) => prototypeKeyPaths(item, `${path}[${index}]`));
  if (!isPlainObject(value)) return [];
  return Object.keys(value).flatMap((key) =>
    key === "__proto__" ? [`${path}.${key}`] : prototypeKeyPaths(value[key], `${path}.${key}`),
  );
}

/** Compares repository URLs without a trailing `/` or `.git`, host in lowercase. */
function sameRepository(a: string, b: string): boolean {
  const norm = (url: string) => {
    const match = /^(https:\/\/)([^/]+)(\/.*)$/.exec(url.trim());
    const [scheme, host, rest] = match ? [match[1], match[2].toLowerCase(), match[3]] : ["", "", url.trim()];
    return `${scheme}${host}${rest.replace(/\/+$/, "").replace(/\.git$/, "")}`;
  };
  return norm(a) === norm(b);
}

/**
 * Defence in depth for generated sandboxes: the playbook runs on the deploy
 * machine, so its repository and playbook must be ones the operator allowed,
 * even when someone edits a generated stack file by hand.
 */
function configurationAllowlistProblems(
  instance: ResolvedInstance,
  allowlist: NonNullable<ValidateOptions["configurationAllowlist"]>,
): string[] {
  const problems: string[] = [];
  for (const appServer of instance.appServers) {
    const configuration = appServer.release.configuration;
    if (!configuration) continue;
    if (!allowlist.repositories.some((allowed) => sameRepository(allowed, configuration.repository)))
      problems.push(
        `${INSTANCE_KEY}.configuration.repository: ${configuration.repository} is not an allowed configuration repository for a generated sandbox (allowed: ${allowlist.repositories.join(", ")}); add it to allowedConfiguration in config/watched-forks.yaml`,
      );
    if (!allowlist.playbooks.includes(configuration.playbook))
      problems.push(
        `${INSTANCE_KEY}.configuration.playbook: ${configuration.playbook} is not an allowed playbook for a generated sandbox (allowed: ${allowlist.playbooks.join(", ")}); add it to allowedConfiguration in config/watched-forks.yaml`,
      );
  }
  return problems;
}


/** The dotted path of every `secure:` leaf (or other value) under credentials. */
function secureLeafPaths(value: unknown, prefix = ""): string[] {
  if (!isPlainObject(value) || isSecure(value)) return prefix ? [prefix] : [];
  return Object.entries(value).flatMap(([key, inner]) => secureLeafPaths(inner, prefix ? `${prefix}.${key}` : key));
}

/**
 * The admin password of the server this stack's databases are on: when credentials.mysql is set it must
 * name that server (otherwise the provider reads MYSQL_PASSWORD). Said here, as one line with the command
 * that sets it, rather than by the provider, mid-update, from inside a serialized value.
 */
function mysqlCredentialProblems(credentials: unknown, server: string): string[] {
  if (!isPlainObject(credentials) || isSecure(credentials)) return [];
  const mysql = credentials.mysql;
  if (!isPlainObject(mysql) || isSecure(mysql) || Object.hasOwn(mysql, server)) return [];
  const key = `${NAMESPACE}:credentials.mysql.${server}`;
  const others = Object.keys(mysql);
  return [
    `${key}: required (this stack's databases are on ${server}; credentials.mysql names ${others.join(", ") || "no server"}); set it with: pulumi config set --secret --path '${key}' <admin password>`,
  ];
}


/** Rules that involve several keys, the version matrix or the blacklist. */
function instanceRuleProblems(instance: InstanceConfig, matrix: VersionMatrix, blacklist: string[]): string[] {
  const problems: string[] = [];
  const at = (path: string) => (path ? `${INSTANCE_KEY}.${path.replace(/\.$/, "")}` : INSTANCE_KEY);

  const sub = instance.subDomain;
  if (blacklist.includes(sub) || blacklist.includes(sub.split(".")[0]))
    problems.push(`${at("subDomain")}: "${sub}" is blacklisted (${NAMESPACE}:subdomainBlacklist); choose another`);

  const checkChoice = (path: string, choice: { release?: string; deployment?: string; stage?: string }, alone = false) => {
    if (choice.release !== undefined && choice.deployment !== undefined)
      problems.push(`${at(path)}: give either release or deployment and stage, not both`);
    if (!alone && (choice.deployment === undefined) !== (choice.stage === undefined))
      problems.push(`${at(path)}: deployment and stage go together (stages: CI, QA, Production)`);
    if (choice.deployment !== undefined && !Object.hasOwn(matrix.deployments, choice.deployment))
      problems.push(
        `${at(path + "deployment")}: unknown deployment "${choice.deployment}"${didYouMeanHint(choice.deployment, Object.keys(matrix.deployments))} (known: ${Object.keys(matrix.deployments).join(", ")})`,
      );
    if (choice.release !== undefined) {
      const release = own(matrix.releases, choice.release);
      if (!release)
        problems.push(
          `${at(path + "release")}: "${choice.release}" is not a supported release${didYouMeanHint(choice.release, Object.keys(matrix.releases))} (supported: ${Object.keys(matrix.releases).join(", ")})`,
        );
    }
  };
  // A production instance names its deployment alone: its appservers pin their releases.
  checkChoice("", instance, instance.lifecycle === "production");

  if (instance.pullRequestSettings !== undefined) {
    if (instance.source === undefined || instance.lifecycle !== "sandbox")
      problems.push(
        `${at("pullRequestSettings")}: only a generated sandbox (lifecycle sandbox, with source) carries a pull request's settings; put your own variables in extraSettings`,
      );
    for (const path of keyPaths(instance.pullRequestSettings, at("pullRequestSettings"), (key) => /^(__)?ansible_/i.test(key)))
      problems.push(`${path}: Ansible's own variables (ansible_*) may not come from a pull request; remove it`);
    for (const path of keyPaths(instance.pullRequestSettings, at("pullRequestSettings"), (key) => /^secure$/i.test(key) || namesSecret(key)))
      problems.push(`${path}: secrets (and secure: values, which Pulumi decrypts) may not come from a pull request; remove it`);
  }

  if (instance.lifecycle === "sandbox") {
    if (instance.appServers !== undefined)
      problems.push(`${at("appServers")}: sandboxes build and activate their appserver automatically; remove this key`);
    if (instance.activeAppServer !== undefined)
      problems.push(`${at("activeAppServer")}: sandboxes activate their newest healthy appserver; remove this key`);
  } else {
    if (instance.stage !== undefined)
      problems.push(
        `${at("stage")}: a production instance does not follow a stage of the version matrix: each appserver pins its release (appServers[].release), so a change of ${instance.deployment ?? "the deployment"}/${instance.stage} in the matrix would change nothing here; remove stage (deployment stays: it gives each appserver's release the deployment's repositories and branches)`,
      );
    for (const key of ["extraSettings", "djangoSettings", "edxPlatform", "configuration", "release", "flavor", "image", "appServerCount"] as const)
      if (instance[key] !== undefined)
        problems.push(
          `${at(key)}: production appservers keep the settings they were built from; set ${key} on an entry of appServers instead`,
        );
    const ids = new Set<string>();
    (instance.appServers ?? []).forEach((entry, index) => {
      const path = `appServers[${index}]`;
      if (ids.has(entry.id)) problems.push(`${at(path + ".id")}: "${entry.id}" is used twice; appserver ids are unique`);
      ids.add(entry.id);
      if (entry.deployment !== undefined || entry.stage !== undefined)
        problems.push(`${at(path)}: an appserver pins its release; use release (the instance's deployment supplies repository overrides)`);
      if (entry.release === undefined)
        problems.push(`${at(path + ".release")}: required in production (an appserver's release is frozen with it)`);
      else if (
        instance.deployment !== undefined &&
        Object.hasOwn(matrix.deployments, instance.deployment) &&
        Object.hasOwn(matrix.releases, entry.release) &&
        !matrix.releaseMap[entry.release]?.[instance.deployment]
      )
        problems.push(
          `${at(path + ".release")}: the version matrix has no applications of deployment "${instance.deployment}" for release "${entry.release}", so this appserver would lose the deployment's repositories and branches; add releaseMap.${entry.release}.${instance.deployment} to config/matrix/data.ts or choose one of ${Object.keys(matrix.releaseMap).filter((r) => matrix.releaseMap[r]?.[instance.deployment as string]).join(", ")}`,
        );
      checkChoice(`${path}.`, entry);
    });
    if (instance.activeAppServer !== undefined && !ids.has(instance.activeAppServer))
      problems.push(
        `${at("activeAppServer")}: "${instance.activeAppServer}" is not the id of an entry in appServers (ids: ${[...ids].join(", ") || "none"})`,
      );
  }

  if (problems.length === 0) {
    for (const { path, release, build } of releasesUsed(instance, matrix)) {
      const supported = own(matrix.releases, release);
      if (!supported) continue;
      const prefix = path.replace(/(^|\.)(release|stage)$/, "");
      const settingsAt = at(prefix ? `${prefix}.extraSettings` : "extraSettings");
      if (supported.provisioner === "tutor" && supported.tutor) {
        problems.push(...tutorSettingsProblems(build.extraSettings ?? {}, supported.tutor, { at: settingsAt }));
        // A pull request's settings: the same keys, with the stricter policy for what a pull request may set.
        if (prefix === "" && instance.pullRequestSettings !== undefined)
          problems.push(
            ...tutorSettingsProblems(instance.pullRequestSettings, supported.tutor, { at: at("pullRequestSettings"), fromPullRequest: true }),
          );
      }
      if (supported.provisioner === "ansible" && build.djangoSettings !== undefined)
        problems.push(
          `${at(prefix ? `${prefix}.djangoSettings` : "djangoSettings")}: release "${release}" is built with Ansible; give Django settings as EDXAPP_LMS_ENV_EXTRA / EDXAPP_CMS_ENV_EXTRA in extraSettings`,
        );
      if (supported.provisioner === "tutor" && build.configuration !== undefined)
        problems.push(`${at(prefix ? `${prefix}.configuration` : "configuration")}: release "${release}" is built with Tutor, which uses no configuration repository; remove this key`);
    }
  }
  return problems;
}

/** Where a key that `matches` is used, at any depth (not below it). */
function keyPaths(value: unknown, path: string, matches: (key: string) => boolean): string[] {
  if (Array.isArray(value)) return value.flatMap((item, index) => keyPaths(item, `${path}[${index}]`, matches));
  if (!isPlainObject(value)) return [];
  return Object.keys(value).flatMap((key) => (matches(key) ? [`${path}.${key}`] : keyPaths(value[key], `${path}.${key}`, matches)));
}

/** Per appserver, each extraSettings key the configuration repository at its release's ref does not define. */
function extraSettingsWarnings(instance: InstanceConfig, resolved: ResolvedInstance): string[] {
  if (instance.lifecycle === "production")
    return (instance.appServers ?? []).flatMap((entry, index) =>
      unknownSettingWarnings(`${INSTANCE_KEY}.appServers[${index}].extraSettings`, resolved.appServers[index]?.release.release ?? "", entry.extraSettings),
    );
  return unknownSettingWarnings(`${INSTANCE_KEY}.extraSettings`, resolved.appServers[0]?.release.release ?? "", instance.extraSettings);
}

/** Each appserver build of the instance, with the release it resolves to and where that is in the config. */
function releasesUsed(instance: InstanceConfig, matrix: VersionMatrix): { path: string; release: string; build: Omit<AppServerEntry, "id"> }[] {
  if (instance.lifecycle === "production")
    return (instance.appServers ?? []).map((entry, index) => ({
      path: `appServers[${index}].release`,
      release: entry.release ?? DEFAULT_RELEASE,
      build: entry,
    }));
  if (instance.deployment !== undefined && instance.stage !== undefined)
    return [{ path: "stage", release: own(own(matrix.deployments, instance.deployment), instance.stage) ?? "", build: instance }];
  return [{ path: "release", release: instance.release ?? DEFAULT_RELEASE, build: instance }];
}

function resolveInstance(instance: InstanceConfig, matrix: VersionMatrix, openstack?: OpenstackConfig): ResolvedInstance {
  const defaults = LIFECYCLE_DEFAULTS[instance.lifecycle];
  const flavorDefault = openstack?.flavors?.[instance.lifecycle] ?? defaults.flavor;
  const imageDefault = openstack?.defaultImage ?? "ubuntu-20.04";
  const deployment = instance.deployment;

  const resolveAppServer = (
    id: string | undefined,
    build: Omit<AppServerEntry, "id">,
    pullRequestSettings?: Record<string, unknown>,
  ): ResolvedAppServer => {
    let release: ResolvedRelease;
    if (build.deployment !== undefined && build.stage !== undefined)
      release = resolveRelease(matrix, { deployment: build.deployment, stage: build.stage });
    else {
      const name = build.release ?? DEFAULT_RELEASE;
      release =
        deployment !== undefined && own(own(matrix.releaseMap, name), deployment)
          ? resolveRelease(matrix, { deployment, release: name })
          : resolveRelease(matrix, { release: name });
    }
    const withOverrides = applyOverrides(release, build);
    const resolved = {
      release: withOverrides,
      // Secret values become SecretSetting: "[secret]" in the fingerprint, a Pulumi secret in the program.
      extraSettings: withSecretSettings(build.extraSettings ?? {}) as Record<string, unknown>,
      // Only when present: the id of every other appserver stays what it was.
      ...(pullRequestSettings !== undefined ? { pullRequestSettings } : {}),
      ...(build.djangoSettings !== undefined ? { djangoSettings: build.djangoSettings } : {}),
      flavor: build.flavor ?? flavorDefault,
      image: build.image ?? (withOverrides.provisioner === "tutor" ? (openstack?.tutorImage ?? imageDefault) : imageDefault),
      count: build.appServerCount ?? defaults.appServerCount,
    };
    return { id: id ?? buildFingerprint(resolved), ...resolved };
  };

  const appServers =
    instance.lifecycle === "production"
      ? (instance.appServers ?? []).map(({ id, ...build }) => resolveAppServer(id, build))
      : [resolveAppServer(undefined, instance, instance.pullRequestSettings)];
  const activeAppServer = instance.lifecycle === "production" ? instance.activeAppServer : appServers[0]?.id;

  return {
    name: instance.name,
    subDomain: instance.subDomain,
    baseDomain: instance.baseDomain,
    lifecycle: instance.lifecycle,
    ...(deployment !== undefined ? { deployment, stage: instance.stage } : {}),
    databases: instance.databases ?? defaults.databases,
    dnsTtl: instance.dnsTtl ?? DEFAULT_DNS_TTL,
    domains: instance.domains ?? {},
    tls: { certificate: certificateMode(instance, domainsOf(instance)), ...(instance.tls?.hsts ? { hsts: instance.tls.hsts } : {}) },
    services: resolvedServices(instance),
    securityGroup: {
      sshSources: instance.securityGroup?.sshSources ?? ["0.0.0.0/0", "::/0"],
      extraRules: instance.securityGroup?.extraRules ?? [],
      extraGroups: instance.securityGroup?.extraGroups ?? [],
    },
    data: {
      retainOnDelete: instance.data?.retainOnDelete ?? defaults.retainOnDelete,
      protect: instance.data?.protect ?? defaults.protect,
    },
    autoActivate: defaults.autoActivate,
    appServers,
    ...(activeAppServer !== undefined ? { activeAppServer } : {}),
    ...(instance.mysqlServer !== undefined ? { mysqlServer: instance.mysqlServer } : {}),
    ...(instance.adopt !== undefined ? { adopt: instance.adopt } : {}),
    ...(instance.source ? { source: instance.source } : {}),
  };
}

/**
 * The lifecycle's default, except that a sandbox whose names the wildcard cannot cover
 * (domains.style: subdomain) gets a certificate of its own. Generated sandboxes use the
 * dash style, so the hundreds of them share one certificate.
 */
function certificateMode(instance: InstanceConfig, domains: InstanceDomain[]): CertificateMode {
  if (instance.tls?.certificate !== undefined) return instance.tls.certificate;
  const preferred = LIFECYCLE_DEFAULTS[instance.lifecycle].certificate;
  return preferred === "shared-wildcard" && namesOutsideWildcard(domains).length > 0 ? "instance" : preferred;
}

function domainsOf(instance: InstanceConfig): InstanceDomain[] {
  const services = resolvedServices(instance);
  return deriveDomains({
    subDomain: instance.subDomain,
    baseDomain: instance.baseDomain,
    ...(instance.domains ? { options: instance.domains } : {}),
    enabled: { ecommerce: services.ecommerce, discovery: services.discovery },
  });
}

function resolvedServices(instance: InstanceConfig): ResolvedInstance["services"] {
  return resolveServices(instance.services);
}

/** The services an instance runs: the forum always, xqueue and notes unless turned off, ecommerce and discovery when turned on. */
export function resolveServices(services: InstanceConfig["services"] = {}): ResolvedInstance["services"] {
  return {
    forum: true,
    xqueue: services.xqueue ?? true,
    notes: services.notes ?? true,
    ecommerce: services.ecommerce ?? false,
    discovery: services.discovery ?? false,
  };
}

function applyOverrides(release: ResolvedRelease, build: Omit<AppServerEntry, "id">): ResolvedRelease {
  const result: ResolvedRelease = { ...release, applications: { ...release.applications } };
  const platform = result.applications["edx-platform"];
  if (platform && build.edxPlatform)
    result.applications["edx-platform"] = {
      ...platform,
      repository: build.edxPlatform.repository ?? platform.repository,
      ref: build.edxPlatform.ref ?? platform.ref,
    };
  if (result.configuration && build.configuration)
    result.configuration = {
      repository: build.configuration.repository ?? result.configuration.repository,
      ref: build.configuration.ref ?? result.configuration.ref,
      playbook: build.configuration.playbook ?? result.configuration.playbook,
    };
  return result;
}

/**
 * A sandbox appserver's id: a digest of everything it is built from. A change of
 * settings gives a new id, hence a new VM built beside the old one.
 */
export function buildFingerprint(build: Omit<ResolvedAppServer, "id">): string {
  return createHash("sha256").update(canonicalJson(build)).digest("hex").slice(0, 8);
}


