import { strict as assert } from "node:assert";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { TlsSettingError, mysqlSslOptions, serverForUrl } from "../tools/audit-grants/mysql-tls";
import { runAuditCli, servicesUrl } from "./support/audit-grants-mariadb";
import { PRODUCTION_STACK_YAML, StackDir, TEST_FLEET_YAML } from "./support/stack-dir";

const PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

describe("audit-grants: TLS on the MySQL connection", () => {
  it("asks mysql2 for a checked TLS connection with the server's CA, an unchecked one, or none", () => {
    const dir = new StackDir();
    try {
      mkdirSync(path.join(dir.root, "certs"));
      writeFileSync(path.join(dir.root, "certs/ca.pem"), PEM);
      assert.deepEqual(mysqlSslOptions(true, "certs/ca.pem", dir.root), { rejectUnauthorized: true, ca: PEM });
      assert.deepEqual(mysqlSslOptions(true, undefined, dir.root), { rejectUnauthorized: true });
      assert.deepEqual(mysqlSslOptions("skip-verify", undefined, dir.root), { rejectUnauthorized: false });
      assert.equal(mysqlSslOptions(false, undefined, dir.root), undefined);
      assert.equal(mysqlSslOptions(undefined, undefined, dir.root), undefined);
      assert.throws(() => mysqlSslOptions("skip-verify", "certs/ca.pem", dir.root), TlsSettingError);
      assert.throws(() => mysqlSslOptions(true, "certs/missing.pem", dir.root), /cannot be read/);
    } finally {
      dir.remove();
    }
  });

  it("takes tls and ca from the mysqlServers entry whose host and port the URL names", () => {
    const fleet = TEST_FLEET_YAML.replace("        host: mysql-b.example.net\n", "        host: mysql-b.example.net\n        port: 3307\n        tls: true\n        ca: certs/b.pem\n");
    const dir = new StackDir({ site: PRODUCTION_STACK_YAML }, fleet);
    try {
      assert.deepEqual(
        { tls: serverForUrl("mysql://admin:x@mysql-b.example.net:3307/", dir.root)?.tls, ca: serverForUrl("mysql://admin:x@MYSQL-B.example.net:3307/", dir.root)?.ca },
        { tls: true, ca: "certs/b.pem" },
      );
      assert.equal(serverForUrl("mysql://admin:x@mysql-b.example.net/", dir.root), undefined, "another port is another server");
      assert.equal(serverForUrl("mysql://admin:x@mysql-a.example.net/", dir.root)?.tls, undefined);
    } finally {
      dir.remove();
    }
  });

  it("refuses to talk in plain text to a server without TLS when TLS is asked for (real MariaDB)", function () {
    this.timeout(60_000);
    const url = servicesUrl();
    assert.ok(url, "no TEST_MYSQL_URL: run bash scripts/test-services.sh first");
    const dir = new StackDir({ site: PRODUCTION_STACK_YAML });
    try {
      const listFile = path.join(dir.root, "instances.yaml");
      writeFileSync(listFile, "instances:\n  - { id: tlsprobe }\n");
      const tls = runAuditCli(url, ["--instances", listFile, "--mysql-tls", "true"]);
      assert.equal(tls.status, 2, tls.output);
      assert.match(tls.output, /audit-grants: server error \(connection or query\): .*(secure connection|SSL|TLS)/i);
      const plain = runAuditCli(url, ["--instances", listFile]);
      assert.notEqual(plain.status, 2, plain.output);
    } finally {
      dir.remove();
    }
  });
});
