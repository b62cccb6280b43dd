import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { runGenerateStacks } from "../../stacks/generator/cli";
import { parseArguments, readOptions, UsageError } from "../../stacks/generator/options";
import { BASE_DOMAIN, FORK, GeneratorHarness, ORG, TOKEN } from "./harness";

const REPOSITORY_ROOT = path.resolve(__dirname, "..", "..");

async function runWith(argv: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await runGenerateStacks(argv, env, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

describe("generate-stacks: command line", () => {
  it("parses --out, --dry-run, --json and --grace-days, in both --flag value and --flag=value forms", () => {
    assert.deepEqual(parseArguments(["--out", "x", "--dry-run", "--json", "--grace-days=3"]), {
      outDir: "x",
      dryRun: true,
      json: true,
      help: false,
      gracePeriodDays: 3,
    });
    assert.throws(() => parseArguments(["--bogus"]), /unknown argument "--bogus"/);
    assert.throws(() => parseArguments(["--out"]), /--out needs a value/);
    assert.throws(() => parseArguments(["--grace-days", "soon"]), /--grace-days: "soon" is not a number of days/);
  });

  it("lists every missing or malformed environment variable at once and exits 2", async () => {
    const { code, stderr, stdout } = await runWith([], { WATCH_FORK: "not-a-fork", SANDBOX_BASE_DOMAIN: "Bad Domain" });
    assert.equal(code, 2);
    assert.equal(stdout, "");
    for (const expected of [
      /GITHUB_ACCESS_TOKEN is not set/,
      /WATCH_ORGANIZATION is not set/,
      /WATCH_FORK "not-a-fork" must be owner\/repo/,
      /SANDBOX_BASE_DOMAIN "bad domain" is not a domain name/,
    ])
      assert.match(stderr, expected);
  });

  it("defaults: fork openedx/edx-platform, api.github.com, the repository root, 7 days (or SANDBOX_CLOSED_GRACE_DAYS)", () => {
    const env = { GITHUB_ACCESS_TOKEN: "t", WATCH_ORGANIZATION: "org", SANDBOX_BASE_DOMAIN: "sandbox.example.com" };
    const options = readOptions(parseArguments([]), env);
    assert.deepEqual(options.fork, { owner: "openedx", repo: "edx-platform" });
    assert.equal(options.apiBaseUrl, "https://api.github.com");
    assert.equal(options.outDir, REPOSITORY_ROOT);
    assert.equal(options.gracePeriodDays, 7);
    assert.equal(readOptions(parseArguments([]), { ...env, SANDBOX_CLOSED_GRACE_DAYS: "2" }).gracePeriodDays, 2);
    assert.throws(() => readOptions(parseArguments([]), { ...env, SANDBOX_CLOSED_GRACE_DAYS: "x" }), UsageError);
  });

  it("an invalid config/watched-forks.yaml exits 2 naming the key, before any request", async () => {
    const harness = await GeneratorHarness.start();
    try {
      harness.writeForks(`forks:\n  ${FORK}:\n    databases: sometimes\n    extraSettings: { EDXAPP_MYSQL_PASSWORD: x }\n`);
      const { code, stderr } = await harness.run();
      assert.equal(code, 2);
      assert.match(stderr, new RegExp(`forks\\.${FORK.replace("/", "\\/")}\\.databases: must be ephemeral or persistent`));
      assert.match(stderr, /extraSettings\.EDXAPP_MYSQL_PASSWORD: may not be a fork default: secrets/);
      assert.equal(harness.github.requests.length, 0);
    } finally {
      await harness.close();
    }
  });

  it("the npm script entry runs end to end and prints the text report", async () => {
    const harness = await GeneratorHarness.start();
    try {
      harness.github.setMembers(["alice"]);
      harness.github.putPullRequests({ number: 1, author: "alice" }, { number: 2, author: "mallory" });
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ["--import", "tsx", path.join(REPOSITORY_ROOT, "stacks", "generate-stacks.ts"), "--out", harness.outDir],
        {
          cwd: REPOSITORY_ROOT,
          env: {
            PATH: process.env.PATH,
            GITHUB_ACCESS_TOKEN: TOKEN,
            WATCH_ORGANIZATION: ORG,
            WATCH_FORK: FORK,
            GITHUB_API_URL: harness.github.url,
            SANDBOX_BASE_DOMAIN: BASE_DOMAIN,
          },
        },
      );
      assert.match(stdout, /^created {3}pr-1 {2}Pulumi\.pr-1\.yaml$/m);
      assert.match(stdout, new RegExp(`^skipped {3}pr-2 {2}PR #2: author mallory is not a member of ${ORG}$`, "m"));
      assert.match(stdout, /1 created, 0 updated, 0 unchanged, 0 archived, 1 skipped, 0 errors; 2 GitHub requests/);
      assert.ok(existsSync(harness.file(1)));
    } finally {
      await harness.close();
    }
  });
});
