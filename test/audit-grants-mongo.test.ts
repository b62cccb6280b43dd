import { strict as assert } from "node:assert";
import { mongoDatabaseNames, mongoUserName } from "../config/names";
import { auditInstance } from "../tools/audit-grants/instances";
import { type MongoUserDocument, mongoUpdates, planMongoServer, planMongoUser } from "../tools/audit-grants/mongo-audit";
import { parseConnectionStatus, parseUsersInfo } from "../tools/audit-grants/mongo-server";

// No MongoDB server is available to these tests: the decisions are tested over usersInfo-shaped documents.
describe("audit-grants (MongoDB decisions)", () => {
  const prod = auditInstance("prod", {}).mongo;
  const dev = auditInstance("dev", {}).mongo;
  const own = mongoDatabaseNames("prod");
  const user = (roles: MongoUserDocument["roles"]): MongoUserDocument => ({ user: mongoUserName("prod"), db: "admin", roles });
  const exact = [
    { role: "readWrite", db: own.main },
    { role: "readWrite", db: own.forum },
  ];

  it("accepts exactly readWrite on the main and forum databases", () => {
    const plan = planMongoUser(user(exact), prod, [prod, dev]);
    assert.deepEqual(plan.findings, []);
    assert.deepEqual(plan.desiredRoles, exact);
  });

  it("reports cluster-wide roles and the readWrite it lacks, and plans exactly the two roles", () => {
    const plan = planMongoUser(user([{ role: "readWriteAnyDatabase", db: "admin" }, { role: "root", db: "admin" }]), prod, [prod, dev]);
    assert.deepEqual(plan.findings.map((finding) => finding.kind), ["cluster-wide", "cluster-wide", "missing", "missing"]);
    assert.deepEqual(plan.desiredRoles, exact);
    assert.equal(plan.authDatabase, "admin");
  });

  it("reports roles on admin, on another instance's database, on foreign databases, and other roles on its own", () => {
    const plan = planMongoUser(
      user([
        ...exact,
        { role: "myCustomRole", db: "admin" },
        { role: "read", db: mongoDatabaseNames("dev").main },
        { role: "readWrite", db: "analytics" },
        { role: "dbOwner", db: own.main },
      ]),
      prod,
      [prod, dev],
    );
    assert.deepEqual(plan.findings.map((finding) => finding.kind), ["admin-database", "other-instance", "foreign-database", "unexpected-role"]);
    assert.match(plan.findings[1]?.message ?? "", /instance dev/);
  });

  it("reads the fields it needs from a usersInfo reply", () => {
    const reply = {
      users: [
        { _id: "admin.a", userId: "x", user: "a", db: "admin", roles: [{ role: "readWrite", db: "a_edxapp" }], mechanisms: ["SCRAM-SHA-256"] },
        { _id: "other.b", user: "b", db: "other" },
      ],
    };
    assert.deepEqual(parseUsersInfo(reply), [
      { user: "a", db: "admin", roles: [{ role: "readWrite", db: "a_edxapp" }] },
      { user: "b", db: "other", roles: [] },
    ]);
  });

  it("uses adopted names for the user and databases", () => {
    const adopted = auditInstance("prod", {}, { mongodb: { user: "old_user", databases: { main: "old_main", forum: "old_forum" } } }).mongo;
    const plan = planMongoUser({ user: "old_user", db: "admin", roles: [{ role: "readWrite", db: "old_main" }] }, adopted, [adopted, dev]);
    assert.deepEqual(plan.findings.map((finding) => finding.message), ["missing readWrite@old_forum"]);
  });

  it("matches a user by name AND database: the same name elsewhere is reported, never planned for a change", () => {
    const plans = planMongoServer(
      [
        { user: mongoUserName("prod"), db: "admin", roles: exact },
        { user: mongoUserName("prod"), db: "reporting", roles: [{ role: "read", db: mongoDatabaseNames("dev").main }] },
      ],
      [prod, dev],
      [],
    );
    assert.deepEqual(plans.map((plan) => [plan.authDatabase, plan.disposition, plan.findings.map((finding) => finding.kind)]), [
      ["admin", "managed", []],
      ["reporting", "other-database", ["other-instance"]],
    ]);
    assert.deepEqual(mongoUpdates(plans), []);
  });

  it("leaves the connecting user and a referenced user alone, with what they hold as warnings", () => {
    const referenced = auditInstance("legacy", {}, { mongodb: { mode: "reference", user: "legacy_mongo" } }).mongo;
    const adopted = auditInstance("ops", {}, { mongodb: { mode: "reference", user: { name: "ops", authDatabase: "ops_db" } } }).mongo;
    assert.equal(adopted.authDatabase, "ops_db");
    const plans = planMongoServer(
      [
        { user: mongoUserName("prod"), db: "admin", roles: [{ role: "root", db: "admin" }] },
        { user: "legacy_mongo", db: "admin", roles: [{ role: "readWriteAnyDatabase", db: "admin" }] },
      ],
      [prod, dev, referenced],
      parseConnectionStatus({ authInfo: { authenticatedUsers: [{ user: mongoUserName("prod"), db: "admin" }] } }),
    );
    assert.deepEqual(plans.map((plan) => [plan.user, plan.disposition, plan.findings.length, plan.warnings.map((warning) => warning.kind)]), [
      [mongoUserName("prod"), "connecting-account", 0, ["cluster-wide"]],
      ["legacy_mongo", "reference", 0, ["cluster-wide"]],
    ]);
    assert.deepEqual(mongoUpdates(plans), []);
  });
});
