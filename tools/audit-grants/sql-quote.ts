/**
 * The one place the grant audit turns names into SQL text.
 *
 * A string literal here is `'` + the value with every `'` doubled + `'`, and
 * nothing else. That text means the same under every sql_mode: with or without
 * NO_BACKSLASH_ESCAPES, ANSI_QUOTES or ORACLE. Backslash escaping (what
 * mysql2's placeholders and the audit's old quoting used) does not: under
 * NO_BACKSLASH_ESCAPES, `'x\', attacker #'` ends after `x\` and the rest of
 * the statement names an attacker's account. So a name that holds a
 * backslash is refused rather than escaped: its meaning would depend on the
 * session's sql_mode, which a proxy or a pooled connection may reset.
 * The session's sql_mode is still set on connect (AUDIT_SQL_MODE), as a second
 * line of defence and so that a GRANT never creates an account.
 */

/**
 * The session sql_mode the audit runs with: no NO_BACKSLASH_ESCAPES, no
 * ANSI_QUOTES, no ORACLE; NO_AUTO_CREATE_USER so a GRANT to an account that
 * does not exist fails instead of creating it without a password.
 */
export const AUDIT_SQL_MODE = "STRICT_ALL_TABLES,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION";
/** MySQL 8 removed NO_AUTO_CREATE_USER (and never creates accounts on GRANT). */
export const AUDIT_SQL_MODE_MYSQL8 = "STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION";

export class UnquotableNameError extends Error {}

export interface MysqlAccount {
  user: string;
  host: string;
}

/**
 * Why a name cannot go into a statement safely, or undefined when it can.
 * - a backslash: an escape character or a plain one, depending on sql_mode;
 * - a control character (NUL, line breaks…): NUL ends strings in the server's C code, and a line
 *   break would split the statement the audit prints over lines that look like other statements.
 */
export function unquotableReason(value: string): string | undefined {
  if (value.includes("\\")) return "it contains a backslash, which is an escape character or a plain one depending on the server's sql_mode";
  if (/[\u0000-\u001f\u007f]/.test(value)) return "it contains a control character (NUL, tab, line break…), which no printed statement can show faithfully";
  return undefined;
}

/** A string literal valid in every sql_mode; throws UnquotableNameError for a name unquotableReason refuses. */
export function quoteString(value: string): string {
  const reason = unquotableReason(value);
  if (reason !== undefined) throw new UnquotableNameError(`${displayName(value)} cannot be quoted safely: ${reason}`);
  return `'${value.replace(/'/g, "''")}'`;
}

/** A back-quoted identifier (database, table, column, routine): backticks doubled; its meaning does not depend on sql_mode. */
export function quoteIdentifier(name: string): string {
  if (name.includes("\u0000")) throw new UnquotableNameError(`${displayName(name)} cannot be quoted safely: it contains NUL`);
  return `\`${name.replace(/`/g, "``")}\``;
}

/** 'user'@'host' for GRANT, REVOKE and PROXY. */
export function quoteAccount({ user, host }: MysqlAccount): string {
  return `${quoteString(user)}@${quoteString(host)}`;
}

/** Why an account cannot be named in a statement, or undefined. */
export function unquotableAccountReason({ user, host }: MysqlAccount): string | undefined {
  const userReason = unquotableReason(user);
  if (userReason !== undefined) return `its user name ${userReason.replace(/^it /, "")}`;
  const hostReason = unquotableReason(host);
  return hostReason === undefined ? undefined : `its host ${hostReason.replace(/^it /, "")}`;
}

/** A name for a report line: quoted like SQL, with control characters made visible (never parsed back). */
export function displayName(value: string): string {
  return `'${value.replace(/'/g, "''").replace(/[\u0000-\u001f\u007f]/g, (character) => `\\x${character.charCodeAt(0).toString(16).padStart(2, "0")}`)}'`;
}

export function displayAccount({ user, host }: MysqlAccount): string {
  return `${displayName(user)}@${displayName(host)}`;
}
