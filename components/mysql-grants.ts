/**
 * What each of an instance's MySQL users may do, and where: the one list both
 * components/mysql.ts (which creates the grants) and the grant audit
 * (tools/audit-grants, which checks and repairs them) read.
 *
 * Privileges are listed explicitly rather than as ALL PRIVILEGES: what ALL
 * expands to differs between MySQL and MariaDB versions, and an explicit list
 * can be compared with the server's grant tables exactly.
 */
import {
  type MysqlDatabaseKey,
  type MysqlRole,
  type ServiceFlags,
  mysqlDatabaseKeys,
  mysqlDatabaseName,
  mysqlGrantDatabasePattern,
  mysqlRoles,
  mysqlUserName,
} from "../config/names";

/** Reading and writing rows: what an application needs at run time. */
export const RUNTIME_PRIVILEGES = ["SELECT", "INSERT", "UPDATE", "DELETE"] as const;

/** Reading rows and nothing else: reports, dumps, support queries (configuration's COMMON_MYSQL_READ_ONLY_USER). */
export const READ_ONLY_PRIVILEGES = ["SELECT"] as const;

/** Django migrations (and the dumps taken before them): schema changes inside the database. */
export const MIGRATE_PRIVILEGES = [
  "SELECT",
  "INSERT",
  "UPDATE",
  "DELETE",
  "CREATE",
  "DROP",
  "ALTER",
  "INDEX",
  "REFERENCES",
  "CREATE TEMPORARY TABLES",
  "LOCK TABLES",
  "CREATE VIEW",
  "SHOW VIEW",
] as const;

export type MysqlPrivilege = (typeof MIGRATE_PRIVILEGES)[number];

/** The privileges of one role on each of its databases. */
export function mysqlRolePrivileges(role: MysqlRole): readonly MysqlPrivilege[] {
  switch (role) {
    case "migrate":
      return MIGRATE_PRIVILEGES;
    case "read_only":
      return READ_ONLY_PRIVILEGES;
    default:
      return RUNTIME_PRIVILEGES;
  }
}

/** The databases a role reaches: its application's own; migrate and read_only reach all of the instance's. */
export function mysqlRoleDatabases(role: MysqlRole, services: ServiceFlags): MysqlDatabaseKey[] {
  const present = mysqlDatabaseKeys(services);
  switch (role) {
    case "migrate":
    case "read_only":
      return present;
    case "edxapp":
      return ["edxapp", "edxapp_csmh"];
    default:
      return present.filter((key) => key === role);
  }
}

/** Actual names of an instance's databases and users: derived, or adopted ones in their place. */
export interface MysqlNameOverrides {
  databases?: Partial<Record<MysqlDatabaseKey, string>>;
  users?: Partial<Record<MysqlRole, string>>;
  /** Each user's account host, where known: one name on two hosts is two accounts. */
  hosts?: Partial<Record<MysqlRole, string>>;
}

/** One database-level grant, ready for @pulumi/mysql `Grant` or a GRANT statement. */
export interface MysqlGrantSpec {
  role: MysqlRole;
  user: string;
  /** The account's host, when the names came with one (MysqlNameOverrides.hosts). */
  host?: string;
  databaseKey: MysqlDatabaseKey;
  /** The database's real name. */
  database: string;
  /** The name as GRANT needs it (`_` and `%` escaped): pass this as `Grant.database`. */
  grantDatabase: string;
  privileges: MysqlPrivilege[];
}

/** Every grant the instance's users should have, and nothing else. */
export function instanceMysqlGrants(instanceId: string, services: ServiceFlags, overrides: MysqlNameOverrides = {}): MysqlGrantSpec[] {
  const grants: MysqlGrantSpec[] = [];
  for (const role of mysqlRoles(services)) {
    const user = overrides.users?.[role] ?? mysqlUserName(instanceId, role);
    const host = overrides.hosts?.[role];
    for (const databaseKey of mysqlRoleDatabases(role, services)) {
      const database = overrides.databases?.[databaseKey] ?? mysqlDatabaseName(instanceId, databaseKey);
      grants.push({
        role,
        user,
        ...(host !== undefined ? { host } : {}),
        databaseKey,
        database,
        grantDatabase: mysqlGrantDatabasePattern(database),
        privileges: [...mysqlRolePrivileges(role)],
      });
    }
  }
  return grants;
}

/**
 * One grant per (account, database): roles that share a user (an adopted user
 * serving edxapp and migrate, say) would otherwise declare two grants on the
 * same database, and deleting either would REVOKE the other's privileges.
 * The merged grant keeps the first role's name and the union of privileges,
 * in the order of MIGRATE_PRIVILEGES. One name on two hosts is two accounts,
 * merged separately.
 */
export function mergeGrants(grants: MysqlGrantSpec[]): MysqlGrantSpec[] {
  const merged = new Map<string, MysqlGrantSpec>();
  for (const grant of grants) {
    const key = `${grant.user}\u0000${grant.host ?? ""}\u0000${grant.database}`;
    const existing = merged.get(key);
    if (!existing) {
      merged.set(key, { ...grant, privileges: [...grant.privileges] });
      continue;
    }
    const union = new Set([...existing.privileges, ...grant.privileges]);
    existing.privileges = MIGRATE_PRIVILEGES.filter((privilege) => union.has(privilege));
  }
  return [...merged.values()];
}
