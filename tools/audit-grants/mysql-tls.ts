/**
 * TLS for the audit's MySQL connection, from the same `tls` / `ca` keys of
 * `openedx-im:mysqlServers` the MySQL provider uses (docs/instance.md): the server
 * whose host and port the --mysql-url names, or --mysql-tls / --mysql-ca.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import type { SslOptions } from "mysql2";
import { fleetSchemas, type MysqlServerConfig } from "../../config/schema";
import { PROJECT_ROOT, readProject } from "../../config/stack-file";

export type MysqlTls = MysqlServerConfig["tls"];

export class TlsSettingError extends Error {}

/** mysql2's `ssl` option: undefined = plain; otherwise encrypted, the certificate checked unless skip-verify. */
export function mysqlSslOptions(tls: MysqlTls, ca: string | undefined, root = PROJECT_ROOT): SslOptions | undefined {
  if (ca !== undefined && tls !== true) throw new TlsSettingError("a CA checks the server's certificate, which needs tls: true");
  if (tls === undefined || tls === false) return undefined;
  if (tls === "skip-verify") return { rejectUnauthorized: false };
  if (ca === undefined) return { rejectUnauthorized: true };
  const file = path.resolve(root, ca);
  try {
    return { rejectUnauthorized: true, ca: readFileSync(file, "utf8") };
  } catch {
    throw new TlsSettingError(`the CA file ${ca} cannot be read (looked for ${file})`);
  }
}

/** The entry of `openedx-im:mysqlServers` (Pulumi.yaml) a URL's host and port name, if any. */
export function serverForUrl(url: string, root = PROJECT_ROOT): MysqlServerConfig | undefined {
  let host: string;
  let port: number;
  try {
    const parsed = new URL(url);
    host = parsed.hostname.replace(/^\[|\]$/g, "").toLowerCase();
    port = parsed.port ? Number(parsed.port) : 3306;
  } catch {
    return undefined;
  }
  const servers = fleetSchemas.mysqlServers.safeParse(readProject(root).values["openedx-im:mysqlServers"]);
  if (!servers.success) return undefined;
  return servers.data.find((server) => server.host.toLowerCase() === host && (server.port ?? 3306) === port);
}

/** `--mysql-tls` as given on the command line. */
export function parseTlsFlag(value: string | undefined): MysqlTls {
  if (value === undefined) return undefined;
  if (value === "true") return true;
  if (value === "false") return false;
  if (value === "skip-verify") return "skip-verify";
  throw new TlsSettingError(`--mysql-tls: "${value}" is not true, false or skip-verify`);
}
