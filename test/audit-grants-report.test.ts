import { strict as assert } from "node:assert";
import { mysqlDatabaseName, mysqlUserName } from "../config/names";
import { auditInstance, loadInstances } from "../tools/audit-grants/instances";
import { PRODUCTION_STACK_YAML, SANDBOX_STACK_YAML, StackDir } from "./support/stack-dir";
import { type ObservedGrantee, planAccount } from "../tools/audit-grants/mysql-audit";

const SERVICES = { xqueue: true, notes: true };

describe("audit-grants: what a finding is called", () => {
  const prod = auditInstance("prod", SERVICES);
  const dev = auditInstance("dev", SERVICES);
  const all = [prod.mysql, dev.mysql];
  // `prod\_6754af96\_%`: every database of the instance, and any later one named like them.
  const everyOwnDatabase = `${mysqlDatabaseName("prod", "edxapp").replace(/edxapp$/, "").replace(/_/g, "\\_")}%`;
  const holding = (role: "read_only" | "edxapp", privilege: string): ObservedGrantee => ({
    user: mysqlUserName("prod", role),
    host: "%",
    isRole: false,
    roles: [],
    privileges: [{ level: "database", database: everyOwnDatabase, privilege, grantable: false }],
  });

  it("calls a read-only user's wildcard grant over its own databases a wildcard, not outside its role", () => {
    const plan = planAccount(holding("read_only", "SELECT"), prod.mysql, all);
    const wildcard = plan.findings.filter((finding) => finding.kind !== "missing");
    assert.deepEqual(wildcard.map((finding) => finding.kind), ["wildcard"], JSON.stringify(plan.findings));
    assert.match(wildcard[0].message, /^wildcard pattern ON `prod\\_6754af96\\_%`\.\* covers this instance's databases prod_6754af96_edxapp, /);
    // --fix grants each database by name, then revokes the pattern.
    const firstRevoke = plan.statements.findIndex((statement) => statement.startsWith("REVOKE"));
    assert.ok(firstRevoke > 0 && plan.statements.slice(0, firstRevoke).every((statement) => statement.startsWith("GRANT SELECT ON")), plan.statements.join("\n"));
  });

  it("still calls it outside the role where the pattern covers databases the role does not use", () => {
    const plan = planAccount(holding("edxapp", "SELECT"), prod.mysql, all);
    const outside = plan.findings.filter((finding) => finding.kind === "outside-role");
    assert.equal(outside.length, 1, JSON.stringify(plan.findings));
    assert.match(outside[0].message, /its role does not use \(.*prod_6754af96_notes.*\)/);
  });

  it("leaves stacks with ephemeral databases out by default, and says which; audits them when named", () => {
    const dir = new StackDir({ site: PRODUCTION_STACK_YAML, dev: SANDBOX_STACK_YAML });
    try {
      const leftOut: string[] = [];
      assert.deepEqual(loadInstances(undefined, dir.root, leftOut).map((instance) => instance.id), ["site"]);
      assert.deepEqual(leftOut, ["dev"]);
      assert.deepEqual(loadInstances("dev,site", dir.root).map((instance) => instance.id), ["dev", "site"]);
    } finally {
      dir.remove();
    }
  });
});
