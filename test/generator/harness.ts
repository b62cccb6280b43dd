import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { runGenerateStacks } from "../../stacks/generator/cli";
import type { SyncReport } from "../../stacks/generator/report";
import { FakeGitHub } from "../support/fake-github";

/** One generator run against a FakeGitHub, as the CLI does it, with fast retry timing. */

export const TOKEN = "ghp_test_token_never_printed";
export const ORG = "open-craft";
export const FORK = "openedx/edx-platform";
export const BASE_DOMAIN = "sandbox.example.com";

export const FAST_CLIENT = {
  retries: 2,
  retryUnitMs: 1,
  rateLimitRetries: 2,
  maxRateLimitWaitSeconds: 5,
  rateLimitSecondMs: 1,
  requestTimeoutMs: 5000,
};

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  report: SyncReport;
}

export class GeneratorHarness {
  readonly outDir: string;
  readonly forksFile: string;
  private readonly root: string;

  private constructor(readonly github: FakeGitHub) {
    this.root = mkdtempSync(path.join(tmpdir(), "generate-stacks-"));
    this.outDir = path.join(this.root, "out");
    this.forksFile = path.join(this.root, "watched-forks.yaml");
    this.writeForks("forks: {}\n");
  }

  static async start(): Promise<GeneratorHarness> {
    return new GeneratorHarness(await FakeGitHub.start({ token: TOKEN, organization: ORG, fork: FORK }));
  }

  writeForks(text: string): void {
    writeFileSync(this.forksFile, text);
  }

  file(number: number): string {
    return path.join(this.outDir, `Pulumi.pr-${number}.yaml`);
  }

  async run(
    options: { argv?: string[]; env?: Record<string, string>; now?: Date; apiUrl?: string; client?: Partial<typeof FAST_CLIENT> } = {},
  ): Promise<RunResult> {
    let stdout = "";
    let stderr = "";
    const code = await runGenerateStacks(
      ["--out", this.outDir, "--json", ...(options.argv ?? [])],
      {
        GITHUB_ACCESS_TOKEN: TOKEN,
        WATCH_ORGANIZATION: ORG,
        WATCH_FORK: FORK,
        GITHUB_API_URL: options.apiUrl ?? this.github.url,
        SANDBOX_BASE_DOMAIN: BASE_DOMAIN,
        ...options.env,
      },
      { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) },
      { now: options.now ?? new Date(), watchedForksFile: this.forksFile, client: { ...FAST_CLIENT, ...options.client } },
    );
    const parsed = stdout.trim() ? (JSON.parse(stdout) as SyncReport) : ({} as SyncReport);
    return { code, stdout, stderr, report: parsed };
  }

  async close(): Promise<void> {
    await this.github.close();
    rmSync(this.root, { recursive: true, force: true });
  }
}
