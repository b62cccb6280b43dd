import { strict as assert } from "node:assert";
import { instanceMysqlGrants, mergeGrants } from "../components/mysql-grants";
import { mongoUserName, mysqlDatabaseName, mysqlUserName, rabbitVhostName } from "../config/names";
import { AdoptError, adoptSchema, adoptionOptions, atlasDatabaseUserImportId, mysqlNamesOf, planAdoption } from "../config/adopt";

const PROJECT = "5f1d0c3b9e2a4b6c8d0e1f2a";
const SERVICES = { xqueue: true, notes: false };

describe("adopt", () => {
  it("creates everything under derived names when nothing is adopted", () => {
    const plan = planAdoption("prod", SERVICES, undefined, { mongodbProjectId: PROJECT });
    assert.equal(plan.mysql.databases.edxapp?.name, mysqlDatabaseName("prod", "edxapp"));
    assert.equal(plan.mysql.databases.edxapp?.action, "create");
    assert.equal(plan.mysql.databases.xqueue?.action, "create");
    assert.equal(plan.mysql.databases.notes, undefined, "notes is off");
    assert.equal(plan.mysql.users.migrate?.name, mysqlUserName("prod", "migrate"));
    assert.equal(plan.mongodb.user.name, mongoUserName("prod"));
    assert.equal(plan.rabbitmq.vhost.name, rabbitVhostName("prod"));
    const every = [
      ...Object.values(plan.mysql.databases),
      ...Object.values(plan.mysql.users),
      plan.mongodb.user,
      plan.rabbitmq.vhost,
      ...Object.values(plan.rabbitmq.users),
      ...Object.values(plan.rabbitmq.permissions),
    ];
    for (const decision of every) {
      assert.equal(decision?.action, "create");
      assert.equal(decision?.importId, undefined);
      assert.deepEqual(decision?.ignoreChanges, []);
    }
  });

  it("imports adopted resources with each provider's import id", () => {
    const adopt = adoptSchema.parse({
      mysql: { databases: { edxapp: "launchpad-openedx" }, users: { edxapp: { name: "launchpad", host: "10.0.%" } } },
      mongodb: { user: "launchpad", databases: { main: "launchpad-openedx", forum: "launchpad-forum" } },
      rabbitmq: { vhost: "launchpad", users: { provider: "launchpad-celery" } },
    });
    const plan = planAdoption("prod", SERVICES, adopt, { mongodbProjectId: PROJECT });
    assert.deepEqual(plan.mysql.databases.edxapp, {
      type: "mysql:index/database:Database",
      name: "launchpad-openedx",
      action: "import",
      importId: "launchpad-openedx",
      ignoreChanges: ["defaultCharacterSet", "defaultCollation"],
    });
    assert.equal(plan.mysql.databases.edxapp_csmh?.action, "create");
    assert.equal(plan.mysql.users.edxapp?.importId, "launchpad@10.0.%");
    assert.equal(plan.mysql.users.edxapp?.host, "10.0.%");
    assert.deepEqual(plan.mysql.users.edxapp?.ignoreChanges, ["plaintextPassword", "password"]);
    assert.equal(plan.mysql.users.edxapp?.existingPasswordKey, "mysql.edxapp");
    assert.equal(plan.mysql.grants.edxapp, "create");
    assert.equal(plan.mongodb.user.importId, `${PROJECT}/launchpad/admin`);
    assert.deepEqual(plan.mongodb.databases, { main: "launchpad-openedx", forum: "launchpad-forum" });
    assert.equal(plan.rabbitmq.vhost.importId, "launchpad");
    assert.equal(plan.rabbitmq.users.provider.importId, "launchpad-celery");
    assert.equal(plan.rabbitmq.users.consumer.action, "create");
    assert.equal(plan.rabbitmq.permissions.provider.importId, "launchpad-celery@launchpad");
    assert.equal(plan.rabbitmq.permissions.consumer.action, "create");
  });

  it("keeps adopted users' existing permissions until told otherwise, never their passwords", () => {
    const adopt = { mongodb: { user: "old" }, rabbitmq: { vhost: "v", users: { provider: "p" } } };
    const keeping = planAdoption("prod", SERVICES, adopt, { mongodbProjectId: PROJECT });
    assert.deepEqual(keeping.mongodb.user.ignoreChanges, ["password", "roles", "scopes", "description"]);
    assert.deepEqual(keeping.rabbitmq.permissions.provider.ignoreChanges, ["permissions"]);
    const restricted = planAdoption("prod", SERVICES, { ...adopt, keepExistingPermissions: false }, { mongodbProjectId: PROJECT });
    assert.deepEqual(restricted.mongodb.user.ignoreChanges, ["password", "description"]);
    assert.deepEqual(restricted.rabbitmq.permissions.provider.ignoreChanges, []);
    assert.deepEqual(restricted.rabbitmq.users.provider.ignoreChanges, ["password"]);
  });

  it("references read-only: names used, no resource, no import id, grants left alone", () => {
    const plan = planAdoption("prod", SERVICES, { mysql: { mode: "reference", databases: { edxapp: "old" }, users: { edxapp: "old" } } });
    assert.equal(plan.mysql.databases.edxapp?.action, "reference");
    assert.equal(plan.mysql.databases.edxapp?.importId, undefined);
    assert.equal(plan.mysql.users.edxapp?.action, "reference");
    assert.equal(plan.mysql.grants.edxapp, "reference");
    assert.equal(plan.mysql.grants.migrate, "create");
  });

  it("lets several roles share one adopted user: one resource, one merged grant per database", () => {
    const plan = planAdoption("prod", SERVICES, { mysql: { users: { edxapp: "shared", migrate: "shared" } } });
    assert.equal(plan.mysql.users.edxapp?.action, "import");
    assert.equal(plan.mysql.users.migrate?.action, "reference");
    assert.equal(plan.mysql.users.migrate?.sameUserAs, "edxapp");
    const grants = mergeGrants(instanceMysqlGrants("prod", SERVICES, mysqlNamesOf(plan)));
    const onEdxapp = grants.filter((grant) => grant.user === "shared" && grant.databaseKey === "edxapp");
    assert.equal(onEdxapp.length, 1);
    assert.ok(onEdxapp[0]?.privileges.includes("ALTER") && onEdxapp[0]?.privileges.includes("SELECT"));
  });

  it("keeps one name on two hosts as two accounts, each with its own grants", () => {
    const plan = planAdoption("prod", SERVICES, { mysql: { users: { edxapp: { name: "old", host: "10.0.%" }, migrate: "old" } } });
    assert.equal(plan.mysql.users.migrate?.action, "import", "old@% is another account than old@10.0.%");
    assert.equal(plan.mysql.users.migrate?.importId, "old@%");
    const grants = mergeGrants(instanceMysqlGrants("prod", SERVICES, mysqlNamesOf(plan))).filter((grant) => grant.databaseKey === "edxapp" && grant.user === "old");
    assert.deepEqual(grants.map((grant) => `${grant.role}@${grant.host}`).sort(), ["edxapp@10.0.%", "migrate@%"]);
  });

  it("turns a decision into Pulumi's import options, and a created or referenced one into none", () => {
    const plan = planAdoption("prod", SERVICES, { mysql: { databases: { edxapp: "old_edxapp" } } });
    assert.deepEqual(adoptionOptions(plan.mysql.databases.edxapp!), { import: "old_edxapp", ignoreChanges: ["defaultCharacterSet", "defaultCollation"] });
    assert.deepEqual(adoptionOptions(plan.mysql.databases.edxapp_csmh!), {});
    const referenced = planAdoption("prod", SERVICES, { mysql: { mode: "reference", databases: { edxapp: "old_edxapp" } } });
    assert.deepEqual(adoptionOptions(referenced.mysql.databases.edxapp!), {});
  });

  it("refuses to adopt MySQL or MongoDB data for an instance whose databases are on its VM", () => {
    assert.throws(
      () => planAdoption("dev", SERVICES, { mysql: { databases: { edxapp: "old" } }, rabbitmq: { vhost: "old" } }, { databases: "ephemeral" }),
      (error: Error) => /adopt\.mysql: the instance's databases are ephemeral .*set databases: persistent/.test(error.message) && !/adopt\.rabbitmq/.test(error.message),
    );
    // The broker is shared whatever the databases: its vhost can be adopted by any instance.
    assert.equal(planAdoption("dev", SERVICES, { rabbitmq: { vhost: "old" } }, { databases: "ephemeral" }).rabbitmq.vhost.action, "import");
  });

  it("rejects adoption for services the instance does not run, naming the key and the fix", () => {
    assert.throws(
      () => planAdoption("prod", SERVICES, { mysql: { databases: { notes: "old_notes" } } }),
      (error: Error) => error instanceof AdoptError && /openedx-im:instance\.adopt\.mysql\.databases\.notes: the instance does not run notes/.test(error.message),
    );
    assert.throws(() => planAdoption("prod", SERVICES, { mongodb: { user: "u" } }), /needs openedx-im:mongodb\.projectId/);
  });

  it("rejects names no import id or statement could carry", () => {
    assert.equal(adoptSchema.safeParse({ rabbitmq: { users: { provider: "me@host" } } }).success, false);
    assert.equal(adoptSchema.safeParse({ mysql: { databases: { edxapp: "x`; DROP" } } }).success, false);
    assert.equal(adoptSchema.safeParse({ mysql: { databases: { wordpress: "x" } } }).success, false);
    assert.equal(adoptSchema.safeParse({ mysql: { mode: "copy" } }).success, false);
  });

  it("falls back to the dashed Atlas import id only when a name contains /", () => {
    assert.equal(atlasDatabaseUserImportId(PROJECT, "my-user", "admin"), `${PROJECT}/my-user/admin`);
    assert.equal(atlasDatabaseUserImportId(PROJECT, "a/b", "admin"), `${PROJECT}-a/b-admin`);
    assert.throws(() => atlasDatabaseUserImportId(PROJECT, "a/b-c", "my-db"), AdoptError);
  });
});
