/**
 * The grant audit's only contact with MySQL/MariaDB: open a session with a
 * known sql_mode, read every grantee and its privileges from the mysql.* grant
 * tables (separate User and Host columns: nothing to parse, whatever quotes a
 * name holds; never SHOW GRANTS, which prints password hashes), and run the
 * planned statements.
 */
import mysql, { type Connection, type RowDataPacket } from "mysql2/promise";
import { type MysqlAccount, type MysqlServerState, type ObservedGrantee, type ObservedPrivilege, accountKey } from "./mysql-audit";
import { AUDIT_SQL_MODE, AUDIT_SQL_MODE_MYSQL8 } from "./sql-quote";

/** Modes under which the audit's statements could be read differently than written. */
const UNSAFE_MODES = ["NO_BACKSLASH_ESCAPES", "ANSI_QUOTES", "ANSI", "ORACLE", "MSSQL", "DB2", "POSTGRESQL", "MAXDB"];

export class SqlModeError extends Error {}

/**
 * Connects and sets the session's sql_mode to AUDIT_SQL_MODE whatever the
 * server's global one is (NO_BACKSLASH_ESCAPES, ANSI_QUOTES, ORACLE…), then
 * reads it back: the audit refuses to run in a session whose mode it did not choose.
 */
export async function connectForAudit(url: string, ssl?: mysql.SslOptions): Promise<{ connection: Connection; sqlMode: string }> {
  const connection = await mysql.createConnection({
    uri: url,
    connectTimeout: 10000,
    multipleStatements: false,
    charset: "utf8mb4",
    ...(ssl ? { ssl } : {}),
  });
  try {
    try {
      await connection.query(`SET SESSION sql_mode = '${AUDIT_SQL_MODE}'`);
    } catch {
      await connection.query(`SET SESSION sql_mode = '${AUDIT_SQL_MODE_MYSQL8}'`);
    }
    const [rows] = await connection.query<RowDataPacket[]>("SELECT @@SESSION.sql_mode AS mode");
    const sqlMode = String(rows[0]?.mode ?? "");
    const unsafe = sqlMode.split(",").filter((mode) => UNSAFE_MODES.includes(mode));
    if (unsafe.length > 0) throw new SqlModeError(`the session's sql_mode still has ${unsafe.join(", ")} after SET SESSION sql_mode; refusing to run statements`);
    return { connection, sqlMode };
  } catch (error) {
    await connection.end();
    throw error;
  }
}

/** mysql.db / mysql.user column → privilege name as GRANT spells it. */
const COLUMN_PRIVILEGES: Record<string, string> = {
  Create_tmp_table_priv: "CREATE TEMPORARY TABLES",
  Lock_tables_priv: "LOCK TABLES",
  Create_view_priv: "CREATE VIEW",
  Show_view_priv: "SHOW VIEW",
  Create_routine_priv: "CREATE ROUTINE",
  Alter_routine_priv: "ALTER ROUTINE",
  Delete_history_priv: "DELETE HISTORY",
  Show_db_priv: "SHOW DATABASES",
  Repl_slave_priv: "REPLICATION SLAVE",
  Repl_client_priv: "BINLOG MONITOR",
  Create_user_priv: "CREATE USER",
  Create_tablespace_priv: "CREATE TABLESPACE",
  Show_create_routine_priv: "SHOW CREATE ROUTINE",
};

function columnPrivilege(column: string): string {
  return COLUMN_PRIVILEGES[column] ?? column.replace(/_priv$/, "").replace(/_/g, " ").toUpperCase();
}

/** MariaDB's privilege bits (mysql.global_priv `access`), in bit order; names are for messages only. */
const MARIADB_ACCESS_BITS = [
  "SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "RELOAD", "SHUTDOWN", "PROCESS", "FILE",
  "GRANT OPTION", "REFERENCES", "INDEX", "ALTER", "SHOW DATABASES", "SUPER", "CREATE TEMPORARY TABLES", "LOCK TABLES",
  "EXECUTE", "REPLICATION SLAVE", "BINLOG MONITOR", "CREATE VIEW", "SHOW VIEW", "CREATE ROUTINE", "ALTER ROUTINE",
  "CREATE USER", "EVENT", "TRIGGER", "CREATE TABLESPACE", "DELETE HISTORY", "SET USER", "FEDERATED ADMIN",
  "CONNECTION ADMIN", "READ_ONLY ADMIN", "REPLICATION SLAVE ADMIN", "REPLICATION MASTER ADMIN", "BINLOG ADMIN",
  "BINLOG REPLAY", "SLAVE MONITOR",
];

/** Global privileges from a MariaDB access bitmask; a bit this list does not know is still reported. */
export function decodeMariadbAccess(access: bigint): { privileges: string[]; grantable: boolean } {
  const privileges: string[] = [];
  let grantable = false;
  for (let bit = 0n; access >> bit !== 0n; bit += 1n) {
    if (((access >> bit) & 1n) === 0n) continue;
    const name = MARIADB_ACCESS_BITS[Number(bit)] ?? `privilege bit ${bit}`;
    if (name === "GRANT OPTION") grantable = true;
    else privileges.push(name);
  }
  return { privileges, grantable };
}

/** A `set` column value ("Select,Insert,Grant") as privilege names, the `Grant` member as a flag. */
function setPrivileges(value: unknown): { privileges: string[]; grantable: boolean } {
  const members = String(value ?? "").split(",").filter(Boolean);
  return {
    privileges: members.filter((member) => member !== "Grant").map((member) => member.toUpperCase()),
    grantable: members.includes("Grant"),
  };
}

const text = (value: unknown): string => (Buffer.isBuffer(value) ? value.toString("utf8") : String(value ?? ""));

async function rowsOf(connection: Connection, sql: string): Promise<RowDataPacket[] | undefined> {
  try {
    const [rows] = await connection.query<RowDataPacket[]>(sql);
    return rows;
  } catch (error) {
    // A table this server version does not have (procs_priv on a stripped server, roles_mapping on MySQL 8).
    if ((error as { code?: string }).code === "ER_NO_SUCH_TABLE") return undefined;
    throw error;
  }
}

/** Every grantee (accounts, roles, PUBLIC) with what it was granted directly, the databases, and who the audit is. */
export async function readMysqlState(connection: Connection): Promise<MysqlServerState> {
  const [databaseRows] = await connection.query<RowDataPacket[]>("SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA");
  const databases = databaseRows.map((row) => text(row.name));

  const grantees = new Map<string, ObservedGrantee>();
  const granteeOf = (row: RowDataPacket): ObservedGrantee => {
    const account = { user: text(row.User), host: text(row.Host) };
    const key = accountKey(account);
    let grantee = grantees.get(key);
    if (!grantee) {
      // A grant row without a mysql.user row (hand-edited tables): still reported.
      grantee = { ...account, isRole: account.host === "" && account.user !== "", privileges: [], roles: [] };
      grantees.set(key, grantee);
    }
    return grantee;
  };
  const push = (row: RowDataPacket, privilege: ObservedPrivilege): void => {
    granteeOf(row).privileges.push(privilege);
  };

  // MariaDB ≥ 10.4 keeps every grantee in mysql.global_priv, with a bitmask that names privileges
  // newer than mysql.user's columns (BINLOG ADMIN, SLAVE MONITOR…). MySQL 8 has mysql.user only.
  const globalPriv = await rowsOf(connection, "SELECT User, Host, JSON_VALUE(Priv, '$.access') AS access, JSON_VALUE(Priv, '$.is_role') AS isRole FROM mysql.global_priv");
  if (globalPriv) {
    for (const row of globalPriv) {
      const account = { user: text(row.User), host: text(row.Host) };
      const grantee: ObservedGrantee = { ...account, isRole: ["true", "1"].includes(text(row.isRole)), privileges: [], roles: [] };
      grantees.set(accountKey(account), grantee);
      const { privileges, grantable } = decodeMariadbAccess(BigInt(text(row.access) || "0"));
      for (const privilege of privileges) grantee.privileges.push({ level: "global", privilege, grantable });
      if (grantable && privileges.length === 0) grantee.privileges.push({ level: "global", privilege: "USAGE", grantable });
    }
  } else {
    for (const row of (await rowsOf(connection, "SELECT * FROM mysql.user")) ?? []) {
      const account = { user: text(row.User), host: text(row.Host) };
      const grantee: ObservedGrantee = { ...account, isRole: false, privileges: [], roles: [] };
      grantees.set(accountKey(account), grantee);
      const grantable = row.Grant_priv === "Y";
      for (const [column, value] of Object.entries(row))
        if (column.endsWith("_priv") && column !== "Grant_priv" && value === "Y") grantee.privileges.push({ level: "global", privilege: columnPrivilege(column), grantable });
      if (grantable && grantee.privileges.length === 0) grantee.privileges.push({ level: "global", privilege: "USAGE", grantable });
    }
  }

  for (const row of (await rowsOf(connection, "SELECT * FROM mysql.db")) ?? []) {
    const grantable = row.Grant_priv === "Y";
    let any = false;
    for (const [column, value] of Object.entries(row)) {
      if (!column.endsWith("_priv") || column === "Grant_priv" || value !== "Y") continue;
      any = true;
      push(row, { level: "database", database: text(row.Db), privilege: columnPrivilege(column), grantable });
    }
    if (!any && grantable) push(row, { level: "database", database: text(row.Db), privilege: "USAGE", grantable });
  }
  for (const row of (await rowsOf(connection, "SELECT Host, Db, User, Table_name, Table_priv FROM mysql.tables_priv")) ?? []) {
    const { privileges, grantable } = setPrivileges(row.Table_priv);
    for (const privilege of privileges.length > 0 ? privileges : grantable ? ["USAGE"] : [])
      push(row, { level: "table", database: text(row.Db), table: text(row.Table_name), privilege, grantable });
  }
  for (const row of (await rowsOf(connection, "SELECT Host, Db, User, Table_name, Column_name, Column_priv FROM mysql.columns_priv")) ?? []) {
    for (const privilege of setPrivileges(row.Column_priv).privileges)
      push(row, { level: "column", database: text(row.Db), table: text(row.Table_name), column: text(row.Column_name), privilege, grantable: false });
  }
  for (const row of (await rowsOf(connection, "SELECT Host, Db, User, Routine_name, Routine_type, Proc_priv FROM mysql.procs_priv")) ?? []) {
    const { privileges, grantable } = setPrivileges(row.Proc_priv);
    const base = { level: "routine" as const, database: text(row.Db), routine: text(row.Routine_name), routineType: text(row.Routine_type) };
    for (const privilege of privileges) push(row, { ...base, privilege, grantable });
    if (privileges.length === 0 && grantable) push(row, { ...base, privilege: "USAGE", grantable });
  }
  for (const row of (await rowsOf(connection, "SELECT Host, User, Proxied_host, Proxied_user, With_grant FROM mysql.proxies_priv")) ?? [])
    push(row, { level: "proxy", proxied: { user: text(row.Proxied_user), host: text(row.Proxied_host) }, grantable: Number(row.With_grant) === 1 });

  const mariadbRoles = await rowsOf(connection, "SELECT User, Host, Role FROM mysql.roles_mapping");
  if (mariadbRoles) {
    for (const row of mariadbRoles) granteeOf(row).roles.push({ user: text(row.Role), host: "" });
  } else {
    for (const row of (await rowsOf(connection, "SELECT FROM_USER, FROM_HOST, TO_USER AS User, TO_HOST AS Host FROM mysql.role_edges")) ?? []) {
      const role = { user: text(row.FROM_USER), host: text(row.FROM_HOST) };
      granteeOf(row).roles.push(role);
      const definition = grantees.get(accountKey(role));
      if (definition) definition.isRole = true;
    }
  }

  // CURRENT_USER() is 'user@host' with nothing escaped: every account it could name is treated as the audit's own.
  const [current] = await connection.query<RowDataPacket[]>("SELECT CURRENT_USER() AS account");
  const currentUser = text(current[0]?.account);
  const connectedAs: MysqlAccount[] = [...grantees.values()]
    .filter((grantee) => !grantee.isRole && `${grantee.user}@${grantee.host}` === currentUser)
    .map(({ user, host }) => ({ user, host }));
  return { grantees: [...grantees.values()], databases, connectedAs };
}

/**
 * Runs one account's statements in order and stops at the first failure.
 * GRANT and REVOKE commit implicitly on MySQL and MariaDB, so this cannot be a
 * transaction: each statement is atomic on its own, and the GRANTs come first,
 * so a run that stops halfway leaves the account with at least what it needs.
 * Running the audit again picks up where it stopped.
 */
export async function applyStatements(
  connection: Connection,
  statements: string[],
  onStatement: (statement: string, error?: Error) => void,
): Promise<boolean> {
  for (const statement of statements) {
    try {
      await connection.query(statement);
      onStatement(statement);
    } catch (error) {
      onStatement(statement, error as Error);
      return false;
    }
  }
  return true;
}
