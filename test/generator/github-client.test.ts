import { strict as assert } from "node:assert";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { CACHE_FILE_NAME } from "../../stacks/generator/conditional-cache";
import { GeneratorHarness, TOKEN } from "./harness";

/**
 * The GitHub side: request counts that grow with pages, not pull requests;
 * ETags so a repeated sync costs nothing against the rate limit; retries and
 * rate-limit waits through Octokit's plugins; and failures that end the run
 * non-zero with a clear message and nothing written.
 */

function members(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `member${index}`);
}

/** A port nothing listens on: bind, read the port, close. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("generate-stacks: GitHub requests, limits and failures", () => {
  let harness: GeneratorHarness;
  beforeEach(async () => {
    harness = await GeneratorHarness.start();
  });
  afterEach(async () => {
    await harness.close();
  });

  function putOpen(count: number, authors: string[]): void {
    for (let number = 1; number <= count; number++)
      harness.github.putPullRequests({ number, author: authors[number % authors.length] });
  }

  it("costs ceil(PRs/100) + ceil(members/100) requests, and a repeated sync is all 304s", async () => {
    const logins = members(250);
    harness.github.setMembers(logins);
    putOpen(230, logins);
    const first = await harness.run();
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.report.created.length, 230);
    assert.equal(first.report.requests.total, Math.ceil(230 / 100) + Math.ceil(250 / 100));
    assert.equal(first.report.requests.notModified, 0);

    const second = await harness.run();
    assert.equal(second.report.unchanged.length, 230);
    assert.deepEqual(second.report.requests, { total: 6, notModified: 6, counted: 0 });
    assert.ok(harness.github.requests.slice(-6).every((request) => request.status === 304 && request.ifNoneMatch));
  });

  it("a new pull request costs only the page it lands on", async () => {
    const logins = members(10);
    harness.github.setMembers(logins);
    putOpen(150, logins);
    await harness.run();
    harness.github.putPullRequests({ number: 151, author: logins[0] });
    const { report } = await harness.run();
    assert.deepEqual(
      report.created.map((entry) => entry.stack),
      ["pr-151"],
    );
    assert.deepEqual(report.requests, { total: 3, notModified: 2, counted: 1 });
  });

  it("ignores an unreadable cache file and makes full requests", async () => {
    harness.github.setMembers(["a"]);
    putOpen(1, ["a"]);
    await harness.run();
    const cachePath = `${harness.outDir}/${CACHE_FILE_NAME}`;
    assert.ok(existsSync(cachePath));
    writeFileSync(cachePath, "{not json");
    const { code, report, stderr } = await harness.run();
    assert.equal(code, 0);
    assert.equal(report.requests.notModified, 0);
    assert.match(stderr, /unreadable request cache, ignored/);
  });

  for (const status of [403, 429] as const)
    it(`waits out a primary rate limit answered ${status} and then succeeds`, async () => {
      harness.github.setMembers(["a"]);
      putOpen(1, ["a"]);
      harness.github.injectFault({ kind: "rate-limit", status, resetInSeconds: 1 }, 1, /\/pulls$/);
      const { code, report, stderr } = await harness.run();
      assert.equal(code, 0, stderr);
      assert.equal(report.created.length, 1);
      assert.match(stderr, /primary rate limit .* waiting \d+s before retrying/);
    });

  it("waits out a secondary rate limit (retry-after) and then succeeds", async () => {
    harness.github.setMembers(["a"]);
    putOpen(1, ["a"]);
    harness.github.injectFault({ kind: "secondary-rate-limit", status: 403, retryAfterSeconds: 2 }, 1, /\/members$/);
    const { code, stderr } = await harness.run();
    assert.equal(code, 0, stderr);
    assert.match(stderr, /secondary rate limit/);
  });

  it("retries 5xx answers and then succeeds", async () => {
    harness.github.setMembers(["a"]);
    putOpen(1, ["a"]);
    harness.github.injectFault({ kind: "server-error", status: 502 }, 2, /\/pulls$/);
    const { code, report } = await harness.run();
    assert.equal(code, 0);
    assert.equal(report.created.length, 1);
    assert.equal(harness.github.requests.filter((request) => request.status === 502).length, 2);
  });

  function assertNothingWritten(): void {
    const files = existsSync(harness.outDir) ? readdirSync(harness.outDir) : [];
    assert.deepEqual(files, []);
  }

  it("a rate limit that outlasts the retries exits 1 with a clear message and writes nothing", async () => {
    harness.github.setMembers(["a"]);
    putOpen(3, ["a"]);
    harness.github.injectFault({ kind: "rate-limit", status: 403, resetInSeconds: 1 }, 10, /\/pulls$/);
    const { code, stderr, report } = await harness.run();
    assert.equal(code, 1);
    assert.match(stderr, /GitHub rate limit still exceeded after retrying .*resets at .*; run again later; no stack file was written or removed/);
    assert.equal((report as unknown as { fatal: string }).fatal.split("\n").length, 1);
    assertNothingWritten();
  });

  it("a rate limit resetting later than the longest wait is not waited for", async () => {
    harness.github.setMembers(["a"]);
    putOpen(1, ["a"]);
    harness.github.injectFault({ kind: "rate-limit", status: 429, resetInSeconds: 3600 }, 1);
    const started = Date.now();
    const { code, stderr } = await harness.run();
    assert.equal(code, 1);
    assert.ok(Date.now() - started < 5000);
    assert.match(stderr, /rate limit still exceeded/);
    assertNothingWritten();
  });

  it("persistent 5xx exits 1 after the retries and writes nothing", async () => {
    harness.github.setMembers(["a"]);
    putOpen(1, ["a"]);
    harness.github.injectFault({ kind: "server-error", status: 503 }, 10);
    const { code, stderr } = await harness.run();
    assert.equal(code, 1);
    assert.match(stderr, /GitHub API failing \(503 Server Error\).*after retries/);
    assertNothingWritten();
  });

  it("a bad token exits 1 naming GITHUB_ACCESS_TOKEN, never printing the token, and writes nothing", async () => {
    harness.github.setMembers(["a"]);
    putOpen(1, ["a"]);
    const wrong = "ghp_wrong_token_value";
    const { code, stderr, stdout } = await harness.run({ env: { GITHUB_ACCESS_TOKEN: wrong } });
    assert.equal(code, 1);
    assert.match(stderr, /GitHub rejected GITHUB_ACCESS_TOKEN \(401 Bad credentials/);
    assert.ok(!stderr.includes(wrong) && !stdout.includes(wrong) && !stderr.includes(TOKEN));
    assertNothingWritten();
  });

  it("an unreachable API exits 1 naming GITHUB_API_URL and writes nothing", async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const { code, stderr } = await harness.run({ apiUrl: url });
    assert.equal(code, 1);
    assert.match(stderr, new RegExp(`GitHub API unreachable at ${url.replace(/\./g, "\\.")}: .*check GITHUB_API_URL`));
    assertNothingWritten();
  });

  it("a failure after some files exist leaves every existing file byte-identical", async () => {
    harness.github.setMembers(["a"]);
    putOpen(2, ["a"]);
    await harness.run();
    const before = readFileSync(harness.file(1), "utf8");
    harness.github.putPullRequests({ number: 1, author: "a", sha: "9".repeat(40) });
    harness.github.removePullRequest(2);
    harness.github.injectFault({ kind: "server-error", status: 500 }, 10, /state=closed|\/pulls\/2$/);
    const { code } = await harness.run({ now: new Date(Date.now() + 30 * 86400_000) });
    assert.equal(code, 1);
    assert.equal(readFileSync(harness.file(1), "utf8"), before);
    assert.ok(existsSync(harness.file(2)));
  });
});
