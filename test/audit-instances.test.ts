import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { mysqlDatabaseName } from "../components/names";
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
});
