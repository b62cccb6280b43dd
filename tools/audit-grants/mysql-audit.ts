/**
 * The grant audit's decisions for MySQL/MariaDB, as pure functions over what the
 * server's grant tables say: which privileges an instance user holds beyond its
 * own databases, which it lacks, and the statements that make it exact.
 *
 * Nothing here talks to a server (mysql-server.ts does), so every decision has
 * a plain unit test.
 */
import type { MysqlGrantSpec } from "../../components/mysql-grants";
import { mysqlGrantDatabasePattern } from "../../components/names";

export interface MysqlAccount {
  user: string;
  host: string;
}

/** One row of information_schema.{USER,SCHEMA,TABLE,COLUMN}_PRIVILEGES for an account. */
export type ObservedPrivilege =
  | { level: "global"; privilege: string; grantable: boolean }
  /** `database` as stored: a LIKE pattern where `_` and `%` are wildcards unless escaped with `\`. */
  | { level: "database"; database: string; privilege: string; grantable: boolean }
  | { level: "table"; database: string; table: string; privilege: string; grantable: boolean }
  | { level: "column"; database: string; table: string; column: string; privilege: string; grantable: boolean };

export interface ObservedAccount extends MysqlAccount {
  privileges: ObservedPrivilege[];
  /** Roles granted to the account (MariaDB `role`, MySQL `'role'@'host'`). */
  roles: Array<{ role: string; host?: string }>;
}

/** What the audit knows about one instance: its databases and the grants its users should have. */
export interface MysqlInstanceScope {
  instanceId: string;
  /** Every MySQL database name of the instance. */
  databases: string[];
  grants: MysqlGrantSpec[];
}

export type FindingKind =
  | "global"
  | "other-instance"
  | "foreign-database"
  | "outside-role"
  | "wildcard"
  | "excess"
  | "grant-option"
  | "table-level"
  | "role"
  | "missing";

export interface Finding {
  kind: FindingKind;
  /** One line for an operator: what is wrong, where. */
  message: string;
}

export interface AccountPlan {
  instanceId: string;
  roles: string[];
  account: MysqlAccount;
  findings: Finding[];
  /** GRANTs first, then REVOKEs: the application never loses what it needs while the plan runs. */
  statements: string[];
}

/** 'user'@'host' with the default sql_mode's string escaping. */
export function quoteAccount({ user, host }: MysqlAccount): string {
  return `${quoteString(user)}@${quoteString(host)}`;
}

function quoteString(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

export function quoteIdentifier(name: string): string {
  return `\`${name.replace(/`/g, "``")}\``;
}

/** Does a database-level grant pattern (`_`, `%` wildcards, `\` escapes) cover this database name? */
export function grantPatternMatches(pattern: string, database: string): boolean {
  let regex = "";
  for (let index = 0; index < pattern.length; index += 1) {
    const character = pattern.charAt(index);
    if (character === "\\" && index + 1 < pattern.length) {
      index += 1;
      regex += escapeRegex(pattern.charAt(index));
    } else if (character === "_") regex += ".";
    else if (character === "%") regex += ".*";
    else regex += escapeRegex(character);
  }
  // Database names compare case-insensitively on case-insensitive file systems; be strict the other way.
  return new RegExp(`^${regex}$`, "i").test(database);
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Which instances (other than `self`) own a database this pattern reaches. */
function instancesReached(pattern: string, self: string, instances: MysqlInstanceScope[]): string[] {
  return instances
    .filter((instance) => instance.instanceId !== self)
    .filter((instance) => instance.databases.some((database) => grantPatternMatches(pattern, database)))
    .map((instance) => instance.instanceId);
}

/** The exact grants one user name should hold: the union over every role mapped to it. */
export function desiredGrantsFor(user: string, scope: MysqlInstanceScope): Map<string, Set<string>> {
  const desired = new Map<string, Set<string>>();
  for (const grant of scope.grants.filter((candidate) => candidate.user === user)) {
    const privileges = desired.get(grant.grantDatabase) ?? new Set<string>();
    for (const privilege of grant.privileges) privileges.add(privilege);
    desired.set(grant.grantDatabase, privileges);
  }
  return desired;
}

function sorted(values: Iterable<string>): string[] {
  return [...values].sort();
}

/**
 * Compares an account with what its instance grants it and plans the
 * statements that make it exact. `serverDatabases` (what exists on the server)
 * helps say whose database a too-wide pattern reaches.
 */
export function planAccount(
  observed: ObservedAccount,
  scope: MysqlInstanceScope,
  allInstances: MysqlInstanceScope[],
  serverDatabases: string[] = [],
): AccountPlan {
  const account = quoteAccount(observed);
  const findings: Finding[] = [];
  const grants: string[] = [];
  const revokes: string[] = [];
  const desired = desiredGrantsFor(observed.user, scope);
  const ownDatabases = new Set(scope.databases.map(mysqlGrantDatabasePattern));
  const roles = sorted(new Set(scope.grants.filter((grant) => grant.user === observed.user).map((grant) => grant.role)));

  const global = observed.privileges.filter((row) => row.level === "global");
  const globalPrivileges = sorted(new Set(global.map((row) => row.privilege).filter((privilege) => privilege !== "USAGE")));
  const globalGrantOption = global.some((row) => row.grantable);
  if (globalPrivileges.length > 0) {
    findings.push({ kind: "global", message: `global privileges ON *.*: ${globalPrivileges.join(", ")}` });
    revokes.push(`REVOKE ALL PRIVILEGES ON *.* FROM ${account}`);
  }
  if (globalGrantOption) {
    findings.push({ kind: "grant-option", message: "GRANT OPTION ON *.* (may grant its privileges to others)" });
    revokes.push(`REVOKE GRANT OPTION ON *.* FROM ${account}`);
  }

  const byDatabase = new Map<string, Array<Extract<ObservedPrivilege, { level: "database" }>>>();
  for (const row of observed.privileges)
    if (row.level === "database") byDatabase.set(row.database, [...(byDatabase.get(row.database) ?? []), row]);

  for (const [pattern, rows] of byDatabase) {
    const held = new Set(rows.map((row) => row.privilege));
    const grantable = rows.some((row) => row.grantable);
    const target = `${quoteIdentifier(pattern)}.*`;
    const wanted = desired.get(pattern);
    if (wanted) {
      const excess = sorted([...held].filter((privilege) => !wanted.has(privilege)));
      if (excess.length > 0) {
        findings.push({ kind: "excess", message: `more than its role needs ON ${target}: ${excess.join(", ")}` });
        revokes.push(`REVOKE ${excess.join(", ")} ON ${target} FROM ${account}`);
      }
      if (grantable) {
        findings.push({ kind: "grant-option", message: `GRANT OPTION ON ${target}` });
        revokes.push(`REVOKE GRANT OPTION ON ${target} FROM ${account}`);
      }
      continue;
    }
    const privileges = sorted(held).join(", ");
    const others = instancesReached(pattern, scope.instanceId, allInstances);
    if (others.length > 0) {
      findings.push({ kind: "other-instance", message: `privileges ON ${target} reach instance ${others.join(", ")}: ${privileges}` });
    } else if (scope.databases.includes(pattern) && desired.has(mysqlGrantDatabasePattern(pattern))) {
      findings.push({ kind: "wildcard", message: `unescaped pattern ON ${target} (\`_\` matches any character): ${privileges}` });
    } else if (ownDatabases.has(pattern) || scope.databases.some((database) => grantPatternMatches(pattern, database))) {
      findings.push({ kind: "outside-role", message: `privileges ON ${target}, a database of this instance its role does not use: ${privileges}` });
    } else {
      const reached = serverDatabases.filter((database) => grantPatternMatches(pattern, database));
      const where = reached.length > 0 ? ` (reaches ${reached.join(", ")})` : "";
      findings.push({ kind: "foreign-database", message: `privileges ON ${target}, not a database of this instance${where}: ${privileges}` });
    }
    revokes.push(`REVOKE ALL PRIVILEGES ON ${target} FROM ${account}`);
    if (grantable) revokes.push(`REVOKE GRANT OPTION ON ${target} FROM ${account}`);
  }

  const tables = new Map<string, { database: string; table: string; privileges: Set<string>; grantable: boolean }>();
  for (const row of observed.privileges) {
    if (row.level !== "table") continue;
    const key = `${row.database}\u0000${row.table}`;
    const entry = tables.get(key) ?? { database: row.database, table: row.table, privileges: new Set<string>(), grantable: false };
    entry.privileges.add(row.privilege);
    entry.grantable ||= row.grantable;
    tables.set(key, entry);
  }
  for (const { database, table, privileges, grantable } of tables.values()) {
    const target = `${quoteIdentifier(database)}.${quoteIdentifier(table)}`;
    findings.push({ kind: "table-level", message: `table privileges ON ${target}: ${sorted(privileges).join(", ")}` });
    revokes.push(`REVOKE ALL PRIVILEGES ON ${target} FROM ${account}`);
    if (grantable) revokes.push(`REVOKE GRANT OPTION ON ${target} FROM ${account}`);
  }
  for (const row of observed.privileges) {
    if (row.level !== "column") continue;
    const target = `${quoteIdentifier(row.database)}.${quoteIdentifier(row.table)}`;
    findings.push({ kind: "table-level", message: `column privilege ${row.privilege} (${row.column}) ON ${target}` });
    revokes.push(`REVOKE ${row.privilege} (${quoteIdentifier(row.column)}) ON ${target} FROM ${account}`);
  }

  for (const { role, host } of observed.roles) {
    const quoted = host === undefined ? quoteIdentifier(role) : quoteAccount({ user: role, host });
    findings.push({ kind: "role", message: `role ${quoted} granted (its privileges are not checked here)` });
    revokes.push(`REVOKE ${quoted} FROM ${account}`);
  }

  for (const [pattern, wanted] of desired) {
    const held = new Set(byDatabase.get(pattern)?.map((row) => row.privilege) ?? []);
    const missing = [...wanted].filter((privilege) => !held.has(privilege));
    if (missing.length === 0) continue;
    const target = `${quoteIdentifier(pattern)}.*`;
    findings.push({ kind: "missing", message: `missing ON ${target}: ${missing.join(", ")}` });
    grants.push(`GRANT ${missing.join(", ")} ON ${target} TO ${account}`);
  }

  return { instanceId: scope.instanceId, roles, account: { user: observed.user, host: observed.host }, findings, statements: [...grants, ...revokes] };
}
