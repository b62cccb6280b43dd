import { strict as assert } from "node:assert";
import { MIGRATE_PRIVILEGES, RUNTIME_PRIVILEGES, instanceMysqlGrants, mergeGrants } from "../components/mysql-grants";
import { mysqlDatabaseKeys, mysqlDatabaseName, mysqlUserName } from "../config/names";

describe("mysql-grants", () => {
  it("gives each application user row access to its own databases only", () => {
    const grants = instanceMysqlGrants("prod", { xqueue: true, notes: false });
    const edxapp = grants.filter((grant) => grant.role === "edxapp");
    assert.deepEqual(
      edxapp.map((grant) => grant.database),
      [mysqlDatabaseName("prod", "edxapp"), mysqlDatabaseName("prod", "edxapp_csmh")],
    );
    for (const grant of edxapp) assert.deepEqual(grant.privileges, [...RUNTIME_PRIVILEGES]);
    assert.deepEqual(
      grants.filter((grant) => grant.role === "xqueue").map((grant) => grant.database),
      [mysqlDatabaseName("prod", "xqueue")],
    );
    assert.equal(grants.filter((grant) => grant.role === "notes").length, 0, "notes is off: no notes user");
  });

  it("lets the migrate user change schemas in every database of the instance, and no other", () => {
    const grants = instanceMysqlGrants("prod", { xqueue: true, notes: true, ecommerce: true, discovery: false });
    const migrate = grants.filter((grant) => grant.role === "migrate");
    assert.deepEqual(
      migrate.map((grant) => grant.databaseKey),
      ["edxapp", "edxapp_csmh", "xqueue", "notes", "ecommerce"],
    );
    for (const grant of migrate) {
      assert.equal(grant.user, mysqlUserName("prod", "migrate"));
      assert.deepEqual(grant.privileges, [...MIGRATE_PRIVILEGES]);
      assert.ok(!grant.privileges.some((privilege) => /GRANT|SUPER|ALL|FILE|PROCESS/.test(privilege)));
    }
  });

  it("lets the read-only user SELECT, and nothing else, in every database of the instance and no other", () => {
    for (const services of [{}, { xqueue: true, notes: true, ecommerce: true, discovery: true }]) {
      const readOnly = instanceMysqlGrants("prod", services).filter((grant) => grant.role === "read_only");
      assert.deepEqual(
        readOnly.map((grant) => grant.database),
        mysqlDatabaseKeys(services).map((key) => mysqlDatabaseName("prod", key)),
      );
      for (const grant of readOnly) {
        assert.equal(grant.user, mysqlUserName("prod", "read_only"));
        assert.deepEqual(grant.privileges, ["SELECT"]);
        assert.equal(grant.grantDatabase, grant.database.replace(/_/g, "\\_"));
      }
    }
  });

  it("merges roles sharing one account into one grant per database, with the union of privileges", () => {
    const shared = { users: { edxapp: "old", migrate: "old", read_only: "old" } };
    const merged = mergeGrants(instanceMysqlGrants("prod", {}, shared)).filter((grant) => grant.user === "old");
    assert.deepEqual(merged.map((grant) => grant.databaseKey), ["edxapp", "edxapp_csmh"]);
    for (const grant of merged) assert.deepEqual(grant.privileges, [...MIGRATE_PRIVILEGES]);
    // The same name on another host is another account: merged apart.
    const apart = mergeGrants(instanceMysqlGrants("prod", {}, { ...shared, hosts: { edxapp: "10.0.%", migrate: "%", read_only: "%" } }));
    assert.deepEqual(
      apart.filter((grant) => grant.databaseKey === "edxapp").map((grant) => `${grant.user}@${grant.host} ${grant.privileges.length}`),
      ["old@10.0.% 4", `old@% ${MIGRATE_PRIVILEGES.length}`],
    );
  });

  it("escapes GRANT's wildcards in the database it grants on", () => {
    for (const grant of instanceMysqlGrants("pr-1", {})) assert.equal(grant.grantDatabase, grant.database.replace(/_/g, "\\_"));
  });

  it("uses adopted names in place of derived ones", () => {
    const grants = instanceMysqlGrants("prod", {}, { databases: { edxapp: "old_edxapp" }, users: { edxapp: "old_user" } });
    const edxapp = grants.find((grant) => grant.role === "edxapp" && grant.databaseKey === "edxapp");
    assert.equal(edxapp?.database, "old_edxapp");
    assert.equal(edxapp?.grantDatabase, "old\\_edxapp");
    assert.equal(edxapp?.user, "old_user");
    const migrate = grants.find((grant) => grant.role === "migrate" && grant.databaseKey === "edxapp");
    assert.equal(migrate?.database, "old_edxapp");
  });
});
