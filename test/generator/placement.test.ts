import { strict as assert } from "node:assert";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { chooseMysqlServer } from "../../config/names";
import { sandboxMysqlServer } from "../../stacks/generator/placement";
import { readProjectConfig } from "../../stacks/generator/stack-validation";
import { BASE_DOMAIN, GeneratorHarness } from "./harness";

describe("generate-stacks: where a persistent sandbox's data lives", () => {
  const fleet = (...names: string[]) => ({ "openedx-im:mysqlServers": names.map((name) => ({ name, host: `${name}.example.org`, username: "admin" })) });
  const file = (server: string) => `config:\n  openedx-im:instance:\n    name: x\n    databases: persistent\n    mysqlServer: ${server}\n`;

  it("a new stack gets the server the hash picks today", () => {
    assert.equal(sandboxMysqlServer("pr-7", undefined, fleet("mysql-a", "mysql-b")), chooseMysqlServer("pr-7", ["mysql-a", "mysql-b"]));
  });

  it("an existing stack keeps its server when a server is added to the fleet (even one the hash would now pick)", () => {
    const stack = Array.from({ length: 100 }, (_, n) => `pr-${n}`).find(
      (id) => chooseMysqlServer(id, ["mysql-a", "mysql-b"]) !== chooseMysqlServer(id, ["mysql-a", "mysql-b", "mysql-c"]),
    ) as string;
    const today = sandboxMysqlServer(stack, undefined, fleet("mysql-a", "mysql-b")) as string;
    assert.equal(sandboxMysqlServer(stack, file(today), fleet("mysql-a", "mysql-b", "mysql-c")), today);
    assert.notEqual(sandboxMysqlServer(stack, undefined, fleet("mysql-a", "mysql-b", "mysql-c")), today, "the test's stack is one the hash moves");
  });

  it("no server in the fleet: none is chosen; an unreadable previous file names none", () => {
    assert.equal(sandboxMysqlServer("pr-7", undefined, {}), undefined);
    assert.equal(sandboxMysqlServer("pr-7", "config: [unclosed", fleet("mysql-a")), "mysql-a");
  });
});

describe("generate-stacks: the server is written into a persistent sandbox's file, and kept", () => {
  let harness: GeneratorHarness;
  beforeEach(async () => {
    harness = await GeneratorHarness.start();
    harness.github.setMembers(["itsjeyd"]);
  });
  afterEach(async () => {
    await harness.close();
  });

  const instanceOf = (number: number) =>
    (parse(readFileSync(harness.file(number), "utf8")) as { config: Record<string, Record<string, unknown>> }).config["openedx-im:instance"];
  const persistentBody = (number: number) => `Test it here: pr${number}.${BASE_DOMAIN} (persistent databases)`;

  it("pins a new persistent sandbox where the hash puts it today, and an ephemeral one nowhere", async () => {
    harness.github.putPullRequests({ number: 7, author: "itsjeyd", body: persistentBody(7), sha: "a".repeat(40) }, { number: 8, author: "itsjeyd", sha: "a".repeat(40) });
    assert.equal((await harness.run()).code, 0);
    const servers = (readProjectConfig(path.resolve(__dirname, "../.."))["openedx-im:mysqlServers"] as { name: string }[]).map((s) => s.name);
    assert.equal(instanceOf(7).mysqlServer, chooseMysqlServer("pr-7", servers));
    assert.deepEqual(Object.keys(instanceOf(7)).slice(Object.keys(instanceOf(7)).indexOf("databases"), Object.keys(instanceOf(7)).indexOf("databases") + 2), ["databases", "mysqlServer"]);
    assert.equal(instanceOf(8).mysqlServer, undefined);
  });

  it("keeps the server an existing file names when the pull request moves", async () => {
    harness.github.putPullRequests({ number: 7, author: "itsjeyd", body: persistentBody(7), sha: "a".repeat(40) });
    await harness.run();
    // As if the data had been placed by an older fleet: on a server the hash would not pick today.
    const servers = (readProjectConfig(path.resolve(__dirname, "../.."))["openedx-im:mysqlServers"] as { name: string }[]).map((s) => s.name);
    const elsewhere = servers.find((name) => name !== instanceOf(7).mysqlServer) as string;
    assert.ok(elsewhere, "the fleet has two servers");
    const file = harness.file(7);
    writeFileSync(file, readFileSync(file, "utf8").replace(/mysqlServer: \S+/, `mysqlServer: ${elsewhere}`));
    harness.github.putPullRequests({ number: 7, author: "itsjeyd", body: persistentBody(7), sha: "b".repeat(40) });
    const { report } = await harness.run();
    assert.deepEqual(report.updated.map((e) => e.stack), ["pr-7"]);
    assert.equal(instanceOf(7).mysqlServer, elsewhere);
  });
});
