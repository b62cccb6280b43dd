import { strict as assert } from "node:assert";
import { existsSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { validateStackConfig } from "../../config/stack-config";
import { readProjectConfig } from "../../stacks/generator/stack-validation";
import { REAL_PULL_REQUEST_BODY } from "../support/fake-github";
import { BASE_DOMAIN, FORK, GeneratorHarness, ORG } from "./harness";

const SHA_A = "a".repeat(40);
const SHA_B = "b".repeat(40);
const DAY = 24 * 60 * 60 * 1000;

function instanceOf(file: string): Record<string, unknown> {
  const document = parse(readFileSync(file, "utf8")) as { config: Record<string, Record<string, unknown>> };
  return document.config["openedx-im:instance"];
}

describe("generate-stacks: sync against a GitHub-shaped server", () => {
  let harness: GeneratorHarness;

  beforeEach(async () => {
    harness = await GeneratorHarness.start();
    harness.github.setMembers(["smarnach", "itsjeyd", "Kelketek"]);
  });
  afterEach(async () => {
    await harness.close();
  });

  it("creates a stack file the stack-config schema accepts, from the real captured pull request", async () => {
    harness.github.putPullRequests({
      number: 8474,
      author: "smarnach",
      title: "Add feature flag to allow hiding the discussion tab for individual courses.",
      body: REAL_PULL_REQUEST_BODY,
      headRepository: "open-craft/edx-platform",
      branch: "smarnach/hide-discussion-tab",
      sha: "0e80f62c637a2e36deb740823714d6da34515694",
    });
    const { code, report } = await harness.run();
    assert.equal(code, 0);
    assert.deepEqual(
      report.created.map((entry) => entry.stack),
      ["pr-8474"],
    );
    const instance = instanceOf(harness.file(8474));
    assert.equal(
      instance.name,
      "PR#8474: Add feature flag to … (smarnach) - open-craft/edx-platform/smarnach/hide-discussion-tab (0e80f62)",
    );
    assert.equal(instance.subDomain, "pr8474");
    assert.equal(instance.baseDomain, BASE_DOMAIN);
    assert.equal(instance.lifecycle, "sandbox");
    assert.deepEqual(instance.edxPlatform, {
      repository: "https://github.com/open-craft/edx-platform.git",
      ref: "0e80f62c637a2e36deb740823714d6da34515694",
    });
    assert.equal(instance.databases, "ephemeral");
    assert.deepEqual(instance.extraSettings, {});
    // The pull request's Settings stay apart from the operator's, so the program never trusts them.
    assert.deepEqual(instance.pullRequestSettings, { EDXAPP_FEATURES: { ALLOW: true } });
    assert.deepEqual(instance.source, { pullRequest: 8474, repository: FORK, author: "smarnach" });
    const validated = validateStackConfig({
      ...readProjectConfig(path.resolve(__dirname, "../..")),
      ...(parse(readFileSync(harness.file(8474), "utf8")) as { config: Record<string, unknown> }).config,
    });
    assert.ok(validated.ok, validated.ok ? "" : validated.problems.join("\n"));
  });

  it("maps openedx_release, configuration_* and the persistence marker, with fork defaults underneath", async () => {
    harness.writeForks(`forks:
  ${FORK}:
    databases: ephemeral
    release: palm
    configuration: { repository: https://github.com/openedx/configuration.git, ref: open-release/palm.master, playbook: openedx_native.yml }
    extraSettings: { EDXAPP_FEATURES: { FROM_FORK: true, OVERRIDDEN: false }, FORK_ONLY: 1 }
`);
    const body = [
      "Adds reticulating splines.",
      "",
      `Test it here: pr7.${BASE_DOMAIN} (persistent databases)`,
      "",
      "**Settings**",
      "```yaml",
      "openedx_release: redwood",
      "configuration_version: my-config-branch",
      "EDXAPP_FEATURES:",
      "  OVERRIDDEN: true",
      "```",
    ].join("\r\n");
    harness.github.putPullRequests({ number: 7, author: "itsjeyd", body, sha: SHA_A });
    const { code } = await harness.run();
    assert.equal(code, 0);
    const instance = instanceOf(harness.file(7));
    assert.equal(instance.release, "redwood");
    assert.deepEqual(instance.configuration, {
      repository: "https://github.com/openedx/configuration.git",
      ref: "my-config-branch",
      playbook: "openedx_native.yml",
    });
    assert.equal(instance.databases, "persistent");
    assert.deepEqual(instance.extraSettings, { EDXAPP_FEATURES: { FROM_FORK: true, OVERRIDDEN: false }, FORK_ONLY: 1 });
    assert.deepEqual(instance.pullRequestSettings, { EDXAPP_FEATURES: { OVERRIDDEN: true } });
  });

  it("updates a file when the pull request moves, and leaves it byte-identical with mtime untouched when nothing changed", async () => {
    harness.github.putPullRequests({ number: 11, author: "itsjeyd", sha: SHA_A });
    assert.equal((await harness.run()).report.created.length, 1);
    // Whole seconds: utimes goes through floating-point seconds, which would blur milliseconds.
    const past = new Date(Math.floor(Date.now() / 1000 - 3600) * 1000);
    utimesSync(harness.file(11), past, past);
    const before = readFileSync(harness.file(11));

    const again = await harness.run();
    assert.deepEqual(
      again.report.unchanged.map((entry) => entry.stack),
      ["pr-11"],
    );
    assert.deepEqual(readFileSync(harness.file(11)), before);
    assert.equal(statSync(harness.file(11)).mtimeMs, past.getTime());

    harness.github.putPullRequests({ number: 11, author: "itsjeyd", sha: SHA_B });
    const moved = await harness.run();
    assert.deepEqual(
      moved.report.updated.map((entry) => entry.stack),
      ["pr-11"],
    );
    assert.deepEqual(instanceOf(harness.file(11)).edxPlatform, {
      repository: "https://github.com/itsjeyd/edx-platform.git",
      ref: SHA_B,
    });
    assert.deepEqual(
      readdirSync(harness.outDir).filter((name) => name.endsWith(".tmp")),
      [],
      "no temporary files left behind",
    );
  });

  it("skips a non-member's pull request with the reason, and writes nothing for it", async () => {
    harness.github.putPullRequests({ number: 20, author: "stranger", sha: SHA_A }, { number: 21, author: "KELKETEK", sha: SHA_B });
    const { code, report } = await harness.run();
    assert.equal(code, 0);
    assert.deepEqual(report.skipped, [
      { stack: "pr-20", pullRequest: 20, reason: `author stranger is not a member of ${ORG}` },
    ]);
    assert.equal(existsSync(harness.file(20)), false);
    assert.equal(existsSync(harness.file(21)), true, "logins compare case-insensitively");
  });

  it("reports a closed pull request for archiving, and removes its file only after the grace period", async () => {
    harness.github.putPullRequests({ number: 30, author: "itsjeyd", sha: SHA_A }, { number: 31, author: "itsjeyd", sha: SHA_B });
    await harness.run();
    const closedAt = new Date("2025-06-01T12:00:00Z");
    harness.github.putPullRequests({ number: 30, author: "itsjeyd", sha: SHA_A, state: "closed", closedAt: closedAt.toISOString() });

    const within = await harness.run({ now: new Date(closedAt.getTime() + 6 * DAY) });
    assert.equal(within.code, 0);
    assert.deepEqual(within.report.archived, [
      {
        stack: "pr-30",
        pullRequest: 30,
        file: "Pulumi.pr-30.yaml",
        closedAt: closedAt.toISOString(),
        removeAfter: new Date(closedAt.getTime() + 7 * DAY).toISOString(),
        fileRemoved: false,
      },
    ]);
    assert.deepEqual(within.report.destroy, ["pr-30"]);
    assert.equal(existsSync(harness.file(30)), true);

    const dryRun = await harness.run({ now: new Date(closedAt.getTime() + 8 * DAY), argv: ["--dry-run"] });
    assert.equal(dryRun.report.archived[0].fileRemoved, true);
    assert.equal(existsSync(harness.file(30)), true, "--dry-run removes nothing");

    const after = await harness.run({ now: new Date(closedAt.getTime() + 8 * DAY) });
    assert.equal(after.report.archived[0].fileRemoved, true);
    assert.deepEqual(after.report.destroy, ["pr-30"]);
    assert.equal(existsSync(harness.file(30)), false);
    assert.equal(existsSync(harness.file(31)), true);
  });

  it("honours --grace-days and finds a long-closed pull request beyond the recent pages with one request", async () => {
    harness.github.putPullRequests({ number: 40, author: "itsjeyd", sha: SHA_A });
    await harness.run();
    const closedAt = new Date("2025-01-01T00:00:00Z");
    harness.github.putPullRequests({ number: 40, author: "itsjeyd", sha: SHA_A, state: "closed", closedAt: closedAt.toISOString() });
    // 150 pull requests closed later, so #40 is not on the first page of recently updated ones.
    for (let n = 1000; n < 1150; n++)
      harness.github.putPullRequests({ number: n, author: "x", state: "closed", closedAt: new Date(closedAt.getTime() + (n - 999) * 60_000).toISOString() });
    harness.github.clearLog();
    const { report } = await harness.run({ now: new Date(closedAt.getTime() + 2 * DAY), argv: ["--grace-days", "1"] });
    assert.equal(report.archived[0].fileRemoved, true);
    const closedPages = harness.github.requests.filter((request) => request.path.includes("state=closed"));
    const single = harness.github.requests.filter((request) => request.path.startsWith(`/repos/${FORK}/pulls/40`));
    assert.equal(closedPages.length, 1, "stops paging once the pages are older than the grace period");
    assert.equal(single.length, 1);
    assert.equal(existsSync(harness.file(40)), false);
  });

  it("never touches files that are not Pulumi.pr-<N>.yaml", async () => {
    harness.github.putPullRequests({ number: 50, author: "itsjeyd", sha: SHA_A });
    await harness.run();
    for (const name of ["Pulumi.prod.yaml", "Pulumi.pr-abc.yaml", "Pulumi.pr-51.yml", "notes.txt"])
      writeFileSync(path.join(harness.outDir, name), "hand-written\n");
    const { report } = await harness.run({ now: new Date(Date.now() + 365 * DAY) });
    for (const name of ["Pulumi.prod.yaml", "Pulumi.pr-abc.yaml", "Pulumi.pr-51.yml", "notes.txt"])
      assert.equal(readFileSync(path.join(harness.outDir, name), "utf8"), "hand-written\n");
    assert.deepEqual(report.archived, []);
  });

  it("--dry-run reports creations but writes no file and no cache", async () => {
    harness.github.putPullRequests({ number: 60, author: "itsjeyd", sha: SHA_A });
    const { report } = await harness.run({ argv: ["--dry-run"] });
    assert.deepEqual(
      report.created.map((entry) => entry.stack),
      ["pr-60"],
    );
    assert.equal(existsSync(harness.outDir), false);
  });
});
