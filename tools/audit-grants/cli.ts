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
import mysql from "mysql2/promise";
import { MongoClient } from "mongodb";
import { type AuditInstance, InstancesError, loadInstances } from "./instances";
import { type AccountPlan, type ObservedAccount, planAccount } from "./mysql-audit";
import { applyStatements, readMysqlState } from "./mysql-server";
import { type MongoUserPlan, planMongoUser } from "./mongo-audit";
import { readMongoUsers, setMongoRoles } from "./mongo-server";
import { StackFileError } from "../../config/stack-file";
import { AdoptError } from "../../config/adopt";

const USAGE = `usage: npm run audit-grants -- [--mysql-url <url>] [--mongo-url <url>] [--instances <file | stack,stack,...>] [--fix] [--json]
  --mysql-url   mysql://admin:password@host:3306/ (or set AUDIT_MYSQL_URL, which keeps the password off the command line)
  --mongo-url   mongodb://admin:password@host/ (or AUDIT_MONGO_URL)
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
  remaining: AccountPlan["findings"];
}

interface MongoUserReport extends MongoUserPlan {
  applied: StatementResult[];
  remaining: MongoUserPlan["findings"];
}

interface Report {
  fix: boolean;
  instances: string[];
  mysql?: { server: string; accounts: MysqlAccountReport[]; usersNotFound: string[] };
  mongo?: { server: string; users: MongoUserReport[]; usersNotFound: string[] };
  changed: boolean;
  remainingFindings: number;
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

async function auditMysql(url: string, instances: AuditInstance[], fix: boolean, redactor: Redactor): Promise<Report["mysql"]> {
  const server = serverLabel(url);
  const connection = await mysql.createConnection({ uri: url, connectTimeout: 10000, multipleStatements: false });
  try {
    const userNames = [...new Set(instances.flatMap((instance) => instance.mysql.grants.map((grant) => grant.user)))];
    const ownerOf = new Map<string, AuditInstance>();
    for (const instance of instances) for (const grant of instance.mysql.grants) ownerOf.set(grant.user, instance);
    const scopes = instances.map((instance) => instance.mysql);
    const plan = (state: { accounts: ObservedAccount[]; databases: string[] }): AccountPlan[] =>
      state.accounts
        .map((account) => planAccount(account, (ownerOf.get(account.user) as AuditInstance).mysql, scopes, state.databases))
        .sort((left, right) => `${left.instanceId} ${left.account.user} ${left.account.host}`.localeCompare(`${right.instanceId} ${right.account.user} ${right.account.host}`));

    const before = await readMysqlState(connection, userNames);
    const plans = plan(before);
    const found = new Set(before.accounts.map((account) => account.user));
    const reports: MysqlAccountReport[] = plans.map((accountPlan) => ({ ...accountPlan, applied: [], remaining: accountPlan.findings }));
    if (fix && plans.some((accountPlan) => accountPlan.statements.length > 0)) {
      for (const report of reports) {
        if (report.statements.length === 0) continue;
        await applyStatements(connection, report.statements, (statement, error) =>
          report.applied.push(error ? { statement, error: redactor.scrub(error.message) } : { statement }),
        );
      }
      const after = plan(await readMysqlState(connection, userNames));
      for (const report of reports) {
        const again = after.find((candidate) => candidate.account.user === report.account.user && candidate.account.host === report.account.host);
        report.remaining = again?.findings ?? [];
      }
    }
    return { server, accounts: reports, usersNotFound: userNames.filter((user) => !found.has(user)).sort() };
  } finally {
    await connection.end();
  }
}

async function auditMongo(url: string, instances: AuditInstance[], fix: boolean, redactor: Redactor): Promise<Report["mongo"]> {
  const server = serverLabel(url);
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 10000 });
  await client.connect();
  try {
    const scopes = instances.map((instance) => instance.mongo);
    const userNames = scopes.map((scope) => scope.user);
    const documents = await readMongoUsers(client.db("admin"), userNames);
    const reports: MongoUserReport[] = documents.map((document) => {
      const scope = scopes.find((candidate) => candidate.user === document.user);
      const userPlan = planMongoUser(document, scope as (typeof scopes)[number], scopes);
      return { ...userPlan, applied: [], remaining: userPlan.findings };
    });
    if (fix) {
      for (const report of reports) {
        if (report.findings.length === 0) continue;
        const statement = `db.getSiblingDB(${JSON.stringify(report.authDatabase)}).updateUser(${JSON.stringify(report.user)}, { roles: ${JSON.stringify(report.desiredRoles)} })`;
        try {
          await setMongoRoles(client.db(report.authDatabase), report.user, report.desiredRoles);
          report.applied.push({ statement });
        } catch (error) {
          report.applied.push({ statement, error: redactor.scrub((error as Error).message) });
        }
      }
      const after = await readMongoUsers(client.db("admin"), userNames);
      for (const report of reports) {
        const document = after.find((candidate) => candidate.user === report.user && candidate.db === report.authDatabase);
        const scope = scopes.find((candidate) => candidate.user === report.user);
        report.remaining = document && scope ? planMongoUser(document, scope, scopes).findings : [];
      }
    }
    const found = new Set(documents.map((document) => document.user));
    return { server, users: reports, usersNotFound: userNames.filter((user) => !found.has(user)).sort() };
  } finally {
    await client.close();
  }
}

function renderText(report: Report): string {
  const lines: string[] = [];
  const mark = (count: number): string => (count === 0 ? "scoped" : `${count} finding${count === 1 ? "" : "s"}`);
  if (report.mysql) {
    const { server, accounts, usersNotFound } = report.mysql;
    lines.push(`MySQL ${server}: ${report.instances.length} instance(s) known, ${accounts.length} of their account(s) on this server`);
    for (const account of accounts) {
      lines.push(`  ${account.instanceId}  '${account.account.user}'@'${account.account.host}' (${account.roles.join(", ")}): ${mark(account.findings.length)}`);
      for (const finding of account.findings) lines.push(`    - ${finding.kind}: ${finding.message}`);
      for (const applied of account.applied) lines.push(`    ${applied.error ? "FAILED" : "ran"}: ${applied.statement}${applied.error ? ` -- ${applied.error}` : ""}`);
      if (account.applied.length > 0) {
        lines.push(`    after the fix: ${mark(account.remaining.length)}`);
        for (const finding of account.remaining) lines.push(`    - still: ${finding.kind}: ${finding.message}`);
      }
    }
    if (usersNotFound.length > 0) lines.push(`  not on this server (another server, or not created yet): ${usersNotFound.join(", ")}`);
  }
  if (report.mongo) {
    const { server, users, usersNotFound } = report.mongo;
    lines.push(`MongoDB ${server}: ${users.length} instance user(s) found`);
    for (const user of users) {
      lines.push(`  ${user.instanceId}  ${user.user} (in ${user.authDatabase}): ${mark(user.findings.length)}`);
      for (const finding of user.findings) lines.push(`    - ${finding.kind}: ${finding.message}`);
      for (const applied of user.applied) lines.push(`    ${applied.error ? "FAILED" : "ran"}: ${applied.statement}${applied.error ? ` -- ${applied.error}` : ""}`);
      if (report.fix && user.applied.length > 0) lines.push(`    after the fix: ${mark(user.remaining.length)}`);
    }
    if (usersNotFound.length > 0) lines.push(`  not on this server: ${usersNotFound.join(", ")}`);
  }
  if (report.remainingFindings === 0) {
    lines.push(report.fix && !report.changed ? "Nothing to change: every account is already scoped." : report.changed ? "Fixed: every account is now scoped." : "Every account is scoped.");
  } else {
    lines.push(`${report.remainingFindings} finding(s) remain${report.fix ? "" : " (run with --fix to repair)"}.`);
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
    const instances = loadInstances(parsed.instances);

    const report: Report = { fix, instances: instances.map((instance) => instance.id), changed: false, remainingFindings: 0 };
    if (mysqlUrl) report.mysql = await auditMysql(mysqlUrl, instances, fix, redactor);
    if (mongoUrl) report.mongo = await auditMongo(mongoUrl, instances, fix, redactor);
    const applied = [...(report.mysql?.accounts ?? []), ...(report.mongo?.users ?? [])].flatMap((entry) => entry.applied);
    report.changed = applied.some((result) => result.error === undefined);
    report.remainingFindings =
      (report.mysql?.accounts ?? []).reduce((sum, account) => sum + account.remaining.length, 0) +
      (report.mongo?.users ?? []).reduce((sum, user) => sum + user.remaining.length, 0);

    process.stdout.write(redactor.scrub(json ? JSON.stringify(report, null, 2) : renderText(report)) + "\n");
    return report.remainingFindings === 0 ? 0 : 1;
  } catch (error) {
    const known = error instanceof UsageError || error instanceof InstancesError || error instanceof StackFileError || error instanceof AdoptError;
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
