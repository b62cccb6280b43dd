import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { mysqlDatabaseName } from "../config/names";
import { loadInstances } from "../tools/audit-grants/instances";

describe("audit-grants instance list files", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), "openedx-im-audit-list-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("applies the instance defaults to services a list entry leaves out, as a stack would", () => {
    const file = path.join(dir, "instances.yaml");
    writeFileSync(file, "instances:\n  - { id: oldsite, services: { ecommerce: true } }\n  - { id: plain }\n");
    const [partial, plain] = loadInstances(file, dir);
    const expected = (id: string, keys: string[]) => keys.map((key) => mysqlDatabaseName(id, key)).sort();
    assert.deepEqual([...partial.mysql.databases].sort(), expected("oldsite", ["edxapp", "edxapp_csmh", "xqueue", "notes", "ecommerce"]));
    assert.deepEqual([...plain.mysql.databases].sort(), expected("plain", ["edxapp", "edxapp_csmh", "xqueue", "notes"]));
  });

  it("refuses a service the instance schema does not know, naming it", () => {
    const file = path.join(dir, "bad.yaml");
    writeFileSync(file, "instances:\n  - { id: x, services: { forums: true } }\n");
    assert.throws(() => loadInstances(file, dir), /forums/);
  });

  it("names each account by user AND host, and marks referenced ones", () => {
    const file = path.join(dir, "adopted.yaml");
    writeFileSync(
      file,
      [
        "instances:",
        "  - { id: one, adopt: { mysql: { users: { edxapp: { name: old, host: \"10.0.%\" }, migrate: { name: old, host: \"10.0.%\" } } } } }",
        "  - { id: two, adopt: { mysql: { mode: reference, users: { edxapp: old } } } }",
        "",
      ].join("\n"),
    );
    const [one, two] = loadInstances(file, dir);
    assert.deepEqual(one?.mysql.accounts.find((account) => account.user === "old"), { user: "old", host: "10.0.%", roles: ["edxapp", "migrate"], referenced: false });
    assert.deepEqual(two?.mysql.accounts.find((account) => account.user === "old"), { user: "old", host: "%", roles: ["edxapp"], referenced: true });
  });

  it("refuses one account (user and host) in two instances", () => {
    const file = path.join(dir, "clash.yaml");
    writeFileSync(file, "instances:\n  - { id: one, adopt: { mysql: { users: { edxapp: old } } } }\n  - { id: two, adopt: { mysql: { users: { edxapp: old } } } }\n");
    assert.throws(() => loadInstances(file, dir), /'old'@'%' belongs to both one and two/);
  });
});
