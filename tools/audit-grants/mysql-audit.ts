/**
 * The grant audit's decisions for MySQL/MariaDB, as pure functions over what the
 * server's grant tables say: which accounts are the instances' own (user AND
 * host), which privileges they hold beyond their own databases (directly,
 * through roles, through PUBLIC), which they lack, and the statements that make
 * them exact.
 *
 * Nothing here talks to a server (mysql-server.ts does), so every decision has
 * a plain unit test. Every name reaches SQL through sql-quote.ts.
 */
import type { MysqlGrantSpec } from "../../components/mysql-grants";
import { mysqlGrantDatabasePattern } from "../../config/names";
import { type MysqlAccount, displayAccount, displayName, quoteAccount, quoteIdentifier, quoteString, unquotableAccountReason, unquotableReason } from "./sql-quote";

export type { MysqlAccount } from "./sql-quote";

/** The name MariaDB 10.11 gives the grantee of `GRANT … TO PUBLIC` (a role with an empty host). */
export const PUBLIC_GRANTEE: MysqlAccount = { user: "PUBLIC", host: "" };

/** One privilege held by a grantee, from the mysql.* grant tables. */
export type ObservedPrivilege =
  | { level: "global"; privilege: string; grantable: boolean }
  /** `database` as stored: a LIKE pattern where `_` and `%` are wildcards unless escaped with `\`. */
  | { level: "database"; database: string; privilege: string; grantable: boolean }
  | { level: "table"; database: string; table: string; privilege: string; grantable: boolean }
  | { level: "column"; database: string; table: string; column: string; privilege: string; grantable: boolean }
  /** mysql.procs_priv: `routineType` is PROCEDURE, FUNCTION, PACKAGE or PACKAGE BODY. */
  | { level: "routine"; database: string; routine: string; routineType: string; privilege: string; grantable: boolean }
  /** mysql.proxies_priv: the grantee may log in as `proxied`. */
  | { level: "proxy"; proxied: MysqlAccount; grantable: boolean };

/** An account, a role (MariaDB: empty host) or PUBLIC, with what it was granted directly. */
export interface ObservedGrantee extends MysqlAccount {
  isRole: boolean;
  privileges: ObservedPrivilege[];
  /** Roles granted to it (MariaDB: host ""; MySQL 8: the role's own host). */
  roles: MysqlAccount[];
}

export interface MysqlServerState {
  grantees: ObservedGrantee[];
  databases: string[];
  /** The account(s) CURRENT_USER() may name: the one the audit is connected as. */
  connectedAs: MysqlAccount[];
}

/** One account an instance uses, as configured (derived names) or adopted. */
export interface ConfiguredAccount extends MysqlAccount {
  roles: string[];
  /** Adopted with `mode: reference`: used read-only by the stack, never changed (docs/migration.md). */
  referenced: boolean;
}

/** What the audit knows about one instance: its databases, accounts and the grants they should have. */
export interface MysqlInstanceScope {
  instanceId: string;
  /** Every MySQL database name of the instance. */
  databases: string[];
  grants: MysqlGrantSpec[];
  accounts: ConfiguredAccount[];
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
  | "routine"
  | "proxy"
  | "role"
  | "missing";

export interface Finding {
  kind: FindingKind;
  /** One line for an operator: what is wrong, where. */
  message: string;
}

/**
 * - managed: the instance's own account: findings count, --fix repairs them;
 * - other-host: the instance's user name on a host no instance uses: findings (privileges beyond the
 *   instance) count, --fix never touches it;
 * - reference: adopted with `mode: reference`; connecting-account: the account the audit runs as:
 *   left alone, what they hold beyond the instance is reported as warnings.
 */
export type Disposition = "managed" | "other-host" | "reference" | "connecting-account";

export interface AccountPlan {
  instanceId: string;
  roles: string[];
  account: MysqlAccount;
  disposition: Disposition;
  /** Why the account is left alone, when it is. */
  note?: string;
  /** Counted in the exit status. */
  findings: Finding[];
  /** Reported, not counted: accounts the audit leaves alone. */
  warnings: Finding[];
  /** GRANTs first, then REVOKEs: the application never loses what it needs while the plan runs. */
  statements: string[];
}

export interface PublicPlan {
  findings: Finding[];
  /** Only the REVOKEs of PUBLIC grants that reach an instance's database (global ones included). */
  statements: string[];
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

/** Host names compare case-insensitively on the server. */
export function accountKey({ user, host }: MysqlAccount): string {
  return `${user}\u0000${host.toLowerCase()}`;
}

export function sameAccount(left: MysqlAccount, right: MysqlAccount): boolean {
  return accountKey(left) === accountKey(right);
}

/** The exact grants one account should hold: the union over every role mapped to it. */
export function desiredGrantsFor(account: MysqlAccount, scope: MysqlInstanceScope): Map<string, Set<string>> {
  const desired = new Map<string, Set<string>>();
  for (const grant of scope.grants.filter((candidate) => sameAccount({ user: candidate.user, host: candidate.host ?? "%" }, account))) {
    const privileges = desired.get(grant.grantDatabase) ?? new Set<string>();
    for (const privilege of grant.privileges) privileges.add(privilege);
    desired.set(grant.grantDatabase, privileges);
  }
  return desired;
}

function sorted(values: Iterable<string>): string[] {
  return [...values].sort();
}

/** How a grantee is named after FROM/TO: PUBLIC, a MariaDB role ('name'), or 'user'@'host'. */
export function granteeSql(grantee: MysqlAccount & { isRole?: boolean }): string {
  if (sameAccount(grantee, PUBLIC_GRANTEE) && grantee.isRole !== false) return "PUBLIC";
  return grantee.isRole && grantee.host === "" ? quoteString(grantee.user) : quoteAccount(grantee);
}

function granteeUnquotable(grantee: MysqlAccount & { isRole?: boolean }): string | undefined {
  return grantee.isRole && grantee.host === "" ? unquotableReason(grantee.user) : unquotableAccountReason(grantee);
}

function roleDisplay(role: MysqlAccount): string {
  return role.host === "" ? displayName(role.user) : displayAccount(role);
}

/** A finding with what reaching it means and the statements that remove it. */
interface Reviewed extends Finding {
  /** Instances (other than the grantee's own) whose databases it reaches. */
  reaches: string[];
  statements: string[];
}

interface ReviewContext {
  instances: MysqlInstanceScope[];
  serverDatabases: string[];
  roleDefinitions: Map<string, ObservedGrantee>;
}

interface ReviewSubject {
  /** The grantee as SQL, or why it cannot be named. */
  sql: { ok: true; text: string } | { ok: false; reason: string };
  privileges: ObservedPrivilege[];
  roles: MysqlAccount[];
  /** Whose databases count as its own; undefined for PUBLIC (every instance is another). */
  scope?: MysqlInstanceScope;
  /** A managed account's exact grants; undefined: anything on its own databases is accepted. */
  desired?: Map<string, Set<string>>;
}

function subjectSql(grantee: MysqlAccount & { isRole?: boolean }): ReviewSubject["sql"] {
  const reason = granteeUnquotable(grantee);
  return reason === undefined ? { ok: true, text: granteeSql(grantee) } : { ok: false, reason };
}

/**
 * Every privilege of `subject` that reaches beyond its scope (or beyond its exact grants when
 * `desired` is given), with the REVOKEs that remove it; a statement that would need an
 * unquotable name is left out and the finding says why.
 */
function review(subject: ReviewSubject, context: ReviewContext, seenRoles: Set<string> = new Set()): Reviewed[] {
  const found: Reviewed[] = [];
  const otherInstances = context.instances.filter((instance) => instance.instanceId !== subject.scope?.instanceId);
  const reachedBy = (matches: (database: string) => boolean): string[] =>
    otherInstances.filter((instance) => instance.databases.some(matches)).map((instance) => instance.instanceId);
  const ownDatabases = subject.scope?.databases ?? [];
  const add = (kind: FindingKind, message: string, reaches: string[], revokes: string[], refused?: string): void => {
    if (!subject.sql.ok) {
      found.push({ kind, message: `${message} (--fix cannot name this grantee: ${subject.sql.reason})`, reaches, statements: [] });
      return;
    }
    if (refused !== undefined) {
      found.push({ kind, message: `${message} (--fix cannot revoke it: ${refused})`, reaches, statements: [] });
      return;
    }
    const grantee = subject.sql.text;
    found.push({ kind, message, reaches, statements: revokes.map((revoke) => `${revoke} FROM ${grantee}`) });
  };
  const allInstances = context.instances.filter((instance) => instance.instanceId !== subject.scope?.instanceId).map((instance) => instance.instanceId);

  const global = subject.privileges.filter((row) => row.level === "global");
  const globalPrivileges = sorted(new Set(global.map((row) => row.privilege).filter((privilege) => privilege !== "USAGE")));
  if (globalPrivileges.length > 0) add("global", `global privileges ON *.*: ${globalPrivileges.join(", ")}`, allInstances, ["REVOKE ALL PRIVILEGES ON *.*"]);
  if (global.some((row) => row.grantable)) add("grant-option", "GRANT OPTION ON *.* (may grant its privileges to others)", allInstances, ["REVOKE GRANT OPTION ON *.*"]);

  const byDatabase = new Map<string, Array<Extract<ObservedPrivilege, { level: "database" }>>>();
  for (const row of subject.privileges) if (row.level === "database") byDatabase.set(row.database, [...(byDatabase.get(row.database) ?? []), row]);
  const ownPatterns = new Set(ownDatabases.map(mysqlGrantDatabasePattern));
  for (const [pattern, rows] of byDatabase) {
    const held = new Set(rows.map((row) => row.privilege));
    const grantable = rows.some((row) => row.grantable);
    const target = `${quoteIdentifier(pattern)}.*`;
    const grantOption = grantable ? [`REVOKE GRANT OPTION ON ${target}`] : [];
    const wanted = subject.desired?.get(pattern);
    if (wanted) {
      const excess = sorted([...held].filter((privilege) => !wanted.has(privilege)));
      if (excess.length > 0) add("excess", `more than its role needs ON ${target}: ${excess.join(", ")}`, [], [`REVOKE ${excess.join(", ")} ON ${target}`]);
      if (grantable) add("grant-option", `GRANT OPTION ON ${target}`, [], grantOption);
      continue;
    }
    const privileges = sorted(held).join(", ");
    const others = reachedBy((database) => grantPatternMatches(pattern, database));
    const revokes = [`REVOKE ALL PRIVILEGES ON ${target}`, ...grantOption];
    if (others.length > 0) {
      add("other-instance", `privileges ON ${target} reach instance ${others.join(", ")}: ${privileges}`, others, revokes);
      continue;
    }
    const reached = context.serverDatabases.filter((database) => grantPatternMatches(pattern, database));
    const onlyOwn = ownDatabases.some((database) => grantPatternMatches(pattern, database)) && reached.every((database) => ownDatabases.includes(database));
    if (subject.desired === undefined) {
      if (onlyOwn && !grantable) continue;
      if (onlyOwn) {
        add("grant-option", `GRANT OPTION ON ${target}`, [], grantOption);
        continue;
      }
    } else if (ownDatabases.includes(pattern) && subject.desired.has(mysqlGrantDatabasePattern(pattern))) {
      add("wildcard", `unescaped pattern ON ${target} (\`_\` matches any character): ${privileges}`, [], revokes);
      continue;
    } else if (onlyOwn && !ownPatterns.has(pattern) && !ownDatabases.includes(pattern)) {
      // A pattern over the instance's own databases (a read-only user's `prod\_…\_%`): a wildcard grant,
      // outside its role only where it covers a database the role does not use.
      const covered = ownDatabases.filter((database) => grantPatternMatches(pattern, database));
      const unused = covered.filter((database) => !subject.desired?.has(mysqlGrantDatabasePattern(database)));
      if (unused.length === 0)
        add(
          "wildcard",
          `wildcard pattern ON ${target} covers this instance's databases ${covered.join(", ")} (and any database created later whose name matches): ${privileges}`,
          [],
          revokes,
        );
      else add("outside-role", `wildcard pattern ON ${target} covers databases of this instance its role does not use (${unused.join(", ")}): ${privileges}`, [], revokes);
      continue;
    } else if (ownPatterns.has(pattern) || onlyOwn) {
      add("outside-role", `privileges ON ${target}, a database of this instance its role does not use: ${privileges}`, [], revokes);
      continue;
    }
    const where = reached.length > 0 ? ` (reaches ${reached.join(", ")})` : "";
    add("foreign-database", `privileges ON ${target}, not a database of ${subject.scope ? "this instance" : "any instance"}${where}: ${privileges}`, [], revokes);
  }

  const isOwn = (database: string): boolean => ownDatabases.includes(database);
  const ownerNote = (database: string): { reaches: string[]; where: string } => {
    const reaches = reachedBy((name) => name === database);
    return { reaches, where: reaches.length > 0 ? ` (instance ${reaches.join(", ")})` : isOwn(database) ? "" : " (not a database of this instance)" };
  };
  const tables = new Map<string, { database: string; table: string; privileges: Set<string>; grantable: boolean }>();
  for (const row of subject.privileges) {
    if (row.level !== "table") continue;
    const key = `${row.database}\u0000${row.table}`;
    const entry = tables.get(key) ?? { database: row.database, table: row.table, privileges: new Set<string>(), grantable: false };
    entry.privileges.add(row.privilege);
    entry.grantable ||= row.grantable;
    tables.set(key, entry);
  }
  for (const { database, table, privileges, grantable } of tables.values()) {
    if (subject.desired === undefined && isOwn(database) && !grantable) continue;
    const target = `${quoteIdentifier(database)}.${quoteIdentifier(table)}`;
    const { reaches, where } = ownerNote(database);
    add("table-level", `table privileges ON ${target}${where}: ${sorted(privileges).join(", ")}`, reaches, [
      `REVOKE ALL PRIVILEGES ON ${target}`,
      ...(grantable ? [`REVOKE GRANT OPTION ON ${target}`] : []),
    ]);
  }
  for (const row of subject.privileges) {
    if (row.level !== "column" || (subject.desired === undefined && isOwn(row.database))) continue;
    const target = `${quoteIdentifier(row.database)}.${quoteIdentifier(row.table)}`;
    const { reaches, where } = ownerNote(row.database);
    add("table-level", `column privilege ${row.privilege} (${row.column}) ON ${target}${where}`, reaches, [`REVOKE ${row.privilege} (${quoteIdentifier(row.column)}) ON ${target}`]);
  }

  const routines = new Map<string, { database: string; routine: string; routineType: string; privileges: Set<string>; grantable: boolean }>();
  for (const row of subject.privileges) {
    if (row.level !== "routine") continue;
    const key = `${row.database}\u0000${row.routineType}\u0000${row.routine}`;
    const entry = routines.get(key) ?? { database: row.database, routine: row.routine, routineType: row.routineType, privileges: new Set<string>(), grantable: false };
    entry.privileges.add(row.privilege);
    entry.grantable ||= row.grantable;
    routines.set(key, entry);
  }
  for (const { database, routine, routineType, privileges, grantable } of routines.values()) {
    if (subject.desired === undefined && isOwn(database) && !grantable) continue;
    const target = `${routineType} ${quoteIdentifier(database)}.${quoteIdentifier(routine)}`;
    const { reaches, where } = ownerNote(database);
    const held = sorted(privileges);
    add("routine", `routine privileges ON ${target}${where}: ${[...held, ...(grantable ? ["GRANT OPTION"] : [])].join(", ")}`, reaches, [
      ...(held.length > 0 ? [`REVOKE ${held.join(", ")} ON ${target}`] : []),
      ...(grantable ? [`REVOKE GRANT OPTION ON ${target}`] : []),
    ]);
  }

  for (const row of subject.privileges) {
    if (row.level !== "proxy") continue;
    const refused = unquotableAccountReason(row.proxied);
    add(
      "proxy",
      `PROXY ON ${displayAccount(row.proxied)}${row.grantable ? " WITH GRANT OPTION" : ""}: may log in with that account's privileges`,
      allInstances,
      refused === undefined ? [`REVOKE PROXY ON ${quoteAccount(row.proxied)}`] : [],
      refused === undefined ? undefined : `the proxied account's ${refused.replace(/^its /, "")}`,
    );
  }

  for (const role of subject.roles) {
    const key = accountKey(role);
    const definition = context.roleDefinitions.get(key);
    let carried: Reviewed[] = [];
    if (definition && !seenRoles.has(key)) {
      carried = review(
        // Only the messages matter here: the role itself is what gets revoked.
        { sql: { ok: true, text: "" }, privileges: definition.privileges, roles: definition.roles, ...(subject.scope ? { scope: subject.scope } : {}) },
        context,
        new Set([...seenRoles, key]),
      );
    }
    const through = carried.length > 0 ? `; through it: ${carried.map((finding) => finding.message).join("; ")}` : "";
    const reaches = sorted(new Set(carried.flatMap((finding) => finding.reaches)));
    // A managed account holds exactly its grants, so any role is a finding; elsewhere only a role that carries more.
    if (subject.desired === undefined && carried.length === 0) continue;
    const refused = role.host === "" ? unquotableReason(role.user) : unquotableAccountReason(role);
    const roleSql = refused === undefined ? (role.host === "" ? quoteString(role.user) : quoteAccount(role)) : "";
    add(
      "role",
      `role ${roleDisplay(role)} granted${through || " (nothing beyond this instance's databases)"}`,
      reaches,
      refused === undefined ? [`REVOKE ${roleSql}`] : [],
      refused === undefined ? undefined : `the role's name: ${refused}`,
    );
  }

  if (subject.desired) {
    const missing: Reviewed[] = [];
    for (const [pattern, wanted] of subject.desired) {
      const held = new Set(byDatabase.get(pattern)?.map((row) => row.privilege) ?? []);
      const lacking = [...wanted].filter((privilege) => !held.has(privilege));
      if (lacking.length === 0) continue;
      const target = `${quoteIdentifier(pattern)}.*`;
      const message = `missing ON ${target}: ${lacking.join(", ")}`;
      missing.push(
        subject.sql.ok
          ? { kind: "missing", message, reaches: [], statements: [`GRANT ${lacking.join(", ")} ON ${target} TO ${subject.sql.text}`] }
          : { kind: "missing", message: `${message} (--fix cannot name this grantee: ${subject.sql.reason})`, reaches: [], statements: [] },
      );
    }
    found.push(...missing);
  }
  return found;
}

function roleMap(grantees: ObservedGrantee[]): Map<string, ObservedGrantee> {
  return new Map(grantees.filter((grantee) => grantee.isRole).map((grantee) => [accountKey(grantee), grantee]));
}

function toFindings(reviewed: Reviewed[]): Finding[] {
  return reviewed.map(({ kind, message }) => ({ kind, message }));
}

/** GRANTs before REVOKEs, each once, in the order found. */
function orderStatements(reviewed: Reviewed[]): string[] {
  const statements = [...new Set(reviewed.flatMap((finding) => finding.statements))];
  return [...statements.filter((statement) => statement.startsWith("GRANT ")), ...statements.filter((statement) => !statement.startsWith("GRANT "))];
}

/**
 * Compares a managed account with what its instance grants it and plans the
 * statements that make it exact. `serverDatabases` (what exists on the server)
 * helps say whose database a too-wide pattern reaches.
 */
export function planAccount(
  observed: ObservedGrantee,
  scope: MysqlInstanceScope,
  allInstances: MysqlInstanceScope[],
  serverDatabases: string[] = [],
  roleDefinitions: Map<string, ObservedGrantee> = new Map(),
): AccountPlan {
  const account = { user: observed.user, host: observed.host };
  const reviewed = review(
    { sql: subjectSql(account), privileges: observed.privileges, roles: observed.roles, scope, desired: desiredGrantsFor(account, scope) },
    { instances: allInstances, serverDatabases, roleDefinitions },
  );
  return {
    instanceId: scope.instanceId,
    roles: rolesOf(account, scope),
    account,
    disposition: "managed",
    findings: toFindings(reviewed),
    warnings: [],
    statements: orderStatements(reviewed),
  };
}

function rolesOf(account: MysqlAccount, scope: MysqlInstanceScope): string[] {
  return sorted(new Set(scope.accounts.filter((candidate) => sameAccount(candidate, account)).flatMap((candidate) => candidate.roles)));
}

/** What an account the audit leaves alone holds beyond its instance's databases; no statements, ever. */
function planLeftAlone(observed: ObservedGrantee, scope: MysqlInstanceScope, disposition: Exclude<Disposition, "managed">, note: string, context: ReviewContext): AccountPlan {
  const account = { user: observed.user, host: observed.host };
  const beyond = toFindings(review({ sql: subjectSql(account), privileges: observed.privileges, roles: observed.roles, scope }, context));
  const counted = disposition === "other-host";
  return {
    instanceId: scope.instanceId,
    roles: rolesOf(account, scope),
    account,
    disposition,
    note,
    findings: counted ? beyond : [],
    warnings: counted ? [] : beyond,
    statements: [],
  };
}

export interface MysqlAuditPlan {
  accounts: AccountPlan[];
  public: PublicPlan;
  /** Configured accounts the server does not have (another server, or not created yet). */
  accountsNotFound: MysqlAccount[];
}

/**
 * Which server accounts are whose, and what to do with each:
 * an instance's account is its user name AND host as configured or adopted. The same user
 * name on another host is not the instance's account: it is reported (never changed) when it
 * holds more than the instance's databases. Referenced accounts and the account the audit is
 * connected as are left alone.
 */
export function planServer(state: MysqlServerState, instances: MysqlInstanceScope[]): MysqlAuditPlan {
  const context: ReviewContext = { instances, serverDatabases: state.databases, roleDefinitions: roleMap(state.grantees) };
  const onServer = new Map(state.grantees.filter((grantee) => !grantee.isRole).map((grantee) => [accountKey(grantee), grantee]));
  const connecting = new Set(state.connectedAs.map(accountKey));
  const configured = new Map<string, { scope: MysqlInstanceScope; account: ConfiguredAccount }>();
  for (const scope of instances)
    for (const account of scope.accounts) {
      const key = accountKey(account);
      const existing = configured.get(key);
      // Two roles of one instance may share an account; a referenced role makes the whole account referenced.
      configured.set(key, existing ? { scope, account: { ...account, referenced: existing.account.referenced || account.referenced } } : { scope, account });
    }

  const plans: AccountPlan[] = [];
  const accountsNotFound: MysqlAccount[] = [];
  for (const [key, { scope, account }] of configured) {
    const observed = onServer.get(key);
    if (!observed) {
      accountsNotFound.push({ user: account.user, host: account.host });
      continue;
    }
    if (connecting.has(key))
      plans.push(planLeftAlone(observed, scope, "connecting-account", "the account this audit is connected as: never changed (revoking its rights would stop the audit itself)", context));
    else if (account.referenced) plans.push(planLeftAlone(observed, scope, "reference", "adopted with mode: reference: the stack and the audit leave it alone", context));
    else plans.push(planAccount(observed, scope, instances, state.databases, context.roleDefinitions));
  }

  const userOwners = new Map<string, { scope: MysqlInstanceScope; hosts: string[] }>();
  for (const { scope, account } of configured.values()) {
    const entry = userOwners.get(account.user) ?? { scope, hosts: [] };
    entry.hosts.push(account.host);
    userOwners.set(account.user, entry);
  }
  for (const [key, observed] of onServer) {
    if (configured.has(key)) continue;
    const owner = userOwners.get(observed.user);
    if (!owner) continue;
    const hosts = owner.hosts.map((host) => displayName(host)).join(", ");
    plans.push(
      connecting.has(key)
        ? planLeftAlone(observed, owner.scope, "connecting-account", `the account this audit is connected as (the instance's account is on host ${hosts}): never changed`, context)
        : planLeftAlone(observed, owner.scope, "other-host", `the instance's user name on another host (the instance's account is on host ${hosts}): --fix never changes it`, context),
    );
  }

  plans.sort((left, right) =>
    `${left.instanceId}\u0000${left.account.user}\u0000${left.account.host}`.localeCompare(`${right.instanceId}\u0000${right.account.user}\u0000${right.account.host}`),
  );
  return { accounts: plans, public: planPublic(state, context), accountsNotFound };
}

/**
 * `GRANT … TO PUBLIC` reaches every account, each instance's included: every privilege PUBLIC
 * holds is a finding. --fix revokes those that reach an instance's database (global ones do);
 * one on a database of no instance is reported only, since other accounts may rely on it.
 */
export function planPublic(state: MysqlServerState, context?: ReviewContext): PublicPlan {
  const fullContext = context ?? { instances: [], serverDatabases: state.databases, roleDefinitions: roleMap(state.grantees) };
  const grantee = state.grantees.find((candidate) => candidate.isRole && sameAccount(candidate, PUBLIC_GRANTEE));
  if (!grantee) return { findings: [], statements: [] };
  const reviewed = review({ sql: { ok: true, text: "PUBLIC" }, privileges: grantee.privileges, roles: grantee.roles }, fullContext).map((finding) =>
    finding.reaches.length > 0 ? finding : { ...finding, message: `${finding.message} (--fix leaves it: no instance's database; revoke it by hand if nothing needs it)`, statements: [] },
  );
  return {
    findings: reviewed.map(({ kind, message }) => ({ kind, message: `PUBLIC (every account on the server): ${message}` })),
    statements: orderStatements(reviewed),
  };
}
