import { strict as assert } from "node:assert";
import { execFileSync, spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import * as path from "node:path";
import { FilterSyntaxError, parseFilter, selectRows } from "../fleet/filter";
import { csvField, toCsv, toTable } from "../fleet/format";
import { readInventory } from "../fleet/inventory";
import { drift } from "../fleet/state";
import { fleetRoot, productionFile, sandboxFile } from "./support/fleet-root";

const ROOT = path.resolve(__dirname, "..");

/** Parses CSV with Python's csv module (RFC 4180 dialect), as a spreadsheet import would. */
function parseCsvWithPython(text: string): string[][] {
  const out = execFileSync("python3", ["-c", "import csv,io,sys,json; print(json.dumps(list(csv.reader(io.TextIOWrapper(sys.stdin.buffer, encoding='utf-8', newline='')))))"], {
    input: text,
    encoding: "utf8",
  });
  return JSON.parse(out) as string[][];
}

describe("fleet list", () => {
  let root: string;
  before(() => {
    root = fleetRoot({
      "pr-1": sandboxFile("PR#1: =HYPERLINK(\"http://evil.example\",\"click\"), \"quoted\"\nsecond line", "pr1"),
      "pr-2": sandboxFile("+cmd|' /C calc'!A0", "pr2", "quince"),
      "site-a": productionFile("learn"),
      "broken-yaml": "config:\n  openedx-im:instance: [unclosed\n",
      "bad-value": sandboxFile("Bad", "studio-x").replace("lifecycle: sandbox", "lifecycle: sandbox\n    flavor: 'bad flavor'"),
    });
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it("one row per stack file; a bad stack file is a row with its problem, not a crash", () => {
    const rows = readInventory(root);
    assert.deepEqual(rows.map((r) => r.stack), ["bad-value", "broken-yaml", "pr-1", "pr-2", "site-a"]);
    const byStack = Object.fromEntries(rows.map((r) => [r.stack, r]));
    assert.match(byStack["broken-yaml"].problems.join(), /Pulumi\.broken-yaml\.yaml line \d+, column \d+: not valid YAML/);
    assert.match(byStack["bad-value"].problems.join("\n"), /subDomain: must not start with "studio"/);
    assert.equal(byStack["bad-value"].lifecycle, "sandbox", "what can be read plainly is still shown");
    const site = byStack["site-a"];
    assert.deepEqual(site.problems, []);
    assert.deepEqual(site.appServers, [{ id: "a20261101", release: "quince", provisioner: "ansible" }]);
    assert.equal(site.activeAppServer, "a20261101");
    assert.deepEqual(site.domains, ["learn.example.org", "studio.learn.example.org", "preview.learn.example.org", "apps.learn.example.org"]);
    assert.ok(["mysql-a", "mysql-b"].includes(site.mysqlServer ?? ""), "chosen by hashing among the fleet's servers");
    assert.deepEqual(site.data, { retainOnDelete: true, protect: true });
    assert.equal(byStack["pr-2"].appServers[0].release, "quince");
  });

  it("the command prints the table, exit 0, with an invalid stack in it", () => {
    const result = spawnSync(process.execPath, [require.resolve("tsx/cli"), path.join(ROOT, "fleet", "cli.ts"), "list", "--root", root], { encoding: "utf8" });
    assert.equal(result.status, 0, result.stderr);
    const lines = result.stdout.trimEnd().split("\n");
    assert.match(lines[0], /^stack +name +lifecycle +deployment\/stage +appservers +active +domains +database server +data +problems$/);
    assert.equal(lines.length, 6);
    assert.match(result.stdout, /site-a +Site learn +production .*a20261101:quince:ansible +a20261101 +learn\.example\.org/);
    assert.match(result.stdout, /broken-yaml .*not valid YAML/);
  });

  it("--csv is RFC 4180 (Python's csv reads back every cell) and defuses spreadsheet formulas", () => {
    const rows = readInventory(root);
    const text = toCsv(rows);
    assert.ok(text.startsWith("stack,name,lifecycle,") && text.split("\r\n").length === rows.length + 2, "a header, then CRLF between records");
    const parsed = parseCsvWithPython(text);
    assert.equal(parsed.length, rows.length + 1);
    assert.ok(parsed.every((record) => record.length === parsed[0].length), "every record has every column");
    const name = (stack: string) => parsed[1 + rows.findIndex((r) => r.stack === stack)][1];
    assert.equal(name("pr-1"), "PR#1: =HYPERLINK(\"http://evil.example\",\"click\"), \"quoted\"\nsecond line", "comma, quotes and newline survive");
    assert.equal(name("pr-2"), "'+cmd|' /C calc'!A0", "a leading + is defused");
    assert.equal(csvField("=1+1"), "'=1+1");
    assert.equal(csvField("-2"), "'-2");
    assert.equal(csvField("@SUM(A1)"), "'@SUM(A1)");
    assert.equal(csvField("a,b"), '"a,b"');
    assert.equal(csvField("plain"), "plain");
  });

  it("the table never passes control characters (terminal escapes) through", () => {
    const rows = readInventory(root).map((r) => (r.stack === "pr-2" ? { ...r, name: "x\u001b[2J\u001b]0;owned\u0007y" } : r));
    const table = toTable(rows);
    assert.ok(!/[\u0000-\u0008\u000b-\u001f\u007f]/.test(table), JSON.stringify(table));
    assert.match(table, /x \[2J ]0;owned y/);
  });

  it("filters: AND of terms, | alternatives, globs, != ; an invalid stack has status=invalid", () => {
    const rows = readInventory(root);
    const names = (expression: string, exclude?: string) =>
      selectRows(rows, parseFilter(expression), exclude ? parseFilter(exclude) : undefined).map((r) => r.stack);
    assert.deepEqual(names("lifecycle=production"), ["site-a"]);
    assert.deepEqual(names("name=pr-*"), ["pr-1", "pr-2"]);
    assert.deepEqual(names("name=pr-*,release=quince"), ["pr-2"]);
    assert.deepEqual(names("release=quince|redwood,status=ok"), ["pr-1", "pr-2", "site-a"]);
    assert.deepEqual(names("status=invalid"), ["bad-value", "broken-yaml"]);
    assert.deepEqual(names("name=*", "lifecycle=sandbox"), ["broken-yaml", "site-a"]);
    assert.deepEqual(names("domain=*.learn.example.org"), ["site-a"]);
    assert.deepEqual(names("active=quince,lifecycle=production"), ["site-a"]);
    assert.deepEqual(names("activeappserver=none"), ["bad-value", "broken-yaml"]);
    assert.deepEqual(names("release!=redwood,status=ok"), ["pr-2", "site-a"]);
    assert.deepEqual(names("name=pr-?"), ["pr-1", "pr-2"]);
    assert.deepEqual(names("mysql=none,status=ok"), ["pr-1", "pr-2"]);
  });

  it("filters are parsed strictly: the error names the bad term", () => {
    const cases: Array<[string, RegExp]> = [
      ["lifecycle=production,releas=redwood", /term "releas=redwood": unknown key "releas"/],
      ["lifecycle", /term "lifecycle": expected <key>=<pattern>/],
      ["release=", /term "release=": empty pattern/],
      ["release=a||b", /empty pattern/],
      ["name=pr-1,,lifecycle=sandbox", /empty term/],
      ["name=$(rm -rf /)", /"\$\(rm -rf \/\)" may hold only/],
      ["", /empty filter/],
    ];
    for (const [expression, message] of cases) assert.throws(() => parseFilter(expression), (e: unknown) => e instanceof FilterSyntaxError && message.test((e as Error).message), expression);
    const result = spawnSync(process.execPath, [require.resolve("tsx/cli"), path.join(ROOT, "fleet", "cli.ts"), "list", "--root", root, "--filter", "stage=QA,colour=red"], { encoding: "utf8" });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /--filter: term "colour=red": unknown key "colour"/);
  });

  it("--state drift: file and deployed state compared (reading the state itself needs the Pulumi CLI)", () => {
    const site = readInventory(root).find((r) => r.stack === "site-a");
    assert.ok(site);
    assert.deepEqual(drift(site, { exists: false }), ["not deployed"]);
    assert.deepEqual(drift(site, { exists: true, appServers: ["a20261101"], activeAppServer: "a20261101", lastUpdate: { kind: "update", result: "succeeded", endTime: "" } }), []);
    assert.deepEqual(drift(site, { exists: true, appServers: ["a20261001", "a20261101"], activeAppServer: "a20261001", lastUpdate: { kind: "update", result: "failed", endTime: "" } }), [
      "last update failed",
      "active appserver: file a20261101, deployed a20261001",
      "still deployed, gone from the file: a20261001",
    ]);
    assert.deepEqual(drift(site, { exists: true, error: "no credentials" }), []);
  });
});
