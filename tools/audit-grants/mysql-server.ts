/**
 * The grant audit's only contact with MySQL/MariaDB: read the accounts and their
 * privileges from information_schema (never SHOW GRANTS, which prints password
 * hashes), and run the planned statements.
 */
import type { Connection, RowDataPacket } from "mysql2/promise";
import type { MysqlAccount, ObservedAccount, ObservedPrivilege } from "./mysql-audit";

export interface MysqlServerState {
  accounts: ObservedAccount[];
  databases: string[];
}

interface PrivilegeRow extends RowDataPacket {
  GRANTEE: string;
  PRIVILEGE_TYPE: string;
  IS_GRANTABLE: string;
  TABLE_SCHEMA?: string;
  TABLE_NAME?: string;
  COLUMN_NAME?: string;
}

/** information_schema's GRANTEE, `'user'@'host'`, back into its parts. */
export function parseGrantee(grantee: string): MysqlAccount | undefined {
  const match = /^'((?:[^'\\]|\\.|'')*)'@'((?:[^'\\]|\\.|'')*)'$/.exec(grantee);
  if (!match) return undefined;
  const unquote = (text: string): string => text.replace(/''/g, "'").replace(/\\(.)/g, "$1");
  return { user: unquote(match[1] ?? ""), host: unquote(match[2] ?? "") };
}

const accountKey = ({ user, host }: MysqlAccount): string => `${user}\u0000${host}`;

/** Every account (any host) whose user name is one of `userNames`, with all its privileges. */
export async function readMysqlState(connection: Connection, userNames: string[]): Promise<MysqlServerState> {
  const [databaseRows] = await connection.query<RowDataPacket[]>("SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA");
  const databases = databaseRows.map((row) => String(row.name));
  if (userNames.length === 0) return { accounts: [], databases };

  const [userRows] = await connection.query<RowDataPacket[]>("SELECT User AS user, Host AS host FROM mysql.user WHERE User IN (?)", [userNames]);
  const accounts = new Map<string, ObservedAccount>();
  for (const row of userRows) {
    const account = { user: String(row.user), host: String(row.host) };
    accounts.set(accountKey(account), { ...account, privileges: [], roles: [] });
  }

  const collect = async (table: string, toPrivilege: (row: PrivilegeRow) => ObservedPrivilege): Promise<void> => {
    const [rows] = await connection.query<PrivilegeRow[]>(`SELECT * FROM information_schema.${table}`);
    for (const row of rows) {
      const account = parseGrantee(row.GRANTEE);
      const observed = account && accounts.get(accountKey(account));
      if (observed) observed.privileges.push(toPrivilege(row));
    }
  };
  const grantable = (row: PrivilegeRow): boolean => row.IS_GRANTABLE === "YES";
  await collect("USER_PRIVILEGES", (row) => ({ level: "global", privilege: row.PRIVILEGE_TYPE, grantable: grantable(row) }));
  await collect("SCHEMA_PRIVILEGES", (row) => ({
    level: "database",
    database: String(row.TABLE_SCHEMA),
    privilege: row.PRIVILEGE_TYPE,
    grantable: grantable(row),
  }));
  await collect("TABLE_PRIVILEGES", (row) => ({
    level: "table",
    database: String(row.TABLE_SCHEMA),
    table: String(row.TABLE_NAME),
    privilege: row.PRIVILEGE_TYPE,
    grantable: grantable(row),
  }));
  await collect("COLUMN_PRIVILEGES", (row) => ({
    level: "column",
    database: String(row.TABLE_SCHEMA),
    table: String(row.TABLE_NAME),
    column: String(row.COLUMN_NAME),
    privilege: row.PRIVILEGE_TYPE,
    grantable: grantable(row),
  }));

  // Roles: MariaDB keeps them in mysql.roles_mapping, MySQL 8 in mysql.role_edges; each server lacks the other's table.
  try {
    const [rows] = await connection.query<RowDataPacket[]>("SELECT User AS user, Host AS host, Role AS role FROM mysql.roles_mapping");
    for (const row of rows) accounts.get(accountKey({ user: String(row.user), host: String(row.host) }))?.roles.push({ role: String(row.role) });
  } catch {
    try {
      const [rows] = await connection.query<RowDataPacket[]>(
        "SELECT FROM_USER AS role, FROM_HOST AS roleHost, TO_USER AS user, TO_HOST AS host FROM mysql.role_edges",
      );
      for (const row of rows)
        accounts.get(accountKey({ user: String(row.user), host: String(row.host) }))?.roles.push({ role: String(row.role), host: String(row.roleHost) });
    } catch {
      // Neither table: a server without roles.
    }
  }
  return { accounts: [...accounts.values()], databases };
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
