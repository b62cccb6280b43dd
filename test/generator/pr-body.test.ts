import { strict as assert } from "node:assert";
import { extractSettingsBlock, findDatabasesMarker, parseSettingsYaml } from "../../stacks/generator/pr-body";
import { shortTitle } from "../../stacks/generator/stack-mapping";
import { REAL_PULL_REQUEST_BODY } from "../support/fake-github";

describe("generate-stacks: reading a pull request's description", () => {
  it("extracts the Settings block of a real captured body (CRLF, unicode, no newline after the fence)", () => {
    assert.deepEqual(extractSettingsBlock(REAL_PULL_REQUEST_BODY), { found: true, text: "EDXAPP_FEATURES:\n  ALLOW: true" });
  });

  it("accepts a bare fence, blank lines before it and blank lines inside it; the first Settings heading wins", () => {
    const body = "**Settings**\n\n```\nA: 1\n\nB: 2\n```\n**Settings**\n```\nC: 3\n```";
    assert.deepEqual(extractSettingsBlock(body), { found: true, text: "A: 1\n\nB: 2" });
  });

  it("treats a Settings heading without a fence as prose, as the old instance manager did", () => {
    assert.deepEqual(extractSettingsBlock("**Settings**\r\nMALFORMED"), { found: false });
    assert.deepEqual(extractSettingsBlock("no settings here"), { found: false });
  });

  it("parses an empty block as no settings", () => {
    assert.deepEqual(parseSettingsYaml(""), { ok: true, settings: {} });
    assert.deepEqual(parseSettingsYaml("# only a comment"), { ok: true, settings: {} });
  });

  it("refuses duplicate keys and oversized blocks", () => {
    assert.match((parseSettingsYaml("A: 1\nA: 2") as { problem: string }).problem, /Map keys must be unique/);
    assert.match((parseSettingsYaml(`A: "${"x".repeat(70_000)}"`) as { problem: string }).problem, /larger than 65536 bytes/);
  });

  it("honours a persistence marker only on the line naming the sandbox's domain", () => {
    const domain = "pr99.sandbox.example.com";
    assert.deepEqual(findDatabasesMarker(`Test it here: ${domain} (ephemeral databases)`, domain), { ok: true, databases: "ephemeral" });
    assert.deepEqual(findDatabasesMarker(`Test it here: PR99.Sandbox.Example.com (Persistent Databases)`, domain), {
      ok: true,
      databases: "persistent",
    });
    assert.deepEqual(findDatabasesMarker(`Test it here: ${domain}\r\n(persistent databases)`, domain), { ok: true, databases: undefined });
    assert.deepEqual(findDatabasesMarker(`pr98.sandbox.example.com (persistent databases)`, domain), { ok: true, databases: undefined });
  });

  it("names sandboxes with the title's first four words", () => {
    assert.equal(shortTitle("Fix the thing"), "Fix the thing");
    assert.equal(shortTitle("Fix the thing in\tthe LMS"), "Fix the thing in …");
    assert.equal(shortTitle("Line\u0000break\nin title"), "Line break in title");
  });
});
