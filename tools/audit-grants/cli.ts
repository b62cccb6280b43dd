/**
 * npm run audit-grants -- --mysql-url <url> [--mongo-url <url>] [--instances <file | stack,stack>] [--fix] [--json]
 *
 * Reports, for every instance user it knows of, privileges beyond the
 * instance's own databases and privileges it lacks on them; with --fix, makes
 * them exact and prints every statement it runs. Exit 0: everything scoped (or
 * fixed); 1: findings remain; 2: usage, configuration or connection error.
 * See docs/audit-grants.md.
 */
import { parseArgs } from "node:util";
import { MongoClient } from "mongodb";
import { type AuditInstance, InstancesError, loadInstances } from "./instances";
import { type AccountPlan, type Finding, type MysqlAccount, type MysqlInstanceScope, type PublicPlan, accountKey, planServer } from "./mysql-audit";
import { SqlModeError, applyStatements, connectForAudit, readMysqlState } from "./mysql-server";
import { type MongoUserPlan, type MongoUserRef, mongoUpdates, planMongoServer } from "./mongo-audit";
import { readMongoConnectedAs, readMongoUsers, setMongoRoles } from "./mongo-server";
import { type MysqlTls, TlsSettingError, mysqlSslOptions, parseTlsFlag, serverForUrl } from "./mysql-tls";
import { displayAccount } from "./sql-quote";
import { StackFileError } from "../../config/stack-file";
import { AdoptError } from "../../config/adopt";

const USAGE = `usage: npm run audit-grants -- [--mysql-url <url>] [--mysql-tls <mode>] [--mysql-ca <file>] [--mongo-url <url>] [--instances <file | stack,stack,...>] [--fix] [--json]
  --mysql-url   mysql://admin:password@host:3306/ (or set AUDIT_MYSQL_URL, which keeps the password off the command line)
  --mongo-url   mongodb://admin:password@host/ (or AUDIT_MONGO_URL)
  --mysql-tls   true | skip-verify | false (default: the tls of the openedx-im:mysqlServers entry with the URL's host and port)
  --mysql-ca    a PEM file of the CA that signed the server's certificate (needs --mysql-tls true; default: that entry's ca)
  --instances   a list file ({ instances: [stack | {id, services, adopt}] }) or stack names; default: every Pulumi.<stack>.yaml
  --fix         revoke what is too wide, grant what is missing (otherwise nothing is changed)
  --json        one JSON document on stdout
exit status: 0 all scoped, 1 findings remain, 2 usage or connection error`;

class UsageError extends Error {}

interface StatementResult {
  statement: string;
  error?: string;
}

interface MysqlAccountReport extends AccountPlan {
  applied: StatementResult[];
  /** Findings after --fix (equal to `findings` without it). */
  remaining: Finding[];
}

interface PublicReport extends PublicPlan {
  applied: StatementResult[];
  remaining: Finding[];
}

interface MongoUserReport extends MongoUserPlan {
  /** The updateUser --fix runs (none when the user is scoped or left alone). */
  statements: string[];
  applied: StatementResult[];
  remaining: MongoUserPlan["findings"];
}

interface Report {
  fix: boolean;
  instances: string[];
  /** Stacks not audited by default: their databases are ephemeral (on the VM), no account is on a shared server. */
  leftOut: string[];
  mysql?: {
    server: string;
    /** The session sql_mode the audit set and ran its statements under. */
    sqlMode: string;
    /** The account CURRENT_USER() names: never changed. */
    connectedAs: MysqlAccount[];
    accounts: MysqlAccountReport[];
    public: PublicReport;
    accountsNotFound: MysqlAccount[];
  };
  mongo?: { server: string; connectedAs: MongoUserRef[]; users: MongoUserReport[]; usersNotFound: string[] };
  changed: boolean;
  remainingFindings: number;
  /** What accounts the audit leaves alone hold beyond their instance: reported, not counted. */
  warnings: number;
}

/** Every secret the output must not carry, so any message can be scrubbed of them. */
class Redactor {
  private readonly secrets: string[] = [];
  add(url: string): void {
    try {
      const parsed = new URL(url);
      for (const secret of [parsed.password, decodeURIComponent(parsed.password)]) if (secret.length > 0) this.secrets.push(secret);
    } catch {
      // An unparsable URL fails at connect time with its own message; nothing to remember.
    }
  }
  scrub(text: string): string {
    return this.secrets.reduce((result, secret) => result.split(secret).join("***"), text);
  }
}

function serverLabel(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.host || "(no host)";
  } catch {
    throw new UsageError("the server URL is not a valid URL (mysql://user:password@host:port/ or mongodb://...)");
  }
}

const planKey = (plan: { disposition: string; account: MysqlAccount }): string => `${plan.disposition}\u0000${accountKey(plan.account)}`;

async function auditMysql(
  url: string,
  instances: AuditInstance[],
  fix: boolean,
  redactor: Redactor,
  tls: { tls: MysqlTls; ca?: string },
): Promise<Report["mysql"]> {
  const server = serverLabel(url);
  // The flags win; otherwise the fleet's entry for this host and port says (as it does for the provider).
  const configured = tls.tls === undefined && tls.ca === undefined ? serverForUrl(url) : undefined;
  const ssl = mysqlSslOptions(configured?.tls ?? tls.tls, configured ? configured.ca : tls.ca);
  const { connection, sqlMode } = await connectForAudit(url, ssl);
  try {
    const scopes: MysqlInstanceScope[] = instances.map((instance) => instance.mysql);
    const before = await readMysqlState(connection);
    const plan = planServer(before, scopes);
    const reports: MysqlAccountReport[] = plan.accounts.map((accountPlan) => ({ ...accountPlan, applied: [], remaining: accountPlan.findings }));
    const publicReport: PublicReport = { ...plan.public, applied: [], remaining: plan.public.findings };
    const record = (target: StatementResult[]) => (statement: string, error?: Error) =>
      target.push(error ? { statement, error: redactor.scrub(error.message) } : { statement });
    const planned = [...reports, publicReport].some((entry) => entry.statements.length > 0);
    if (fix && planned) {
      // Only managed accounts and PUBLIC ever carry statements (planServer leaves the others without any).
      for (const report of reports) if (report.statements.length > 0) await applyStatements(connection, report.statements, record(report.applied));
      if (publicReport.statements.length > 0) await applyStatements(connection, publicReport.statements, record(publicReport.applied));
      const after = planServer(await readMysqlState(connection), scopes);
      const byKey = new Map(after.accounts.map((accountPlan) => [planKey(accountPlan), accountPlan]));
      for (const report of reports) report.remaining = byKey.get(planKey(report))?.findings ?? [];
      publicReport.remaining = after.public.findings;
    }
    return { server, sqlMode, connectedAs: before.connectedAs, accounts: reports, public: publicReport, accountsNotFound: plan.accountsNotFound };
  } finally {
    await connection.end();
  }
}

/** The one updateUser --fix runs for a user, as the mongo shell would say it. */
function mongoStatement(plan: MongoUserPlan): string {
  return `db.getSiblingDB(${JSON.stringify(plan.authDatabase)}).updateUser(${JSON.stringify(plan.user)}, { roles: ${JSON.stringify(plan.desiredRoles)} })`;
}

async function auditMongo(url: string, instances: AuditInstance[], fix: boolean, redactor: Redactor): Promise<Report["mongo"]> {
  const server = serverLabel(url);
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 10000 });
  await client.connect();
  try {
    const scopes = instances.map((instance) => instance.mongo);
    const userNames = scopes.map((scope) => scope.user);
    const admin = client.db("admin");
    const connectedAs = await readMongoConnectedAs(admin);
    const plans = planMongoServer(await readMongoUsers(admin, userNames), scopes, connectedAs);
    const updates = new Set(mongoUpdates(plans));
    const reports: MongoUserReport[] = plans.map((userPlan) => ({
      ...userPlan,
      statements: updates.has(userPlan) ? [mongoStatement(userPlan)] : [],
      applied: [],
      remaining: userPlan.findings,
    }));
    if (fix) {
      for (const report of mongoUpdates(reports) as MongoUserReport[]) {
        const statement = mongoStatement(report);
        try {
          await setMongoRoles(client.db(report.authDatabase), report.user, report.desiredRoles);
          report.applied.push({ statement });
        } catch (error) {
          report.applied.push({ statement, error: redactor.scrub((error as Error).message) });
        }
      }
      const after = planMongoServer(await readMongoUsers(admin, userNames), scopes, connectedAs);
      for (const report of reports) {
        const again = after.find((candidate) => candidate.user === report.user && candidate.authDatabase === report.authDatabase);
        report.remaining = again?.findings ?? [];
      }
    }
    const usersNotFound = scopes
      .filter((scope) => !plans.some((userPlan) => userPlan.user === scope.user && userPlan.authDatabase === scope.authDatabase))
      .map((scope) => `${scope.user} (in ${scope.authDatabase})`)
      .sort();
    return { server, connectedAs, users: reports, usersNotFound };
  } finally {
    await client.close();
  }
}

const DISPOSITION_LABEL: Record<string, string> = {
  "other-host": "not the instance's account",
  "other-database": "not the instance's user",
  reference: "left alone (mode: reference)",
  "connecting-account": "left alone (the audit's own account)",
};

function renderText(report: Report): string {
  const lines: string[] = [];
  const mark = (count: number): string => (count === 0 ? "scoped" : `${count} finding${count === 1 ? "" : "s"}`);
  const renderEntry = (
    head: string,
    entry: {
      disposition?: string;
      note?: string;
      findings: Finding[];
      warnings?: Finding[];
      statements: string[];
      applied: StatementResult[];
      remaining: Finding[];
    },
  ): void => {
    const label = entry.disposition && entry.disposition !== "managed" ? `${DISPOSITION_LABEL[entry.disposition] ?? entry.disposition}, ` : "";
    lines.push(`${head}: ${label}${mark(entry.findings.length)}`);
    if (entry.note) lines.push(`    (${entry.note})`);
    for (const finding of entry.findings) lines.push(`    - ${finding.kind}: ${finding.message}`);
    for (const warning of entry.warnings ?? []) lines.push(`    - warning (not changed): ${warning.kind}: ${warning.message}`);
    // Without --fix, what --fix would run, in its order, so a person can review it first.
    if (!report.fix) for (const statement of entry.statements) lines.push(`    --fix would run: ${statement}`);
    for (const applied of entry.applied) lines.push(`    ${applied.error ? "FAILED" : "ran"}: ${applied.statement}${applied.error ? ` -- ${applied.error}` : ""}`);
    if (entry.applied.length > 0) {
      lines.push(`    after the fix: ${mark(entry.remaining.length)}`);
      for (const finding of entry.remaining) lines.push(`    - still: ${finding.kind}: ${finding.message}`);
    }
  };
  if (report.mysql) {
    const { server, sqlMode, connectedAs, accounts, accountsNotFound } = report.mysql;
    lines.push(`MySQL ${server}: ${report.instances.length} instance(s) known, ${accounts.length} of their account(s) on this server`);
    lines.push(`  connected as ${connectedAs.map(displayAccount).join(" or ") || "(unknown)"} (never changed); session sql_mode ${sqlMode || "(empty)"}`);
    for (const account of accounts) renderEntry(`  ${account.instanceId}  ${displayAccount(account.account)} (${account.roles.join(", ") || "no role"})`, account);
    renderEntry("  PUBLIC (grants every account holds)", report.mysql.public);
    if (accountsNotFound.length > 0) lines.push(`  not on this server (another server, or not created yet): ${accountsNotFound.map(displayAccount).join(", ")}`);
  }
  if (report.mongo) {
    const { server, users, usersNotFound } = report.mongo;
    lines.push(`MongoDB ${server}: ${users.length} instance user(s) found`);
    for (const user of users) renderEntry(`  ${user.instanceId}  ${user.user} (in ${user.authDatabase})`, user);
    if (usersNotFound.length > 0) lines.push(`  not on this server: ${usersNotFound.join(", ")}`);
  }
  if (report.leftOut.length > 0)
    lines.push(`Left out (ephemeral databases, no account on the shared servers; name them with --instances to audit them): ${report.leftOut.join(", ")}`);
  if (report.warnings > 0) lines.push(`${report.warnings} warning(s) on accounts the audit leaves alone (see above).`);
  if (report.remainingFindings === 0) {
    lines.push(report.fix && !report.changed ? "Nothing to change: every account is already scoped." : report.changed ? "Fixed: every account is now scoped." : "Every account is scoped.");
  } else if (report.fix && !report.changed) {
    lines.push(`Nothing to change: ${report.remainingFindings} finding(s) remain that --fix does not change (see above).`);
  } else {
    lines.push(`${report.remainingFindings} finding(s) remain${report.fix ? "" : " (run with --fix to repair what it may)"}.`);
  }
  return lines.join("\n");
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const redactor = new Redactor();
  let json = false;
  try {
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        options: {
          "mysql-url": { type: "string" },
          "mongo-url": { type: "string" },
          instances: { type: "string" },
          "mysql-tls": { type: "string" },
          "mysql-ca": { type: "string" },
          fix: { type: "boolean", default: false },
          json: { type: "boolean", default: false },
          help: { type: "boolean", default: false },
        },
        strict: true,
        allowPositionals: false,
      }).values;
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    json = parsed.json === true;
    if (parsed.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const mysqlUrl = parsed["mysql-url"] ?? env.AUDIT_MYSQL_URL;
    const mongoUrl = parsed["mongo-url"] ?? env.AUDIT_MONGO_URL;
    if (mysqlUrl) redactor.add(mysqlUrl);
    if (mongoUrl) redactor.add(mongoUrl);
    if (!mysqlUrl && !mongoUrl) throw new UsageError("give --mysql-url and/or --mongo-url (or AUDIT_MYSQL_URL / AUDIT_MONGO_URL)");
    const fix = parsed.fix === true;
    const leftOut: string[] = [];
    const instances = loadInstances(parsed.instances, undefined, leftOut);

    const report: Report = {
      fix,
      instances: instances.map((instance) => instance.id),
      leftOut,
      changed: false,
      remainingFindings: 0,
      warnings: 0,
    };
    const tls = { tls: parseTlsFlag(parsed["mysql-tls"]), ...(parsed["mysql-ca"] !== undefined ? { ca: parsed["mysql-ca"] } : {}) };
    if (mysqlUrl) report.mysql = await auditMysql(mysqlUrl, instances, fix, redactor, tls);
    if (mongoUrl) report.mongo = await auditMongo(mongoUrl, instances, fix, redactor);
    const entries = [...(report.mysql?.accounts ?? []), ...(report.mysql ? [report.mysql.public] : []), ...(report.mongo?.users ?? [])];
    report.changed = entries.flatMap((entry) => entry.applied).some((result) => result.error === undefined);
    report.remainingFindings = entries.reduce((sum, entry) => sum + entry.remaining.length, 0);
    report.warnings = [...(report.mysql?.accounts ?? []), ...(report.mongo?.users ?? [])].reduce((sum, entry) => sum + entry.warnings.length, 0);

    process.stdout.write(redactor.scrub(json ? JSON.stringify(report, null, 2) : renderText(report)) + "\n");
    return report.remainingFindings === 0 ? 0 : 1;
  } catch (error) {
    const known = error instanceof UsageError || error instanceof InstancesError || error instanceof StackFileError || error instanceof AdoptError || error instanceof SqlModeError || error instanceof TlsSettingError;
    const message = redactor.scrub(error instanceof Error ? error.message : String(error));
    const text = known ? message : `server error (connection or query): ${message}`;
    if (json) process.stdout.write(`${JSON.stringify({ error: text })}\n`);
    process.stderr.write(`audit-grants: ${text}\n${error instanceof UsageError ? `${USAGE}\n` : ""}`);
    return 2;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
