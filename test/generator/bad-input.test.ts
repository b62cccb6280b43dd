import { strict as assert } from "node:assert";
import { existsSync, readFileSync } from "node:fs";
import { BASE_DOMAIN, FORK, GeneratorHarness } from "./harness";

/**
 * A pull request body is written by whoever opened it. Each bad input below is
 * reported for its pull request in one line, that PR's existing file stays as
 * it was, every other PR is still processed, and the run exits 0.
 */

function settingsBody(yaml: string): string {
  return `Some change.\r\n\r\n**Settings**\r\n\`\`\`yaml\r\n${yaml.replace(/\n/g, "\r\n")}\r\n\`\`\``;
}

const ALIAS_BOMB = [
  "a: &a [x, x, x, x, x, x, x, x, x]",
  "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]",
  "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]",
  "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]",
  "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]",
  "f: [*e, *e, *e, *e, *e, *e, *e, *e, *e]",
].join("\n");

interface BadCase {
  title: string;
  body?: string;
  branch?: string;
  /** The reported line must match this. */
  expect: RegExp;
}

const BAD_CASES: BadCase[] = [
  { title: "invalid YAML", body: settingsBody("EDXAPP_FEATURES: [unclosed"), expect: /^Settings: invalid YAML: / },
  { title: "a YAML alias bomb", body: settingsBody(ALIAS_BOMB), expect: /^Settings: YAML rejected: Excessive alias count/ },
  { title: "a Settings block that is a list", body: settingsBody("- EDXAPP_FEATURES\n- x"), expect: /^Settings: must be a mapping .* got a list$/ },
  { title: "a Settings block that is a string", body: settingsBody("just some words"), expect: /^Settings: must be a mapping .* got a string$/ },
  { title: "an unclosed Settings fence", body: "**Settings**\r\n```yaml\r\nA: 1\r\n", expect: /^Settings: the ``` block after \*\*Settings\*\* is never closed$/ },
  {
    title: "a secret key",
    body: settingsBody("EDXAPP_EDXAPP_SECRET_KEY: mine"),
    expect: /^Settings\.EDXAPP_EDXAPP_SECRET_KEY: may not be set from a pull request: secrets/,
  },
  {
    title: "a password nested in a feature dict",
    body: settingsBody("EDXAPP_FEATURES:\n  SMTP_PASSWORD: hunter2"),
    expect: /^Settings\.EDXAPP_FEATURES\.SMTP_PASSWORD: may not be set from a pull request: secrets/,
  },
  {
    title: "a database host",
    body: settingsBody("EDXAPP_MYSQL_HOST: evil.example.com"),
    expect: /^Settings\.EDXAPP_MYSQL_HOST: .*database and message-broker/,
  },
  {
    title: "mongo credentials",
    body: settingsBody("EDXAPP_MONGO_USER: admin"),
    expect: /^Settings\.EDXAPP_MONGO_USER: .*database and message-broker/,
  },
  {
    title: "the load balancer",
    body: settingsBody("HAPROXY_BACKEND: other"),
    expect: /^Settings\.HAPROXY_BACKEND: .*load balancer/,
  },
  {
    title: "a generated domain",
    body: settingsBody("EDXAPP_LMS_BASE: other.example.com"),
    expect: /^Settings\.EDXAPP_LMS_BASE: .*domains are derived/,
  },
  {
    title: "a Jinja lookup in a value",
    body: settingsBody("EDXAPP_PLATFORM_NAME: \"{{ lookup('pipe', 'id') }}\""),
    expect: /^Settings\.EDXAPP_PLATFORM_NAME: value contains a Jinja template delimiter "\{\{"/,
  },
  {
    title: "a shell metacharacter in configuration_version",
    body: settingsBody("configuration_version: 'master`id`'"),
    expect: /^Settings\.configuration_version: must be a branch or tag of the configuration repository$/,
  },
  {
    title: "a connection variable",
    body: settingsBody("ansible_connection: local"),
    expect: /^Settings\.ansible_connection: may not be set from a pull request: Ansible's connection/,
  },
  {
    title: "a configuration repository outside the allowlist",
    body: settingsBody("edx_ansible_source_repo: https://evil.example.com/configuration.git"),
    expect: /^Settings\.edx_ansible_source_repo: https:\/\/evil\.example\.com\/configuration\.git is not an allowed configuration repository/,
  },
  {
    title: "a playbook outside the allowlist",
    body: settingsBody("configuration_playbook_name: run_anything.yml"),
    expect: /^Settings\.configuration_playbook_name: run_anything\.yml is not an allowed playbook/,
  },
  {
    title: "a commit SHA as configuration_version",
    body: settingsBody("configuration_version: 0123456789abcdef0123456789abcdef01234567"),
    expect: /^Settings\.configuration_version: "0123456789abcdef0123456789abcdef01234567" looks like a commit SHA/,
  },
  {
    // git reads a leading + as refspec syntax (force) and resolves pull/7/head to refs/pull/7/head.
    title: "a pull request's head behind a refspec +",
    body: settingsBody("configuration_version: +pull/7/head"),
    expect: /^Settings\.configuration_version: must be a branch or tag of the configuration repository$/,
  },
  {
    title: "a commit SHA behind a refspec +",
    body: settingsBody("configuration_version: +0123456789abcdef0123456789abcdef01234567"),
    expect: /^Settings\.configuration_version: must be a branch or tag of the configuration repository$/,
  },
  {
    title: "a YAML tag",
    body: settingsBody("EDXAPP_X: !!python/object/apply:os.system ['id']"),
    expect: /^Settings: YAML refused: Unresolved tag/,
  },
  {
    title: "a release the version matrix does not support",
    body: settingsBody("openedx_release: nonexistent"),
    expect: /^openedx-im:instance\.release: "nonexistent" is not a supported release/,
  },
  {
    title: "two persistence markers on the sandbox's line",
    body: `Sandbox: prNUMBER.${BASE_DOMAIN} (ephemeral databases) (persistent databases)`,
    expect: /^databases: both \(ephemeral databases\) and \(persistent databases\)/,
  },
];

describe("generate-stacks: bad pull-request input", () => {
  let harness: GeneratorHarness;
  before(async () => {
    harness = await GeneratorHarness.start();
    harness.github.setMembers(["author"]);
  });
  after(async () => {
    await harness.close();
  });

  it("reports each bad input in one line for its PR, keeps that PR's old file, processes the others, exits 0", async () => {
    const good = 999;
    const numbers = BAD_CASES.map((_, index) => 100 + index);
    // First a clean run, so every PR has an existing file that bad input must leave alone.
    harness.github.putPullRequests(
      { number: good, author: "author", sha: "c".repeat(40) },
      ...numbers.map((number) => ({ number, author: "author", sha: "d".repeat(40) })),
    );
    const first = await harness.run();
    assert.equal(first.report.created.length, BAD_CASES.length + 1, first.stdout);
    const before = new Map(numbers.map((number) => [number, readFileSync(harness.file(number), "utf8")]));

    harness.github.putPullRequests(
      { number: good, author: "author", sha: "e".repeat(40) },
      ...BAD_CASES.map((bad, index) => ({
        number: numbers[index],
        author: "author",
        sha: "f".repeat(40),
        body: bad.body?.replace("NUMBER", String(numbers[index])),
        branch: bad.branch,
      })),
    );
    const { code, report } = await harness.run();
    assert.equal(code, 0);
    assert.deepEqual(
      report.updated.map((entry) => entry.stack),
      [`pr-${good}`],
    );
    BAD_CASES.forEach((bad, index) => {
      const lines = report.errors.filter((error) => error.pullRequest === numbers[index]);
      assert.equal(lines.length, 1, `${bad.title}: ${JSON.stringify(lines)}`);
      assert.match(lines[0].message, /\(existing stack file left as is\)$/, bad.title);
      assert.match(lines[0].message.replace(/ \(existing stack file left as is\)$/, ""), bad.expect, bad.title);
      assert.doesNotMatch(lines[0].message, /\n/, bad.title);
      assert.equal(readFileSync(harness.file(numbers[index]), "utf8"), before.get(numbers[index]), bad.title);
    });
  });

  it("reports a fork prefix that makes a subdomain the schema rejects, for that PR only", async () => {
    harness.writeForks(`forks:\n  ${FORK}:\n    subDomainPrefix: app\n`);
    harness.github.putPullRequests({ number: 5000, author: "author", sha: "1".repeat(40) });
    const { code, report } = await harness.run();
    harness.writeForks("forks: {}\n");
    assert.equal(code, 0);
    const lines = report.errors.filter((error) => error.pullRequest === 5000);
    assert.equal(lines.length, 1);
    assert.match(lines[0].message, /^openedx-im:instance\.subDomain: must not start with "app"/);
    assert.equal(existsSync(harness.file(5000)), false);
  });

  it("refuses a deleted head repository with a reason instead of crashing", async () => {
    harness.github.putPullRequests({ number: 6000, author: "author", headRepository: null });
    const { code, report } = await harness.run();
    assert.equal(code, 0);
    assert.deepEqual(
      report.errors.filter((error) => error.pullRequest === 6000).map((error) => error.message),
      ["head repository is gone (deleted fork); nothing to build"],
    );
  });
});
