import { strict as assert } from "node:assert";
import mysql, { type RowDataPacket } from "mysql2/promise";
import { connectForAudit } from "../tools/audit-grants/mysql-server";
import { UnquotableNameError, quoteAccount, quoteIdentifier, quoteString, unquotableReason } from "../tools/audit-grants/sql-quote";
import { servicesUrl } from "./support/audit-grants-mariadb";

/** Names an attacker who can create accounts, roles or databases might choose. */
const HOSTILE = [
  "x', attacker #",
  "x'', attacker #",
  "'; DROP DATABASE mysql; -- ",
  "a'b'c",
  "''",
  "`backtick` name",
  'double " quote',
  "%_ wildcards",
  "näme ✓ 名前",
  "/* comment */",
];

describe("audit-grants SQL quoting", () => {
  it("refuses names whose meaning depends on sql_mode or that cannot be printed, saying why", () => {
    for (const name of ["x\\', attacker #", "a\\", "line\nbreak", "nul\u0000", "tab\t"]) {
      assert.notEqual(unquotableReason(name), undefined, name);
      assert.throws(() => quoteString(name), UnquotableNameError);
    }
    assert.throws(() => quoteString("x\\"), /backslash/);
    assert.throws(() => quoteAccount({ user: "u", host: "h\n" }), /control character/);
    for (const name of HOSTILE) assert.equal(unquotableReason(name), undefined, name);
  });

  it("quotes strings with doubled quotes only, and identifiers with doubled backticks", () => {
    assert.equal(quoteString("x', attacker #"), "'x'', attacker #'");
    assert.equal(quoteAccount({ user: "u", host: "10.0.%" }), "'u'@'10.0.%'");
    assert.equal(quoteIdentifier("a`b"), "`a``b`");
  });
});

for (const mode of ["STRICT_TRANS_TABLES", "NO_BACKSLASH_ESCAPES", "ANSI_QUOTES,NO_BACKSLASH_ESCAPES", "ORACLE"]) {
  describe(`audit-grants SQL quoting on MariaDB (session sql_mode ${mode})`, function () {
    this.timeout(30000);
    const url = servicesUrl();
    let connection: mysql.Connection;

    before(async function () {
      if (!url) this.skip();
      connection = await mysql.createConnection(url as string);
      await connection.query(`SET SESSION sql_mode = '${mode}'`);
    });
    after(async () => {
      await connection?.end();
    });

    it("every quoted hostile name reads back as itself, as a string and as an identifier", async () => {
      for (const name of HOSTILE) {
        const [rows] = await connection.query<RowDataPacket[]>(`SELECT ${quoteString(name)} AS ${quoteIdentifier(name)}`);
        assert.deepEqual(Object.entries(rows[0] ?? {}), [[name, name]], name);
      }
    });
  });
}

describe("audit-grants session on a server whose global sql_mode is hostile", function () {
  this.timeout(30000);
  const url = servicesUrl();
  let admin: mysql.Connection;
  let previous: string;

  before(async function () {
    if (!url) this.skip();
    admin = await mysql.createConnection(url as string);
    const [rows] = await admin.query<RowDataPacket[]>("SELECT @@GLOBAL.sql_mode AS mode");
    previous = String(rows[0]?.mode ?? "");
    await admin.query("SET GLOBAL sql_mode = 'NO_BACKSLASH_ESCAPES,ANSI_QUOTES'");
  });
  after(async () => {
    if (!admin) return;
    await admin.query(`SET GLOBAL sql_mode = '${previous.replace(/'/g, "''")}'`);
    await admin.end();
  });

  it("sets the session's own sql_mode on connect", async () => {
    const { connection, sqlMode } = await connectForAudit(url as string);
    try {
      assert.doesNotMatch(sqlMode, /NO_BACKSLASH_ESCAPES|ANSI_QUOTES/);
      assert.match(sqlMode, /NO_AUTO_CREATE_USER/);
    } finally {
      await connection.end();
    }
  });
});
