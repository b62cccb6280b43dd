/** What the grant-audit tests share: the test MariaDB's URL and running the real CLI. */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";

export const ROOT = path.resolve(__dirname, "../..");

/** The admin URL scripts/test-services.sh wrote, or TEST_MYSQL_URL. */
export function servicesUrl(): string | undefined {
  if (process.env.TEST_MYSQL_URL) return process.env.TEST_MYSQL_URL;
  const file = path.join(ROOT, ".test-results/services.env");
  if (!existsSync(file)) return undefined;
  return /^TEST_MYSQL_URL=(.+)$/m.exec(readFileSync(file, "utf8"))?.[1]?.trim();
}

export interface CliRun {
  status: number | null;
  output: string;
}

/** Runs tools/audit-grants/cli.ts as an operator would, with the admin URL in the environment. */
export function runAuditCli(mysqlUrl: string, args: string[]): CliRun {
  const result = spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, "tools/audit-grants/cli.ts"), ...args], {
    cwd: ROOT,
    env: { ...process.env, AUDIT_MYSQL_URL: mysqlUrl },
    encoding: "utf8",
    timeout: 60000,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}
