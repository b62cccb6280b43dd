import { strict as assert } from "node:assert";
import { validateStackConfig } from "../config/stack-config";
import { readStackFile } from "../config/stack-file";
import { renderStack } from "../stacks/plan/stack";
import { PRODUCTION_STACK_YAML, StackDir, TEST_FLEET_YAML } from "./support/stack-dir";

/** The test fleet with `lines` added to mysql-b's entry. */
function fleetWithMysqlB(lines: string): string {
  const anchor = "        host: mysql-b.example.net\n";
  assert.ok(TEST_FLEET_YAML.includes(anchor));
  return TEST_FLEET_YAML.replace(anchor, anchor + lines);
}

describe("TLS on the MySQL admin connection", () => {
  for (const [setting, expected] of [
    ["        tls: true\n        ca: certs/mysql-ca.pem\n", "true"],
    ['        tls: "skip-verify"\n', "skip-verify"],
    ["        tls: false\n", "false"],
  ] as const) {
    it(`passes tls: ${expected} to the server's provider`, async () => {
      const dir = new StackDir({ site: PRODUCTION_STACK_YAML }, fleetWithMysqlB(setting));
      try {
        const plan = await renderStack("site", dir.root);
        const provider = plan.resources.find((r) => r.type === "pulumi:providers:mysql");
        assert.equal(provider?.name, "instance-mysql-provider-mysql-b");
        assert.equal(provider?.inputs.tls, expected);
      } finally {
        dir.remove();
      }
    });
  }

  it("leaves the provider's tls unset when the server does not say (MYSQL_TLS_CONFIG applies)", async () => {
    const dir = new StackDir({ site: PRODUCTION_STACK_YAML });
    const before = process.env.MYSQL_TLS_CONFIG;
    process.env.MYSQL_TLS_CONFIG = "skip-verify";
    try {
      const plan = await renderStack("site", dir.root);
      const provider = plan.resources.find((r) => r.type === "pulumi:providers:mysql");
      assert.equal(provider?.inputs.tls, "skip-verify");
    } finally {
      if (before === undefined) delete process.env.MYSQL_TLS_CONFIG;
      else process.env.MYSQL_TLS_CONFIG = before;
      dir.remove();
    }
  });

  it("refuses a CA without tls: true, a CA outside the project, and other tls values", () => {
    for (const [setting, fragment] of [
      ["        ca: certs/mysql-ca.pem\n", "openedx-im:mysqlServers[1].ca: checks the server's certificate, which needs tls: true"],
      ["        tls: true\n        ca: ../ca.pem\n", "openedx-im:mysqlServers[1].ca: must stay inside the project"],
      ["        tls: required\n", 'openedx-im:mysqlServers[1].tls: must be true, false or "skip-verify"'],
    ]) {
      const dir = new StackDir({ site: PRODUCTION_STACK_YAML }, fleetWithMysqlB(setting));
      try {
        const result = validateStackConfig(readStackFile("site", dir.root).values, { stack: "site" });
        assert.ok(!result.ok && result.problems.some((p) => p.startsWith(fragment)), result.ok ? "accepted" : result.problems.join("\n"));
      } finally {
        dir.remove();
      }
    }
  });
});
