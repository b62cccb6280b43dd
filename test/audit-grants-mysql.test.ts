import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import mysql from "mysql2/promise";
import { instanceMysqlGrants } from "../components/mysql-grants";
import { mysqlDatabaseName, mysqlUserName } from "../config/names";
import { auditInstance } from "../tools/audit-grants/instances";
import { type MysqlServerState, type ObservedGrantee, type ObservedPrivilege, grantPatternMatches, planAccount, planServer } from "../tools/audit-grants/mysql-audit";
import { type CliRun, runAuditCli, servicesUrl } from "./support/audit-grants-mariadb";

const ROOT = path.resolve(__dirname, "..");
const SERVICES = { xqueue: false, notes: false };

function account(user: string, privileges: ObservedPrivilege[], roles: ObservedGrantee["roles"] = []): ObservedGrantee {
  return { user, host: "%", isRole: false, privileges, roles };
}

/** What a correctly provisioned user holds: exactly its grants, as information_schema lists them. */
function exactPrivileges(instanceId: string, user: string): ObservedPrivilege[] {
  return instanceMysqlGrants(instanceId, SERVICES)
    .filter((grant) => grant.user === user)
    .flatMap((grant) => grant.privileges.map((privilege) => ({ level: "database" as const, database: grant.grantDatabase, privilege, grantable: false })));
}

describe("audit-grants (MySQL decisions)", () => {
  const prod = auditInstance("prod", SERVICES);
  const dev = auditInstance("dev", SERVICES);
  const all = [prod.mysql, dev.mysql];
  const prodUser = mysqlUserName("prod", "edxapp");

  it("finds nothing to do for a user holding exactly its grants", () => {
    const plan = planAccount(account(prodUser, [{ level: "global", privilege: "USAGE", grantable: false }, ...exactPrivileges("prod", prodUser)]), prod.mysql, all);
    assert.deepEqual(plan.findings, []);
    assert.deepEqual(plan.statements, []);
  });

  it("reports global privileges and grants the missing own ones before revoking the global ones", () => {
    const plan = planAccount(account(prodUser, [{ level: "global", privilege: "SELECT", grantable: true }]), prod.mysql, all);
    assert.deepEqual(plan.findings.map((finding) => finding.kind).sort(), ["global", "grant-option", "missing", "missing"]);
    const firstRevoke = plan.statements.findIndex((statement) => statement.startsWith("REVOKE"));
    const lastGrant = plan.statements.map((statement) => statement.startsWith("GRANT")).lastIndexOf(true);
    assert.ok(lastGrant < firstRevoke, plan.statements.join("\n"));
    assert.ok(plan.statements.includes(`REVOKE ALL PRIVILEGES ON *.* FROM '${prodUser}'@'%'`));
    assert.ok(plan.statements.includes(`GRANT SELECT, INSERT, UPDATE, DELETE ON \`${mysqlDatabaseName("prod", "edxapp").replace(/_/g, "\\_")}\`.* TO '${prodUser}'@'%'`));
  });

  it("names the other instance a grant reaches, even through an unescaped or wildcard pattern", () => {
    const devDatabase = mysqlDatabaseName("dev", "edxapp");
    for (const pattern of [devDatabase, devDatabase.replace(/_/g, "\\_"), "dev%"]) {
      const plan = planAccount(account(prodUser, [...exactPrivileges("prod", prodUser), { level: "database", database: pattern, privilege: "SELECT", grantable: false }]), prod.mysql, all);
      assert.deepEqual(plan.findings.map((finding) => finding.kind), ["other-instance"], pattern);
      assert.match(plan.findings[0]?.message ?? "", /reach instance dev/);
      assert.deepEqual(plan.statements, [`REVOKE ALL PRIVILEGES ON \`${pattern}\`.* FROM '${prodUser}'@'%'`]);
    }
  });

  it("replaces an unescaped grant on its own database with the escaped one", () => {
    const own = mysqlDatabaseName("prod", "edxapp");
    const held = exactPrivileges("prod", prodUser).map((row) => (row.level === "database" && row.database === own.replace(/_/g, "\\_") ? { ...row, database: own } : row));
    const plan = planAccount(account(prodUser, held), prod.mysql, all);
    assert.deepEqual(plan.findings.map((finding) => finding.kind).sort(), ["missing", "wildcard"]);
    assert.ok(plan.statements[0]?.startsWith("GRANT"));
  });

  it("revokes privileges beyond the role, grant options, table and column grants, roles, and foreign databases", () => {
    const own = mysqlDatabaseName("prod", "edxapp").replace(/_/g, "\\_");
    const plan = planAccount(
      account(
        prodUser,
        [
          ...exactPrivileges("prod", prodUser).map((row) => ({ ...row, grantable: row.level === "database" && row.database === own })),
          { level: "database", database: own, privilege: "DROP", grantable: false },
          { level: "database", database: "wordpress", privilege: "SELECT", grantable: false },
          { level: "table", database: "mysql", table: "user", privilege: "SELECT", grantable: false },
          { level: "column", database: "shop", table: "orders", column: "total", privilege: "UPDATE", grantable: false },
        ],
        [{ user: "dba", host: "" }],
      ),
      prod.mysql,
      all,
      ["wordpress", "shop"],
    );
    assert.deepEqual(plan.findings.map((finding) => finding.kind).sort(), ["excess", "foreign-database", "grant-option", "role", "table-level", "table-level"]);
    assert.ok(plan.statements.includes(`REVOKE DROP ON \`${own}\`.* FROM '${prodUser}'@'%'`));
    assert.ok(plan.statements.includes(`REVOKE GRANT OPTION ON \`${own}\`.* FROM '${prodUser}'@'%'`));
    assert.ok(plan.statements.includes("REVOKE 'dba' FROM '" + prodUser + "'@'%'"));
    assert.ok(plan.statements.includes(`REVOKE UPDATE (\`total\`) ON \`shop\`.\`orders\` FROM '${prodUser}'@'%'`));
  });

  describe("which accounts are whose", () => {
    const legacy = auditInstance("legacy", SERVICES, { mysql: { users: { edxapp: { name: "legacy", host: "10.0.%" } } } });
    const shared = auditInstance("shared", SERVICES, { mysql: { mode: "reference", users: { edxapp: "shared_app" } } });
    const ownsAdmin = auditInstance("ops", SERVICES, { mysql: { users: { edxapp: { name: "dba", host: "127.0.0.1" } } } });
    const scopes = [prod.mysql, dev.mysql, legacy.mysql, shared.mysql, ownsAdmin.mysql];
    const grantee = (user: string, host: string, privileges: ObservedPrivilege[] = [], roles: ObservedGrantee["roles"] = []): ObservedGrantee => ({ user, host, isRole: false, privileges, roles });
    const globalAll: ObservedPrivilege[] = [{ level: "global", privilege: "SELECT", grantable: true }];
    const state = (grantees: ObservedGrantee[], connectedAs = [{ user: "dba", host: "127.0.0.1" }]): MysqlServerState => ({ grantees, databases: [], connectedAs });
    const entry = (plan: ReturnType<typeof planServer>, user: string, host: string) =>
      plan.accounts.find((candidate) => candidate.account.user === user && candidate.account.host === host);

    it("an instance's account is its user AND host: the same name on another host is reported, never changed", () => {
      const plan = planServer(state([grantee("legacy", "10.0.%"), grantee("legacy", "localhost", [{ level: "database", database: "wordpress", privilege: "SELECT", grantable: false }])]), scopes);
      const own = entry(plan, "legacy", "10.0.%");
      assert.equal(own?.disposition, "managed");
      assert.ok(own?.statements.every((statement) => statement.endsWith("TO 'legacy'@'10.0.%'")), own?.statements.join("\n"));
      const other = entry(plan, "legacy", "localhost");
      assert.equal(other?.disposition, "other-host");
      assert.deepEqual(other?.statements, []);
      assert.deepEqual(other?.findings.map((finding) => finding.kind), ["foreign-database"]);
    });

    it("leaves a referenced user and the connecting account alone, reporting what they hold as warnings", () => {
      const plan = planServer(state([grantee("shared_app", "%", globalAll), grantee("dba", "127.0.0.1", globalAll), grantee("dba", "%", globalAll)]), scopes);
      for (const [user, host, disposition] of [
        ["shared_app", "%", "reference"],
        ["dba", "127.0.0.1", "connecting-account"],
      ] as const) {
        const found = entry(plan, user, host);
        assert.equal(found?.disposition, disposition);
        assert.deepEqual(found?.statements, []);
        assert.deepEqual(found?.findings, []);
        assert.deepEqual(found?.warnings.map((warning) => warning.kind), ["global", "grant-option"]);
      }
      // Another account with the admin's name: not the connecting one, not the instance's.
      assert.equal(entry(plan, "dba", "%")?.disposition, "other-host");
    });

    it("PUBLIC's grants are findings; --fix revokes only those that reach an instance", () => {
      const devPattern = mysqlDatabaseName("dev", "edxapp").replace(/_/g, "\\_");
      const plan = planServer(
        state([
          {
            user: "PUBLIC",
            host: "",
            isRole: true,
            roles: [],
            privileges: [
              { level: "database", database: devPattern, privilege: "SELECT", grantable: false },
              { level: "database", database: "wiki", privilege: "SELECT", grantable: false },
            ],
          },
        ]),
        scopes,
      );
      assert.deepEqual(plan.public.findings.map((finding) => finding.kind), ["other-instance", "foreign-database"]);
      assert.deepEqual(plan.public.statements, [`REVOKE ALL PRIVILEGES ON \`${devPattern}\`.* FROM PUBLIC`]);
    });

    it("reports what a role carries, routine privileges and PROXY, and refuses names it cannot quote", () => {
      const devDatabase = mysqlDatabaseName("dev", "edxapp");
      const plan = planServer(
        {
          grantees: [
            grantee(prodUser, "%", [
              ...exactPrivileges("prod", prodUser),
              { level: "routine", database: devDatabase, routine: "report", routineType: "FUNCTION", privilege: "EXECUTE", grantable: false },
              { level: "proxy", proxied: { user: "root", host: "localhost" }, grantable: false },
              { level: "proxy", proxied: { user: "odd", host: "a\\b" }, grantable: false },
            ], [{ user: "wide", host: "" }, { user: "bad\\name", host: "" }]),
            { user: "wide", host: "", isRole: true, roles: [], privileges: [{ level: "global", privilege: "FILE", grantable: false }] },
          ],
          databases: [],
          connectedAs: [],
        },
        scopes,
      );
      const account = entry(plan, prodUser, "%");
      assert.deepEqual(account?.findings.map((finding) => finding.kind), ["routine", "proxy", "proxy", "role", "role"]);
      assert.match(account?.findings[0]?.message ?? "", /instance dev/);
      assert.match(account?.findings[3]?.message ?? "", /through it: global privileges ON \*\.\*: FILE/);
      assert.match(account?.findings[2]?.message ?? "", /cannot revoke it: .*backslash/);
      assert.match(account?.findings[4]?.message ?? "", /cannot revoke it: .*backslash/);
      assert.deepEqual(account?.statements, [
        `REVOKE EXECUTE ON FUNCTION \`${devDatabase}\`.\`report\` FROM '${prodUser}'@'%'`,
        `REVOKE PROXY ON 'root'@'localhost' FROM '${prodUser}'@'%'`,
        `REVOKE 'wide' FROM '${prodUser}'@'%'`,
      ]);
    });
  });

  it("reads GRANT patterns as MySQL does", () => {
    assert.ok(grantPatternMatches("a_c", "abc"));
    assert.ok(!grantPatternMatches("a\\_c", "abc"));
    assert.ok(grantPatternMatches("a\\_c", "a_c"));
    assert.ok(grantPatternMatches("pr%", "prod_x"));
    assert.ok(!grantPatternMatches("prod", "prod2"));
  });
});

describe("audit-grants against MariaDB", function () {
  this.timeout(120000);
  const adminUrl = servicesUrl();
  const suffix = `${process.pid.toString(36)}${randomBytes(3).toString("hex")}`;
  const ids = { a: `audit-${suffix}-a`, b: `audit-${suffix}-b` };
  const passwords = new Map<string, string>();
  let admin: mysql.Connection;
  let workDir: string;
  let listFile: string;

  const databasesOf = (id: string): string[] => [mysqlDatabaseName(id, "edxapp"), mysqlDatabaseName(id, "edxapp_csmh")];
  const writersOf = (id: string): string[] => [mysqlUserName(id, "edxapp"), mysqlUserName(id, "migrate")];
  const usersOf = (id: string): string[] => [...writersOf(id), mysqlUserName(id, "read_only")];

  function runCli(...args: string[]): CliRun {
    return runAuditCli(adminUrl as string, ["--instances", listFile, ...args]);
  }

  function assertNoSecrets(output: string): void {
    const adminPassword = decodeURIComponent(new URL(adminUrl as string).password);
    assert.ok(!output.includes(adminPassword), "the admin password appears in the output");
    for (const [user, password] of passwords) assert.ok(!output.includes(password), `${user}'s password appears in the output`);
  }

  async function connectAs(user: string, database: string): Promise<mysql.Connection> {
    const url = new URL(adminUrl as string);
    return mysql.createConnection({ host: url.hostname, port: Number(url.port), user, password: passwords.get(user), database });
  }

  async function canUse(user: string, database: string): Promise<boolean> {
    let connection: mysql.Connection | undefined;
    try {
      connection = await connectAs(user, database);
      await connection.query("INSERT INTO probe (id) VALUES (1)");
      await connection.query("SELECT COUNT(*) FROM probe");
      return true;
    } catch (error) {
      const code = (error as { code?: string }).code ?? "";
      assert.match(code, /ACCESS_DENIED/, `unexpected error for ${user} on ${database}: ${(error as Error).message}`);
      return false;
    } finally {
      await connection?.end();
    }
  }

  before(async function () {
    // A missing server is a failure, not a silent skip: in CI it means the service did not start.
    if (!adminUrl) {
      if (process.env.OPENEDX_IM_SKIP_MARIADB === "1") {
        console.log("    (skipped on purpose: OPENEDX_IM_SKIP_MARIADB=1)");
        this.skip();
      }
      throw new Error(
        "no MariaDB for these tests: TEST_MYSQL_URL is unset and .test-results/services.env is missing. " +
          "Run `bash scripts/test-services.sh` (npm test does), or set OPENEDX_IM_SKIP_MARIADB=1 to skip them on purpose.",
      );
    }
    admin = await mysql.createConnection(adminUrl as string);
    workDir = mkdtempSync(path.join(tmpdir(), "audit-grants-"));
    listFile = path.join(workDir, "instances.yaml");
    writeFileSync(listFile, `instances:\n  - { id: ${ids.a}, services: { xqueue: false, notes: false } }\n  - { id: ${ids.b}, services: { xqueue: false, notes: false } }\n`);
    for (const id of [ids.a, ids.b]) {
      for (const database of databasesOf(id)) {
        await admin.query(`CREATE DATABASE \`${database}\``);
        await admin.query(`CREATE TABLE \`${database}\`.probe (id INT)`);
      }
      for (const user of usersOf(id)) {
        const password = randomBytes(12).toString("hex");
        passwords.set(user, password);
        await admin.query("CREATE USER ?@'%' IDENTIFIED BY ?", [user, password]);
      }
      for (const grant of instanceMysqlGrants(id, SERVICES))
        await admin.query(`GRANT ${grant.privileges.join(", ")} ON \`${grant.grantDatabase}\`.* TO ?@'%'`, [grant.user]);
    }
    // The two ways the old infrastructure went wrong.
    await admin.query("GRANT ALL PRIVILEGES ON *.* TO ?@'%'", [mysqlUserName(ids.a, "edxapp")]);
    await admin.query(`GRANT SELECT, INSERT ON \`${mysqlDatabaseName(ids.a, "edxapp")}\`.* TO ?@'%'`, [mysqlUserName(ids.b, "edxapp")]);
  });

  after(async () => {
    if (!admin) return;
    for (const id of [ids.a, ids.b]) {
      for (const database of databasesOf(id)) await admin.query(`DROP DATABASE IF EXISTS \`${database}\``);
      for (const user of usersOf(id)) await admin.query("DROP USER IF EXISTS ?@'%'", [user]);
    }
    await admin.end();
    rmSync(workDir, { recursive: true, force: true });
  });

  it("before the fix, each user reaches the other instance's database", async () => {
    assert.equal(await canUse(mysqlUserName(ids.a, "edxapp"), mysqlDatabaseName(ids.b, "edxapp")), true);
    assert.equal(await canUse(mysqlUserName(ids.b, "edxapp"), mysqlDatabaseName(ids.a, "edxapp")), true);
  });

  it("finds the global grant and the grant on the other instance's database, changes nothing, exits 1", async () => {
    const run = runCli();
    assert.equal(run.status, 1, run.output);
    assert.match(run.output, new RegExp(`'${mysqlUserName(ids.a, "edxapp")}'@'%' \\(edxapp\\): \\d+ findings?\\n\\s+- global: global privileges ON \\*\\.\\*`));
    assert.match(run.output, new RegExp(`'${mysqlUserName(ids.b, "edxapp")}'@'%' \\(edxapp\\): 1 finding\\n\\s+- other-instance: .* reach instance ${ids.a}`));
    assert.match(run.output, new RegExp(`'${mysqlUserName(ids.a, "migrate")}'@'%' \\(migrate\\): scoped`));
    assert.doesNotMatch(run.output, /ran: /);
    // What --fix would run, shown for review, in the order it would run.
    assert.ok(run.output.includes(`--fix would run: REVOKE ALL PRIVILEGES ON *.* FROM '${mysqlUserName(ids.a, "edxapp")}'@'%'`), run.output);
    assert.ok(
      run.output.includes(`--fix would run: REVOKE ALL PRIVILEGES ON \`${mysqlDatabaseName(ids.a, "edxapp")}\`.* FROM '${mysqlUserName(ids.b, "edxapp")}'@'%'`),
      run.output,
    );
    assertNoSecrets(run.output);
    assert.equal(await canUse(mysqlUserName(ids.a, "edxapp"), mysqlDatabaseName(ids.b, "edxapp")), true, "the audit without --fix changed a grant");
  });

  it("--fix repairs both, printing every statement, and exits 0", () => {
    const run = runCli("--fix");
    assert.equal(run.status, 0, run.output);
    assert.ok(run.output.includes(`ran: REVOKE ALL PRIVILEGES ON *.* FROM '${mysqlUserName(ids.a, "edxapp")}'@'%'`), run.output);
    // The stray grant was written unescaped, as the old tooling did: it is revoked as it was granted.
    assert.ok(run.output.includes(`ran: REVOKE ALL PRIVILEGES ON \`${mysqlDatabaseName(ids.a, "edxapp")}\`.* FROM '${mysqlUserName(ids.b, "edxapp")}'@'%'`), run.output);
    assert.match(run.output, /Fixed: every account is now scoped\./);
    assertNoSecrets(run.output);
  });

  it("afterwards each user is refused on the other's database and still works on its own", async () => {
    for (const [self, other] of [
      [ids.a, ids.b],
      [ids.b, ids.a],
    ] as const) {
      // The read-only user may not INSERT, which is how a user is checked here.
      for (const user of writersOf(self)) {
        assert.equal(await canUse(user, mysqlDatabaseName(self, "edxapp")), true, `${user} lost its own database`);
        assert.equal(await canUse(user, mysqlDatabaseName(other, "edxapp")), false, `${user} still reaches ${other}`);
      }
    }
  });

  it("a second --fix changes nothing and says so", () => {
    const run = runCli("--fix");
    assert.equal(run.status, 0, run.output);
    assert.doesNotMatch(run.output, /ran: /);
    assert.match(run.output, /Nothing to change: every account is already scoped\./);
    const json = runCli("--fix", "--json");
    const report = JSON.parse(json.output) as { changed: boolean; remainingFindings: number; mysql: { accounts: Array<{ findings: unknown[] }> } };
    assert.equal(report.changed, false);
    assert.equal(report.remainingFindings, 0);
    assert.equal(report.mysql.accounts.length, 6);
    assertNoSecrets(json.output);
  });

  it("exits 2 on a connection error, without the password", () => {
    const result = spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, "tools/audit-grants/cli.ts"), "--instances", listFile], {
      cwd: ROOT,
      env: { ...process.env, AUDIT_MYSQL_URL: "mysql://someone:not-this-secret@127.0.0.1:1/" },
      encoding: "utf8",
    });
    assert.equal(result.status, 2);
    assert.doesNotMatch(`${result.stdout}${result.stderr}`, /not-this-secret/);
  });
});
