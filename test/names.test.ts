import { strict as assert } from "node:assert";
import {
  MYSQL_DATABASE_KEYS,
  MYSQL_ROLES,
  RABBIT_ROLES,
  appServerVmName,
  chooseMysqlServer,
  instanceDatabaseNames,
  instanceMysqlUserNames,
  instanceNameBase,
  mongoDatabaseNames,
  mongoUserName,
  mysqlDatabaseName,
  mysqlGrantDatabasePattern,
  mysqlUserName,
  rabbitUserName,
  rabbitVhostName,
  securityGroupName,
} from "../config/names";

const SAMPLE_IDS = [
  "prod",
  "dev",
  "pr-123",
  "pr_123",
  "PR-123",
  "a",
  "1e5",
  "---",
  "x".repeat(200),
  "sandbox-for-a-very-long-feature-branch-name-that-goes-on-and-on-1",
  "Mixed.Case_with-Every.Allowed_Char",
];

/** Every name one instance gets, all services on. */
function allNames(instanceId: string): string[] {
  const mongo = mongoDatabaseNames(instanceId);
  return [
    ...MYSQL_DATABASE_KEYS.map((key) => mysqlDatabaseName(instanceId, key)),
    ...MYSQL_ROLES.map((role) => mysqlUserName(instanceId, role)),
    mongo.main,
    mongo.forum,
    mongoUserName(instanceId),
    rabbitVhostName(instanceId),
    ...RABBIT_ROLES.map((role) => rabbitUserName(instanceId, role)),
  ];
}

/** MySQL's LIKE semantics of a database name in GRANT: `_` any one character, `%` any run, `\\` escapes. */
function likeRegex(pattern: string): RegExp {
  let regex = "";
  for (let index = 0; index < pattern.length; index += 1) {
    const character = pattern[index];
    if (character === "\\" && index + 1 < pattern.length) regex += escapeRegex(pattern[++index]);
    else if (character === "_") regex += ".";
    else if (character === "%") regex += ".*";
    else regex += escapeRegex(character);
  }
  return new RegExp(`^${regex}$`);
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

describe("names", () => {
  it("derives readable, documented names for a short id", () => {
    const base = instanceNameBase("prod");
    assert.match(base, /^prod_[0-9a-f]{8}$/);
    assert.equal(mysqlDatabaseName("prod", "edxapp"), `${base}_edxapp`);
    assert.equal(mysqlUserName("prod", "migrate"), `${base}_migrate`);
    assert.deepEqual(mongoDatabaseNames("prod"), { main: `${base}_edxapp`, forum: `${base}_forum` });
    assert.equal(securityGroupName("prod"), `openedx-im-${base.replace("_", "-")}`);
    assert.equal(appServerVmName("prod", "blue", 0), `${base.replace("_", "-")}-blue-0`);
  });

  it("gives the same names for the same id every time", () => {
    for (const id of SAMPLE_IDS) assert.deepEqual(allNames(id), allNames(id));
    // Pinned: if this changes, every existing database and user would be renamed.
    assert.equal(instanceNameBase("prod"), "prod_6754af96");
    assert.equal(instanceNameBase("pr-123"), "pr_123_e0045420");
  });

  it("uses only [a-z0-9_] for database, user and vhost names, and keeps MySQL's and Mongo's limits", () => {
    for (const id of SAMPLE_IDS) {
      for (const name of allNames(id)) assert.match(name, /^[a-z][a-z0-9_]*[a-z0-9]$/, `${id}: ${name}`);
      for (const key of MYSQL_DATABASE_KEYS) assert.ok(mysqlDatabaseName(id, key).length <= 64);
      for (const role of MYSQL_ROLES) assert.ok(mysqlUserName(id, role).length <= 32, mysqlUserName(id, role));
      for (const name of Object.values(mongoDatabaseNames(id))) assert.ok(name.length < 64);
      for (const role of RABBIT_ROLES) assert.ok(!rabbitUserName(id, role).includes("@"));
    }
  });

  it("truncates a long id to a readable prefix plus the hash of the whole id", () => {
    const id = "sandbox-for-a-very-long-feature-branch-name-that-goes-on-and-on-1";
    assert.match(mysqlUserName(id, "ecommerce"), /^sandbox_for_[0-9a-f]{8}_ecommerce$/);
    // The longest role suffix on the longest slug still fits MySQL's 32 characters.
    const readOnly = mysqlUserName("abcdefghijklmnopqrstuvwxyz", "read_only");
    assert.match(readOnly, /^abcdefghijkl_[0-9a-f]{8}_read_only$/);
    assert.equal(readOnly.length, 31);
  });

  it("keeps ids apart that share a 60-character prefix or the same slug", () => {
    const prefix = "feature-".repeat(8).slice(0, 60);
    const pairs: Array<[string, string]> = [
      [`${prefix}-one`, `${prefix}-two`],
      ["pr-123", "pr_123"],
      ["pr-123", "PR-123"],
      ["pr-123", "pr.123"],
    ];
    for (const [left, right] of pairs) {
      const leftNames = new Set(allNames(left));
      for (const name of allNames(right)) assert.ok(!leftNames.has(name), `${left} and ${right} share ${name}`);
      assert.notEqual(securityGroupName(left), securityGroupName(right));
      assert.notEqual(appServerVmName(left, "a", 0), appServerVmName(right, "a", 0));
    }
  });

  it("never lets one instance's database grant pattern reach another instance's database", () => {
    const ids = [...new Set(SAMPLE_IDS.concat(Array.from({ length: 200 }, (_, index) => `pr-${index}`)))];
    const names = ids.flatMap((id) => MYSQL_DATABASE_KEYS.map((key) => mysqlDatabaseName(id, key)));
    assert.equal(new Set(names).size, names.length, "two instances share a database name");
    for (const name of names.slice(0, 120)) {
      const escaped = mysqlGrantDatabasePattern(name);
      assert.equal(escaped, name.replace(/_/g, "\\_"));
      const escapedRegex = likeRegex(escaped);
      // Even an unescaped grant (as an old tool may have written it) stays inside its instance here.
      const unescapedRegex = likeRegex(name);
      assert.ok(escapedRegex.test(name));
      for (const other of names) {
        if (other === name) continue;
        assert.ok(!escapedRegex.test(other), `${escaped} matches ${other}`);
        assert.ok(!unescapedRegex.test(other), `${name} as a pattern matches ${other}`);
      }
    }
  });

  it("splits every name into instance base and suffix one way only", () => {
    const suffixes = [...MYSQL_DATABASE_KEYS, ...MYSQL_ROLES, "forum", "mongo", "vhost", ...RABBIT_ROLES];
    for (const suffix of suffixes)
      for (const other of suffixes) if (other !== suffix) assert.ok(!suffix.endsWith(`_${other}`), `${suffix} ends with _${other}`);
  });

  it("lists only the databases and users of enabled services", () => {
    const minimal = instanceDatabaseNames("prod", { xqueue: false, notes: false });
    assert.deepEqual(Object.keys(minimal), ["edxapp", "edxapp_csmh"]);
    const full = instanceDatabaseNames("prod", { xqueue: true, notes: true, ecommerce: true, discovery: true });
    assert.deepEqual(Object.keys(full), [...MYSQL_DATABASE_KEYS]);
    assert.deepEqual(Object.keys(instanceMysqlUserNames("prod", { ecommerce: true })), ["edxapp", "migrate", "ecommerce", "read_only"]);
    assert.deepEqual(Object.keys(instanceMysqlUserNames("prod", {})), ["edxapp", "migrate", "read_only"], "edxapp, migrate and read_only always");
  });

  it("rejects unknown services and roles, and bad VM name parts, naming the problem", () => {
    assert.throws(() => mysqlDatabaseName("prod", "wordpress"), /MySQL database: "wordpress" is not one of/);
    assert.throws(() => mysqlUserName("prod", "root"), /MySQL role: "root"/);
    assert.throws(() => appServerVmName("prod", "Blue", 0), /appserver id "Blue"/);
    assert.throws(() => mysqlDatabaseName("", "edxapp"), /instance id/);
  });

  it("makes VM names valid host names", () => {
    for (const id of SAMPLE_IDS) {
      const name = appServerVmName(id, "abcdefghijklmnop", 99);
      assert.match(name, /^[a-z][a-z0-9-]*[a-z0-9]$/);
      assert.ok(name.length <= 63);
    }
  });
});

describe("chooseMysqlServer", () => {
  const ids = Array.from({ length: 2000 }, (_, index) => `pr-${index}`);

  it("is deterministic and ignores the list's order", () => {
    for (const id of ids.slice(0, 100))
      assert.equal(chooseMysqlServer(id, ["mysql-a", "mysql-b", "mysql-c"]), chooseMysqlServer(id, ["mysql-c", "mysql-a", "mysql-b"]));
  });

  it("spreads instances over the servers", () => {
    const counts = new Map<string, number>();
    for (const id of ids) {
      const server = chooseMysqlServer(id, ["mysql-a", "mysql-b"]);
      counts.set(server, (counts.get(server) ?? 0) + 1);
    }
    for (const server of ["mysql-a", "mysql-b"]) assert.ok((counts.get(server) ?? 0) > 800, `${server}: ${counts.get(server)}`);
  });

  it("moves only instances onto the new server when one is added, about 1/3 of them for a third", () => {
    let moved = 0;
    for (const id of ids) {
      const before = chooseMysqlServer(id, ["mysql-a", "mysql-b"]);
      const after = chooseMysqlServer(id, ["mysql-a", "mysql-b", "mysql-c"]);
      if (before !== after) {
        assert.equal(after, "mysql-c", `${id} moved from ${before} to ${after}`);
        moved += 1;
      }
    }
    assert.ok(moved > ids.length * 0.28 && moved < ids.length * 0.39, `moved ${moved} of ${ids.length}`);
  });

  it("refuses an empty server list with the key to fix", () => {
    assert.throws(() => chooseMysqlServer("prod", []), /openedx-im:mysqlServers/);
  });
});
