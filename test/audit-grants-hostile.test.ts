/**
 * The grant audit against hostile and unusual accounts on the real MariaDB, once with the
 * server's default sql_mode and once with NO_BACKSLASH_ESCAPES set globally (what a new
 * session, the CLI's included, starts with): names with quotes and backslashes, the same user
 * name on another host, a referenced user, the account the audit connects as, TO PUBLIC,
 * routine EXECUTE, PROXY and roles.
 */
import { strict as assert } from "node:assert";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import mysql, { type RowDataPacket } from "mysql2/promise";
import { instanceMysqlGrants } from "../components/mysql-grants";
import { mysqlDatabaseName, mysqlGrantDatabasePattern, mysqlUserName } from "../config/names";
import { runAuditCli, servicesUrl } from "./support/audit-grants-mariadb";

const SERVICES = { xqueue: false, notes: false };
/** The test's own setup session runs in a mode it names itself, whatever the global one is. */
const SETUP_SQL_MODE = "STRICT_TRANS_TABLES,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION";

for (const globalMode of ["default", "NO_BACKSLASH_ESCAPES"] as const) {
  describe(`audit-grants against MariaDB: hostile accounts (global sql_mode: ${globalMode})`, function () {
    this.timeout(180000);
    const adminUrl = servicesUrl();
    const suffix = `${process.pid.toString(36)}${randomBytes(2).toString("hex")}`;
    const ids = { a: `hst-${suffix}-a`, b: `hst-${suffix}-b`, r: `hst-${suffix}-r`, h: `hst-${suffix}-h`, c: `hst-${suffix}-c` };
    const a = { edxapp: mysqlUserName(ids.a, "edxapp"), migrate: mysqlUserName(ids.a, "migrate"), readOnly: mysqlUserName(ids.a, "read_only") };
    const b = { edxapp: mysqlUserName(ids.b, "edxapp"), migrate: mysqlUserName(ids.b, "migrate"), readOnly: mysqlUserName(ids.b, "read_only") };
    const aDatabase = mysqlDatabaseName(ids.a, "edxapp");
    const referenced = `ref_${suffix}`;
    const hostUser = `hu_${suffix}`;
    const auditAdmin = `adm_${suffix}`;
    const attacker = `atk_${suffix}`;
    // The account name of issue 10: under NO_BACKSLASH_ESCAPES the old quoting `'x\', atk #'` ended after `x\`.
    const injectionHost = `x', ${attacker} #`;
    const quoteHost = `o'host-${suffix}`;
    const quoteRole = `r'${suffix}`;
    const backslashRole = `rb\\${suffix}`;
    const auditPassword = randomBytes(12).toString("hex");
    const passwords = new Map<string, string>();
    let admin: mysql.Connection;
    let previousGlobalMode: string | undefined;
    let workDir: string;
    let listFile: string;
    let auditUrl: string;
    const createdAccounts: Array<[string, string]> = [];
    const createdRoles: string[] = [];
    const createdDatabases: string[] = [];

    const databasesOf = (id: string): string[] => [mysqlDatabaseName(id, "edxapp"), mysqlDatabaseName(id, "edxapp_csmh")];
    const run = (...args: string[]) => runAuditCli(auditUrl, ["--instances", listFile, ...args]);

    async function createAccount(user: string, host: string, password?: string): Promise<void> {
      if (password === undefined) await admin.query("CREATE USER ?@?", [user, host]);
      else await admin.query("CREATE USER ?@? IDENTIFIED BY ?", [user, host, password]);
      createdAccounts.push([user, host]);
    }

    async function grantsOf(user: string, host: string): Promise<string[]> {
      const [rows] = await admin.query<RowDataPacket[]>("SHOW GRANTS FOR ?@?", [user, host]);
      return rows.map((row) => String(Object.values(row)[0])).sort();
    }

    async function canRead(user: string, database: string): Promise<boolean> {
      const url = new URL(adminUrl as string);
      let connection: mysql.Connection | undefined;
      try {
        connection = await mysql.createConnection({ host: url.hostname, port: Number(url.port), user, password: passwords.get(user) });
        await connection.query(`SELECT COUNT(*) FROM \`${database}\`.probe`);
        return true;
      } catch (error) {
        assert.match((error as { code?: string }).code ?? "", /ACCESS_DENIED|TABLEACCESS_DENIED/, (error as Error).message);
        return false;
      } finally {
        await connection?.end();
      }
    }

    before(async function () {
      if (!adminUrl) {
        console.log("    (skipped: no TEST_MYSQL_URL; run `bash scripts/test-services.sh` first)");
        this.skip();
      }
      admin = await mysql.createConnection(adminUrl as string);
      await admin.query(`SET SESSION sql_mode = '${SETUP_SQL_MODE}'`);
      if (globalMode === "NO_BACKSLASH_ESCAPES") {
        const [rows] = await admin.query<RowDataPacket[]>("SELECT @@GLOBAL.sql_mode AS mode");
        previousGlobalMode = String(rows[0]?.mode ?? "");
        await admin.query("SET GLOBAL sql_mode = CONCAT(@@GLOBAL.sql_mode, ',NO_BACKSLASH_ESCAPES')");
      }
      workDir = mkdtempSync(path.join(tmpdir(), "audit-grants-hostile-"));
      listFile = path.join(workDir, "instances.yaml");
      const services = "{ xqueue: false, notes: false }";
      writeFileSync(
        listFile,
        [
          "instances:",
          `  - { id: ${ids.a}, services: ${services} }`,
          `  - { id: ${ids.b}, services: ${services} }`,
          `  - { id: ${ids.r}, services: ${services}, adopt: { mysql: { mode: reference, users: { edxapp: ${referenced} } } } }`,
          `  - { id: ${ids.h}, services: ${services}, adopt: { mysql: { users: { edxapp: { name: ${hostUser}, host: "10.0.%" } } } } }`,
          `  - { id: ${ids.c}, services: ${services}, adopt: { mysql: { users: { edxapp: { name: ${auditAdmin}, host: "127.0.0.1" } } } } }`,
          "",
        ].join("\n"),
      );

      for (const id of [ids.a, ids.b, ids.h]) {
        for (const database of databasesOf(id)) {
          await admin.query(`CREATE DATABASE \`${database}\``);
          createdDatabases.push(database);
          await admin.query(`CREATE TABLE \`${database}\`.probe (id INT)`);
        }
      }
      for (const id of [ids.a, ids.b]) {
        for (const role of ["edxapp", "migrate", "read_only"]) {
          const user = mysqlUserName(id, role);
          passwords.set(user, randomBytes(12).toString("hex"));
          await createAccount(user, "%", passwords.get(user));
        }
        for (const grant of instanceMysqlGrants(id, SERVICES)) await admin.query(`GRANT ${grant.privileges.join(", ")} ON \`${grant.grantDatabase}\`.* TO ?@'%'`, [grant.user]);
      }

      // The admin the audit runs as; an instance (c) names that very account.
      await createAccount(auditAdmin, "127.0.0.1", auditPassword);
      await admin.query("GRANT ALL PRIVILEGES ON *.* TO ?@'127.0.0.1' WITH GRANT OPTION", [auditAdmin]);
      const url = new URL(adminUrl as string);
      auditUrl = `mysql://${auditAdmin}:${auditPassword}@${url.host}/`;

      // A referenced user with more than its instance: left alone.
      await createAccount(referenced, "%");
      await admin.query("GRANT SELECT ON *.* TO ?@'%'", [referenced]);

      // The instance's account is on 10.0.%; the same name on localhost belongs to something else.
      await createAccount(hostUser, "10.0.%");
      await createAccount(hostUser, "localhost");
      await admin.query(`GRANT SELECT ON \`${mysqlGrantDatabasePattern(mysqlDatabaseName(ids.h, "edxapp"))}\`.* TO ?@'localhost'`, [hostUser]);

      // Issue 10's injection: an account named after instance a's user whose host holds a quote and a comment.
      await createAccount(attacker, "%");
      await createAccount(a.edxapp, injectionHost);
      await createAccount(a.edxapp, "x\\");
      // A quote in a host must not hide global privileges.
      await createAccount(b.readOnly, quoteHost);
      await admin.query("GRANT FILE, SHUTDOWN ON *.* TO ?@?", [b.readOnly, quoteHost]);

      // TO PUBLIC: every account, instance b's included, reads instance a's tables.
      await admin.query(`GRANT SELECT ON \`${mysqlGrantDatabasePattern(aDatabase)}\`.* TO PUBLIC`);
      // Routine EXECUTE on another instance's database, and PROXY.
      await admin.query(`CREATE PROCEDURE \`${aDatabase}\`.leak() SELECT COUNT(*) FROM \`${aDatabase}\`.probe`);
      await admin.query(`GRANT EXECUTE ON PROCEDURE \`${aDatabase}\`.leak TO ?@'%'`, [b.edxapp]);
      // Only the proxied account itself (or a holder of PROXY … WITH GRANT OPTION) may grant PROXY on it, and
      // only a role's admin (its creator) may revoke it: the audit's admin creates them, as on a real server.
      const asAuditAdmin = await mysql.createConnection(auditUrl);
      try {
        await asAuditAdmin.query(`SET SESSION sql_mode = '${SETUP_SQL_MODE}'`);
        await asAuditAdmin.query("GRANT PROXY ON ?@'127.0.0.1' TO ?@'%'", [auditAdmin, b.migrate]);
        // A role with a quote in its name that carries instance a's database, granted to b; a role whose name cannot be quoted.
        await asAuditAdmin.query("CREATE ROLE ?", [quoteRole]);
        createdRoles.push(quoteRole);
        await asAuditAdmin.query(`GRANT SELECT, INSERT ON \`${mysqlGrantDatabasePattern(aDatabase)}\`.* TO ?`, [quoteRole]);
        await asAuditAdmin.query("GRANT ? TO ?@'%'", [quoteRole, b.edxapp]);
        await asAuditAdmin.query("CREATE ROLE ?", [backslashRole]);
        createdRoles.push(backslashRole);
        await asAuditAdmin.query("GRANT ? TO ?@'%'", [backslashRole, a.migrate]);
      } finally {
        await asAuditAdmin.end();
      }
    });

    after(async () => {
      if (!admin) return;
      try {
        await admin.query(`REVOKE ALL PRIVILEGES ON \`${mysqlGrantDatabasePattern(aDatabase)}\`.* FROM PUBLIC`).catch(() => undefined);
        for (const role of createdRoles) await admin.query("DROP ROLE IF EXISTS ?", [role]);
        for (const [user, host] of createdAccounts) await admin.query("DROP USER IF EXISTS ?@?", [user, host]);
        for (const database of createdDatabases) await admin.query(`DROP DATABASE IF EXISTS \`${database}\``);
      } finally {
        if (previousGlobalMode !== undefined) await admin.query("SET GLOBAL sql_mode = ?", [previousGlobalMode]);
        await admin.end();
        rmSync(workDir, { recursive: true, force: true });
      }
    });

    it(`a new session starts with ${globalMode === "default" ? "backslash escapes on" : "NO_BACKSLASH_ESCAPES"}`, async () => {
      const fresh = await mysql.createConnection(adminUrl as string);
      try {
        const [rows] = await fresh.query<RowDataPacket[]>("SELECT @@SESSION.sql_mode AS mode");
        assert.equal(String(rows[0]?.mode).includes("NO_BACKSLASH_ESCAPES"), globalMode === "NO_BACKSLASH_ESCAPES");
      } finally {
        await fresh.end();
      }
    });

    it("before the fix, instance b reads instance a's tables (through PUBLIC and a role)", async () => {
      assert.equal(await canRead(b.edxapp, aDatabase), true);
      assert.equal(await canRead(b.readOnly, aDatabase), true);
    });

    it("reports every class of grant, changes nothing, exits 1", async () => {
      const result = run();
      assert.equal(result.status, 1, result.output);
      const out = result.output;
      assert.match(out, new RegExp(`PUBLIC \\(grants every account holds\\): \\d+ findings?\\n(?:.*\\n)*?\\s+- other-instance: PUBLIC .*reach instance ${ids.a}: SELECT`), out);
      assert.match(out, new RegExp(`'${b.edxapp}'@'%'.*\\n(?:\\s+- .*\\n)*\\s+- routine: routine privileges ON PROCEDURE \`${aDatabase}\`\\.\`leak\` \\(instance ${ids.a}\\): EXECUTE`), out);
      assert.match(out, new RegExp(`- proxy: PROXY ON '${auditAdmin}'@'127\\.0\\.0\\.1'`), out);
      assert.match(out, new RegExp(`- role: role 'r''${suffix}' granted; through it: privileges ON .* reach instance ${ids.a}: INSERT, SELECT`), out);
      assert.match(out, new RegExp(`- role: role 'rb\\\\${suffix}' granted .*--fix cannot revoke it: .*backslash`), out);
      // The quote in the host no longer hides the global privileges; the account is not b's, so it is reported, not changed.
      assert.match(out, new RegExp(`'${b.readOnly}'@'o''host-${suffix}' \\(no role\\): not the instance's account, 1 finding\\n.*\\n\\s+- global: global privileges ON \\*\\.\\*: FILE, SHUTDOWN`), out);
      assert.match(out, new RegExp(`'${referenced}'@'%' \\(edxapp\\): left alone \\(mode: reference\\), scoped\\n.*\\n\\s+- warning \\(not changed\\): global: .*SELECT`), out);
      assert.match(out, new RegExp(`'${auditAdmin}'@'127\\.0\\.0\\.1' \\(edxapp\\): left alone \\(the audit's own account\\), scoped`), out);
      assert.match(out, new RegExp(`connected as '${auditAdmin}'@'127\\.0\\.0\\.1' \\(never changed\\)`), out);
      assert.match(out, new RegExp(`'${hostUser}'@'localhost' \\(no role\\): not the instance's account, scoped`), out);
      assert.match(out, new RegExp(`'${hostUser}'@'10\\.0\\.%' \\(edxapp\\): 2 findings`), out);
      assert.doesNotMatch(out, /ran: /);
      assert.doesNotMatch(out, /Every account is scoped/);
      assert.ok(!out.includes(auditPassword));
    });

    it("--fix repairs the instances' own accounts and PUBLIC, and touches nothing else", async () => {
      const localhostBefore = await grantsOf(hostUser, "localhost");
      const result = run("--fix");
      assert.equal(result.status, 1, result.output); // the quote-host account and the backslash role remain, by design
      const out = result.output;
      assert.deepEqual(await grantsOf(attacker, "%"), [`GRANT USAGE ON *.* TO \`${attacker}\`@\`%\``], "the attacker's account gained privileges");
      assert.ok((await grantsOf(auditAdmin, "127.0.0.1")).some((grant) => grant.startsWith("GRANT ALL PRIVILEGES ON *.*")), "--fix revoked the connecting admin's rights");
      assert.deepEqual(await grantsOf(hostUser, "localhost"), localhostBefore, "--fix changed the same user name on another host");
      assert.ok((await grantsOf(referenced, "%")).some((grant) => grant.startsWith("GRANT SELECT ON *.*")), "--fix changed a referenced user");
      assert.ok((await grantsOf(b.readOnly, quoteHost)).some((grant) => /FILE/.test(grant)), "--fix changed an account that is not the instance's");
      assert.equal(await canRead(b.edxapp, aDatabase), false, "b's application user still reads a's tables");
      assert.equal(await canRead(b.readOnly, aDatabase), false, "b's read-only user still reads a's tables");
      assert.doesNotMatch(out, /FAILED/, out);
      for (const statement of [
        `REVOKE ALL PRIVILEGES ON \`${mysqlGrantDatabasePattern(aDatabase)}\`.* FROM PUBLIC`,
        `REVOKE EXECUTE ON PROCEDURE \`${aDatabase}\`.\`leak\` FROM '${b.edxapp}'@'%'`,
        `REVOKE PROXY ON '${auditAdmin}'@'127.0.0.1' FROM '${b.migrate}'@'%'`,
        `REVOKE 'r''${suffix}' FROM '${b.edxapp}'@'%'`,
        `GRANT SELECT, INSERT, UPDATE, DELETE ON \`${mysqlGrantDatabasePattern(mysqlDatabaseName(ids.h, "edxapp"))}\`.* TO '${hostUser}'@'10.0.%'`,
      ])
        assert.ok(out.includes(`ran: ${statement}`), `${statement}\n${out}`);
      for (const line of out.split("\n").filter((candidate) => candidate.includes("ran: "))) {
        assert.doesNotMatch(line, new RegExp(`'${referenced}'|'${auditAdmin}'@'127\\.0\\.0\\.1'$|'localhost'|o''host|x''|x\\\\`), line);
      }
      // What --fix may not change stays reported: the quote-host account and the role it cannot name.
      assert.match(out, /\n2 finding\(s\) remain\.$/m, out);
    });

    it("once an operator removes what --fix may not touch, a second --fix says Nothing to change and exits 0", async () => {
      await admin.query("DROP USER ?@?", [b.readOnly, quoteHost]);
      await admin.query("DROP ROLE ?", [backslashRole]);
      const result = run("--fix");
      assert.equal(result.status, 0, result.output);
      assert.doesNotMatch(result.output, /ran: /);
      assert.match(result.output, /Nothing to change: every account is already scoped\./);
      const json = run("--fix", "--json");
      const report = JSON.parse(json.output) as {
        changed: boolean;
        remainingFindings: number;
        warnings: number;
        mysql: { connectedAs: Array<{ user: string; host: string }>; accounts: Array<{ account: { user: string; host: string }; disposition: string }> };
      };
      assert.equal(report.changed, false);
      assert.equal(report.remainingFindings, 0);
      assert.deepEqual(report.mysql.connectedAs, [{ user: auditAdmin, host: "127.0.0.1" }]);
      const disposition = (user: string, host: string) => report.mysql.accounts.find((entry) => entry.account.user === user && entry.account.host === host)?.disposition;
      assert.equal(disposition(auditAdmin, "127.0.0.1"), "connecting-account");
      assert.equal(disposition(referenced, "%"), "reference");
      assert.equal(disposition(hostUser, "localhost"), "other-host");
      assert.equal(disposition(hostUser, "10.0.%"), "managed");
      assert.equal(disposition(a.edxapp, injectionHost), "other-host");
      assert.ok(report.warnings >= 1, "the referenced user's global SELECT is no longer reported");
    });
  });
}
