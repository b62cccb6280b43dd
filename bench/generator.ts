import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { runGenerateStacks } from "../stacks/generator/cli";
import type { SyncReport } from "../stacks/generator/report";
import { FakeGitHub } from "../test/support/fake-github";

/**
 * `npx tsx bench/generator.ts [PRS] [MEMBERS]`: a sync of 500 open pull requests
 * by 1,000 organization members against the local GitHub-shaped server, then a
 * repeated sync with nothing changed. Prints requests and wall time of each.
 */

const PULL_REQUESTS = Number(process.argv[2] ?? 500);
const MEMBERS = Number(process.argv[3] ?? 1000);
const TOKEN = "bench-token";
const ORG = "bench-org";
const FORK = "openedx/edx-platform";

async function main(): Promise<void> {
  const github = await FakeGitHub.start({ token: TOKEN, organization: ORG, fork: FORK });
  const root = mkdtempSync(path.join(tmpdir(), "bench-generator-"));
  const forksFile = path.join(root, "watched-forks.yaml");
  writeFileSync(forksFile, "forks: {}\n");
  try {
    const logins = Array.from({ length: MEMBERS }, (_, index) => `member-${index}`);
    github.setMembers(logins);
    for (let number = 1; number <= PULL_REQUESTS; number++)
      github.putPullRequests({
        number,
        // Every fifth pull request is by an outsider, so membership filtering is exercised too.
        author: number % 5 === 0 ? `outsider-${number}` : logins[(number * 7) % MEMBERS],
        body: `Change ${number}.\r\n\r\n**Settings**\r\n\`\`\`yaml\r\nEDXAPP_FEATURES:\r\n  FLAG_${number}: true\r\n\`\`\``,
      });

    const sync = async (label: string): Promise<SyncReport> => {
      let stdout = "";
      let stderr = "";
      const started = process.hrtime.bigint();
      const code = await runGenerateStacks(
        ["--out", path.join(root, "out"), "--json"],
        {
          GITHUB_ACCESS_TOKEN: TOKEN,
          WATCH_ORGANIZATION: ORG,
          WATCH_FORK: FORK,
          GITHUB_API_URL: github.url,
          SANDBOX_BASE_DOMAIN: "sandbox.example.com",
        },
        { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) },
        { watchedForksFile: forksFile },
      );
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) throw new Error(`${label} sync exited ${code}: ${stderr}`);
      const report = JSON.parse(stdout) as SyncReport;
      console.log(
        `${label.padEnd(8)} ${ms.toFixed(0).padStart(6)} ms  requests ${report.requests.total} ` +
          `(304: ${report.requests.notModified}, counted against the rate limit: ${report.requests.counted})  ` +
          `created ${report.created.length}, updated ${report.updated.length}, unchanged ${report.unchanged.length}, ` +
          `skipped ${report.skipped.length}, errors ${report.errors.length}`,
      );
      return report;
    };

    console.log(`${PULL_REQUESTS} open pull requests, ${MEMBERS} organization members`);
    console.log(`ceiling: ceil(${PULL_REQUESTS}/100) + ceil(${MEMBERS}/100) = ${Math.ceil(PULL_REQUESTS / 100) + Math.ceil(MEMBERS / 100)} requests`);
    await sync("first");
    await sync("repeated");
  } finally {
    await github.close();
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
