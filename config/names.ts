/**
 * Every name derived from an instance: MySQL databases and users, MongoDB
 * databases and user, RabbitMQ vhost and users, the security group, the VMs.
 *
 * The instance id is the Pulumi stack name ("prod", "pr-123", possibly long,
 * mixed case, with `-` `_` `.`). All names share one *base*:
 *
 *     <slug>_<hash>        e.g. "prod_5a9e3c1f", "pr_123_0b6d2e47"
 *
 * - slug: the id lowercased, every run of characters outside [a-z0-9] turned
 *   into one `_`, cut to 12 characters (readable, for operators);
 * - hash: the first 8 hex digits of SHA-256 over the *full, unchanged* id.
 *
 * The hash is always there, not only when the id is truncated, because the slug
 * is lossy even for short ids: "pr-1", "pr_1", "PR.1" are three stack names
 * with one slug. With an unconditional hash, two ids can share a name only if
 * they share a 32-bit hash *and* a slug; every name has one recognisable shape;
 * and a name never changes because an id crossed a length threshold.
 *
 * Names are only [a-z0-9_] (hyphens for OpenStack/host names), safe unquoted in
 * MySQL, MongoDB and RabbitMQ (no `@`, `.`, `$`, `/`). Every name is the base
 * plus `_` plus a fixed suffix, and no suffix ends with `_<another suffix>`, so a
 * name splits into (base, suffix) one way only: one instance's name is never
 * another's, whatever their ids. MySQL reads `_` as a wildcard in database
 * names of GRANT statements: grant with `mysqlGrantDatabasePattern`, which
 * escapes it.
 */
import { createHash } from "node:crypto";

export const SLUG_MAX_LENGTH = 12;
export const HASH_LENGTH = 8;
/** slug + "_" + hash */
export const BASE_MAX_LENGTH = SLUG_MAX_LENGTH + 1 + HASH_LENGTH;

export const MYSQL_DATABASE_NAME_MAX = 64;
/** MySQL 5.7.8+ and 8.x; MariaDB allows 80, the smaller limit holds for both. */
export const MYSQL_USER_NAME_MAX = 32;
/** MongoDB database names must be shorter than 64 bytes. */
export const MONGO_DATABASE_NAME_MAX = 63;
/** A DNS label: VM names become host names. */
export const HOST_LABEL_MAX = 63;

/** Enabled optional services; the shape of `ResolvedInstance.services` (missing = off). */
export type ServiceFlags = Partial<Record<"xqueue" | "notes" | "ecommerce" | "discovery" | "forum", boolean>>;

/**
 * The instance's MySQL databases, by key. The key is the name suffix.
 * `edxapp_csmh` holds courseware student module history, split out of edxapp
 * as Open edX's settings expect.
 */
export const MYSQL_DATABASE_KEYS = ["edxapp", "edxapp_csmh", "xqueue", "notes", "ecommerce", "discovery"] as const;
export type MysqlDatabaseKey = (typeof MYSQL_DATABASE_KEYS)[number];

/**
 * The instance's MySQL users, by role: one runtime user per application;
 * `migrate`, which runs schema migrations for all of them (configuration's
 * COMMON_MYSQL_MIGRATE_USER); and `read_only`, which reads all of them
 * (COMMON_MYSQL_READ_ONLY_USER: reports, dumps, support queries). Which
 * privileges each gets: components/mysql-grants.ts.
 */
export const MYSQL_ROLES = ["edxapp", "migrate", "xqueue", "notes", "ecommerce", "discovery", "read_only"] as const;
export type MysqlRole = (typeof MYSQL_ROLES)[number];

export const RABBIT_ROLES = ["provider", "consumer"] as const;
export type RabbitRole = (typeof RABBIT_ROLES)[number];

export class NameError extends Error {}

function requireInstanceId(instanceId: string): void {
  if (typeof instanceId !== "string" || instanceId.length === 0)
    throw new NameError("instance id: must be a non-empty string (the Pulumi stack name, e.g. prod or pr-123)");
}

/** The readable part of every name: lowercase [a-z0-9_], never starting with a digit or `_`. */
export function instanceSlug(instanceId: string): string {
  requireInstanceId(instanceId);
  let slug = instanceId
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "");
  // A leading digit invites MySQL's number parsing ("1e5"); a letter avoids it.
  if (slug === "" || /^[0-9]/.test(slug)) slug = `i${slug}`;
  return slug.slice(0, SLUG_MAX_LENGTH).replace(/_+$/, "");
}

export function instanceHash(instanceId: string): string {
  requireInstanceId(instanceId);
  return createHash("sha256").update(instanceId, "utf8").digest("hex").slice(0, HASH_LENGTH);
}

/** `<slug>_<hash>`: at most 21 characters, [a-z0-9_]. */
export function instanceNameBase(instanceId: string): string {
  return `${instanceSlug(instanceId)}_${instanceHash(instanceId)}`;
}

function checkedSuffix(kind: string, suffix: string, allowed: readonly string[]): string {
  if (!allowed.includes(suffix)) throw new NameError(`${kind}: "${suffix}" is not one of ${allowed.join(", ")}`);
  return suffix;
}

/** e.g. mysqlDatabaseName("prod", "edxapp") = "prod_5a9e3c1f_edxapp" (≤ 33 characters). */
export function mysqlDatabaseName(instanceId: string, service: string): string {
  return `${instanceNameBase(instanceId)}_${checkedSuffix("MySQL database", service, MYSQL_DATABASE_KEYS)}`;
}

/** e.g. mysqlUserName("prod", "migrate") = "prod_5a9e3c1f_migrate" (≤ 32 characters). */
export function mysqlUserName(instanceId: string, role: string): string {
  return `${instanceNameBase(instanceId)}_${checkedSuffix("MySQL role", role, MYSQL_ROLES)}`;
}

/** Databases the instance has for its enabled services; edxapp and edxapp_csmh always. */
export function mysqlDatabaseKeys(services: ServiceFlags): MysqlDatabaseKey[] {
  return MYSQL_DATABASE_KEYS.filter((key) => key === "edxapp" || key === "edxapp_csmh" || services[key] === true);
}

/** Users the instance has for its enabled services; edxapp, migrate and read_only always. */
export function mysqlRoles(services: ServiceFlags): MysqlRole[] {
  return MYSQL_ROLES.filter((role) => {
    switch (role) {
      case "edxapp":
      case "migrate":
      case "read_only":
        return true;
      default:
        return services[role] === true;
    }
  });
}

/** The instance's MySQL database names by key, for the services it runs. */
export function instanceDatabaseNames(instanceId: string, services: ServiceFlags): Partial<Record<MysqlDatabaseKey, string>> {
  return Object.fromEntries(mysqlDatabaseKeys(services).map((key) => [key, mysqlDatabaseName(instanceId, key)]));
}

/** The instance's MySQL user names by role, for the services it runs. */
export function instanceMysqlUserNames(instanceId: string, services: ServiceFlags): Partial<Record<MysqlRole, string>> {
  return Object.fromEntries(mysqlRoles(services).map((role) => [role, mysqlUserName(instanceId, role)]));
}

/**
 * A database name as GRANT expects it at database level: `_` and `%` are
 * wildcards there, so they are escaped with a backslash. Put the result inside
 * backticks (or pass it as @pulumi/mysql Grant's `database`).
 */
export function mysqlGrantDatabasePattern(databaseName: string): string {
  return databaseName.replace(/[\\_%]/g, (character) => `\\${character}`);
}

export function mongoDatabaseNames(instanceId: string): { main: string; forum: string } {
  const base = instanceNameBase(instanceId);
  return { main: `${base}_edxapp`, forum: `${base}_forum` };
}

export function mongoUserName(instanceId: string): string {
  return `${instanceNameBase(instanceId)}_mongo`;
}

export function rabbitVhostName(instanceId: string): string {
  return `${instanceNameBase(instanceId)}_vhost`;
}

/** No `@`: the RabbitMQ provider's ids are `user@vhost`. */
export function rabbitUserName(instanceId: string, role: RabbitRole): string {
  return `${instanceNameBase(instanceId)}_${checkedSuffix("RabbitMQ role", role, RABBIT_ROLES)}`;
}

/** The base with hyphens, for OpenStack names and host names. */
function hostBase(instanceId: string): string {
  return instanceNameBase(instanceId).replace(/_/g, "-");
}

/** e.g. "openedx-im-prod-5a9e3c1f"; unique per instance in the OpenStack project. */
export function securityGroupName(instanceId: string): string {
  return `openedx-im-${hostBase(instanceId)}`;
}

/** e.g. "prod-5a9e3c1f-blue-0": a valid host name label (≤ 63, [a-z0-9-]). */
export function appServerVmName(instanceId: string, appServerId: string, index: number): string {
  if (!/^[a-z0-9]{1,16}$/.test(appServerId))
    throw new NameError(`appserver id "${appServerId}": must be 1-16 lowercase letters or digits`);
  if (!Number.isInteger(index) || index < 0 || index > 99)
    throw new NameError(`appserver VM index ${index}: must be an integer from 0 to 99`);
  return `${hostBase(instanceId)}-${appServerId}-${index}`;
}

/**
 * The MySQL server an instance lives on, by rendezvous (highest-random-weight)
 * hashing: each server scores SHA-256(instanceId, server) and the highest wins.
 * Deterministic and independent of the list's order; adding a server moves only
 * the instances that now score highest on it (about 1/(n+1) of them), removing
 * one moves only its own. An instance whose data already lives elsewhere should
 * pin its server explicitly (a `mysqlServer` key in the instance config) rather
 * than rely on this choice staying put when the fleet changes.
 */
export function chooseMysqlServer(instanceId: string, serverNames: string[]): string {
  requireInstanceId(instanceId);
  if (serverNames.length === 0)
    throw new NameError("mysqlServers: no MySQL server is configured; add one to openedx-im:mysqlServers in Pulumi.yaml");
  const score = (name: string): bigint =>
    createHash("sha256").update(instanceId, "utf8").update("\0").update(name, "utf8").digest().readBigUInt64BE(0);
  let best = { name: serverNames[0], score: score(serverNames[0]) };
  for (const name of serverNames.slice(1)) {
    const candidate = { name, score: score(name) };
    if (candidate.score > best.score || (candidate.score === best.score && name < best.name)) best = candidate;
  }
  return best.name;
}
