import { strict as assert } from "node:assert";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import * as path from "node:path";
import mysql from "mysql2/promise";
import { parse } from "yaml";
import { deriveDomains } from "../config/domains";
import { instanceMysqlGrants } from "../components/mysql-grants";
import { mysqlDatabaseName, mysqlDatabaseKeys, mysqlRoles, mysqlUserName } from "../config/names";
import { renderTutorAppServer } from "../components/provisioners/tutor/config";
import { versionMatrix } from "../config/matrix/data";
import { resolveRelease } from "../config/matrix/resolve";
import { type TutorProject, tutorProject } from "./support/real-tutor";

/**
 * Tutor's launch against a real MariaDB with the instance's scoped user alone.
 * The program creates databases, users and grants (here: the same statements as
 * components/mysql-grants.ts, run by an admin); then everything Tutor does goes
 * through the account the real Tutor wrote into lms.env.yml: its root-only MySQL
 * init step fails (which is why the openedx_im plugin skips it), and the
 * statements Django's migrations and Open edX's serving issue succeed. What runs
 * inside the containers (manage.py migrate itself) needs Docker and is verified
 * by reading only (docs/tutor.md).
 */
const ROOT = path.resolve(__dirname, "..");
const SERVICES = { xqueue: false, notes: false };

function servicesUrl(): string | undefined {
  if (process.env.TEST_MYSQL_URL) return process.env.TEST_MYSQL_URL;
  const file = path.join(ROOT, ".test-results/services.env");
  if (!existsSync(file)) return undefined;
  return /^TEST_MYSQL_URL=(.+)$/m.exec(readFileSync(file, "utf8"))?.[1]?.trim();
}

interface Database {
  HOST: string;
  PORT: number;
  NAME: string;
  USER: string;
  PASSWORD: string;
  OPTIONS: { init_command: string };
}

describe("Tutor launch with the scoped MySQL user alone (real MariaDB)", function () {
  this.timeout(120_000);
  const adminUrl = servicesUrl();
  const id = `tutor-${process.pid.toString(36)}${randomBytes(3).toString("hex")}`;
  const other = `${id}-other`;
  const passwords = new Map<string, string>();
  let admin: mysql.Connection;
  let project: TutorProject;
  let withRootStep: TutorProject;
  let database: Database;

  const databasesOf = (instance: string) => mysqlDatabaseKeys(SERVICES).map((key) => mysqlDatabaseName(instance, key));
  const usersOf = (instance: string) => mysqlRoles(SERVICES).map((role) => mysqlUserName(instance, role));

  before(async function () {
    if (!adminUrl) {
      console.log("    (skipped: no TEST_MYSQL_URL; run `bash scripts/test-services.sh` first)");
      this.skip();
    }
    admin = await mysql.createConnection(adminUrl as string);
    // What components/mysql.ts declares: utf8mb4 databases, one user per role, database-level grants.
    for (const instance of [id, other]) {
      for (const name of databasesOf(instance)) await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
      for (const user of usersOf(instance)) {
        const password = randomBytes(12).toString("hex");
        passwords.set(user, password);
        await admin.query("CREATE USER ?@'%' IDENTIFIED BY ?", [user, password]);
      }
      for (const grant of instanceMysqlGrants(instance, SERVICES))
        await admin.query(`GRANT ${grant.privileges.join(", ")} ON \`${grant.grantDatabase}\`.* TO ?@'%'`, [grant.user]);
    }
    await admin.query(`CREATE TABLE \`${mysqlDatabaseName(other, "edxapp")}\`.auth_user (id INT PRIMARY KEY)`);

    const url = new URL(adminUrl as string);
    const user = mysqlUserName(id, "migrate");
    const release = resolveRelease(versionMatrix, { release: "ulmo" });
    const app = renderTutorAppServer({
      instance: {
        id,
        name: "Scoped",
        domains: deriveDomains({ subDomain: "scoped", baseDomain: "example.org", enabled: { ecommerce: false, discovery: false } }),
        services: { ...SERVICES, ecommerce: false, discovery: false, forum: true },
      },
      lifecycle: "production",
      appServerId: "blue",
      release,
      databases: {
        kind: "persistent",
        mysql: { host: url.hostname, port: Number(url.port), database: mysqlDatabaseName(id, "edxapp"), user, password: passwords.get(user) as string },
        mongo: { hosts: ["mongo.example.org"], port: 27017, database: "m", forumDatabase: "f", user: "u", password: "p", useTls: true },
      },
      secrets: { secretKey: "k".repeat(40), jwtPrivateKeyPem: "", jwtSecretKey: "j", derive: (name) => `d-${name}` },
      extraSettings: {},
    });
    // The real Tutor renders the project; lms.env.yml is what Open edX connects with.
    // (No signing key here: Tutor's base generates one; the key is not what this test is about.)
    const { JWT_RSA_PRIVATE_KEY: _unused, ...config } = app.config;
    project = tutorProject("ulmo", config, app.pluginData);
    database = (parse(project.env("apps/openedx/config/lms.env.yml")) as { DATABASES: { default: Database } }).DATABASES.default;
    // The same project without the plugin's skip: Tutor's own MySQL init step, rendered for this instance.
    withRootStep = tutorProject("ulmo", config, { ...app.pluginData, skipInitTasks: [] });
  });

  after(async () => {
    if (!admin) return;
    for (const instance of [id, other]) {
      for (const name of databasesOf(instance)) await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
      for (const user of usersOf(instance)) await admin.query("DROP USER IF EXISTS ?@'%'", [user]);
    }
    await admin.end();
    for (const p of [project, withRootStep]) if (p) rmSync(p.root, { recursive: true, force: true });
  });

  /** A connection exactly as Django opens it from lms.env.yml: the scoped user, its database, the init command. */
  async function asOpenEdx(): Promise<mysql.Connection> {
    const connection = await mysql.createConnection({
      host: database.HOST,
      port: database.PORT,
      user: database.USER,
      password: database.PASSWORD,
      database: database.NAME,
      multipleStatements: false,
    });
    await connection.query(database.OPTIONS.init_command);
    return connection;
  }

  it("Open edX connects as the instance's migrate user to the instance's database, not as root", () => {
    assert.equal(database.USER, mysqlUserName(id, "migrate"));
    assert.equal(database.NAME, mysqlDatabaseName(id, "edxapp"));
  });

  it("Tutor's own MySQL init step needs root: as the scoped user it fails, so the plugin skips it", async () => {
    const step = withRootStep.initTasks().find((task) => task.service === "mysql");
    assert.ok(step, "Tutor declares a mysql init task");
    const statements = [...step.script.matchAll(/-e "([^"]+)"/g)].map((match) => match[1]);
    assert.ok(statements.length >= 4, step.script);
    const connection = await mysql.createConnection({ host: database.HOST, port: database.PORT, user: database.USER, password: database.PASSWORD });
    const refused: string[] = [];
    try {
      for (const statement of statements.filter((s) => !/^exit$/.test(s))) {
        try {
          await connection.query(statement);
        } catch (error) {
          assert.match((error as { code?: string }).code ?? "", /DENIED|ER_SPECIFIC_ACCESS|ER_CANNOT_USER/, `${statement}: ${(error as Error).message}`);
          refused.push(statement.split(" ").slice(0, 2).join(" "));
        }
      }
    } finally {
      await connection.end();
    }
    // Creating users and granting is root's work; it never succeeds for the scoped account.
    assert.ok(refused.some((s) => s.startsWith("CREATE USER")) && refused.some((s) => s.startsWith("GRANT ALL")), refused.join(", "));
    assert.ok(!project.initTasks().some((task) => task.service === "mysql"), "the launch runs no such step");
  });

  it("what Django's migrations issue succeeds: tables, foreign keys, indexes, renames, drops, in a transaction", async () => {
    const db = await asOpenEdx();
    try {
      await db.query("CREATE TABLE django_migrations (id INT AUTO_INCREMENT PRIMARY KEY, app VARCHAR(255) NOT NULL, name VARCHAR(255) NOT NULL, applied DATETIME(6) NOT NULL)");
      await db.query("CREATE TABLE auth_user (id INT AUTO_INCREMENT PRIMARY KEY, username VARCHAR(150) NOT NULL UNIQUE) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
      await db.query("CREATE TABLE student_courseenrollment (id INT AUTO_INCREMENT PRIMARY KEY, user_id INT NOT NULL, course_id VARCHAR(255) NOT NULL)");
      await db.query("ALTER TABLE student_courseenrollment ADD CONSTRAINT enrollment_user_fk FOREIGN KEY (user_id) REFERENCES auth_user (id)");
      await db.query("CREATE UNIQUE INDEX enrollment_user_course ON student_courseenrollment (user_id, course_id)");
      await db.query("ALTER TABLE student_courseenrollment ADD COLUMN mode VARCHAR(100) NOT NULL DEFAULT 'audit'");
      await db.query("ALTER TABLE student_courseenrollment RENAME TO student_enrollment_renamed");
      await db.query("CREATE TABLE scratch (id INT)");
      await db.query("DROP TABLE scratch");
      await db.query("CREATE VIEW enrollment_view AS SELECT id, user_id FROM student_enrollment_renamed");
      await db.beginTransaction();
      await db.query("INSERT INTO auth_user (username) VALUES ('staff')");
      await db.query("INSERT INTO student_enrollment_renamed (user_id, course_id) VALUES (LAST_INSERT_ID(), 'course-v1:X+Y+Z')");
      await db.query("INSERT INTO django_migrations (app, name, applied) VALUES ('student', '0001_initial', NOW(6))");
      await db.commit();
      const [rows] = await db.query("SELECT COUNT(*) AS n FROM enrollment_view");
      assert.equal((rows as { n: number }[])[0].n, 1);
      await db.query("UPDATE auth_user SET username = 'admin' WHERE username = 'staff'");
      await db.query("SELECT * FROM auth_user FOR UPDATE");
      await db.query("CREATE TEMPORARY TABLE t_tmp (id INT)");
    } finally {
      await db.end();
    }
  });

  it("the scoped user reaches nothing else: no new database, no other instance's tables, no grants", async () => {
    const db = await asOpenEdx();
    try {
      const denied = async (sql: string) =>
        assert.rejects(db.query(sql), (error: { code?: string }) => /DENIED/.test(error.code ?? ""), sql);
      await denied("CREATE DATABASE openedx");
      await denied(`SELECT * FROM \`${mysqlDatabaseName(other, "edxapp")}\`.auth_user`);
      await denied(`GRANT SELECT ON \`${mysqlDatabaseName(id, "edxapp").replace(/_/g, "\\_")}\`.* TO '${mysqlUserName(id, "read_only")}'@'%'`);
      await denied("SELECT * FROM mysql.user");
    } finally {
      await db.end();
    }
  });
});
