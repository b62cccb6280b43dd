import { execFile } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { RenderOutcome } from "../stacks/plan/diff";

/**
 * bench/plan-fleet: how rendering scales with the fleet.
 *
 *   npx tsx bench/plan-fleet.ts [--stacks N]   (default 100)
 *
 * Writes N generated sandbox stack files (the shape `npm run generate-stacks`
 * writes: one per pull request, varied releases, databases and settings) into a
 * temporary project root beside a copy of Pulumi.yaml, then times two runs of
 * stacks/plan/render-many.ts, each a fresh process as the diff starts them: one
 * stack, then all N. Goal: N = 100 takes at most 20 times one stack.
 */

const ROOT = path.resolve(__dirname, "..");
const RENDER_MANY = path.join(ROOT, "stacks", "plan", "render-many.ts");
const RELEASES = ["redwood", "quince", "redwood"];

function sandboxStackFile(n: number): string {
  const release = RELEASES[n % RELEASES.length];
  const persistent = n % 5 === 0;
  return [
    `# Generated for bench/plan-fleet: pull request #${n}.`,
    "config:",
    "  openedx-im:instance:",
    `    name: "PR#${n}: Bench change number ${n} (someone) - someone/edx-platform/branch-${n} (${n.toString(16).padStart(7, "0")})"`,
    `    subDomain: pr${n}`,
    "    baseDomain: sandbox.opencraft.example",
    "    lifecycle: sandbox",
    `    release: ${release}`,
    "    edxPlatform:",
    `      repository: https://github.com/someone/edx-platform.git`,
    `      ref: ${(n * 7919).toString(16).padStart(40, "a")}`,
    `    databases: ${persistent ? "persistent" : "ephemeral"}`,
    "    extraSettings:",
    `      EDXAPP_PLATFORM_NAME: "Sandbox ${n}"`,
    `      EDXAPP_FEATURES: { ENABLE_DISCUSSION_SERVICE: ${n % 2 === 0} }`,
    "    source:",
    `      pullRequest: ${n}`,
    "      repository: openedx/edx-platform",
    "      author: someone",
    "",
  ].join("\n");
}

interface Run {
  wallMs: number;
  renderMs: number[];
  outcomes: Record<string, RenderOutcome>;
}

function renderInOneProcess(root: string, stacks: string[]): Promise<Run> {
  const out = path.join(root, `plans-${stacks.length}.json`);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [require.resolve("tsx/cli"), RENDER_MANY, "--root", root, "--out", out, "--timings", ...stacks],
      { cwd: ROOT, maxBuffer: 256 * 1024 * 1024 },
      (error, _stdout, stderr) => {
        const wallMs = performance.now() - started;
        if (error) return reject(new Error(`render-many failed: ${stderr}`));
        const renderMs = [...String(stderr).matchAll(/rendered \S+ in (\d+) ms/g)].map((m) => Number(m[1]));
        resolve({ wallMs, renderMs, outcomes: JSON.parse(readFileSync(out, "utf8")) as Record<string, RenderOutcome> });
      },
    );
  });
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

async function main(argv: string[]): Promise<number> {
  const at = argv.indexOf("--stacks");
  const count = at >= 0 ? Number(argv[at + 1]) : 100;
  if (!Number.isInteger(count) || count < 1) {
    process.stderr.write("usage: npx tsx bench/plan-fleet.ts [--stacks N]\n");
    return 2;
  }
  const root = mkdtempSync(path.join(tmpdir(), "openedx-im-plan-fleet-"));
  try {
    copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(root, "Pulumi.yaml"));
    const stacks = Array.from({ length: count }, (_, i) => `pr-${1000 + i}`);
    stacks.forEach((stack, i) => writeFileSync(path.join(root, `Pulumi.${stack}.yaml`), sandboxStackFile(1000 + i)));

    const one = await renderInOneProcess(root, stacks.slice(0, 1));
    const fleet = await renderInOneProcess(root, stacks);

    const failed = Object.entries(fleet.outcomes).filter(([, o]) => !("resources" in o));
    for (const [stack, outcome] of failed.slice(0, 5)) process.stderr.write(`${stack}: ${JSON.stringify(outcome).slice(0, 300)}\n`);
    const resources = Object.values(fleet.outcomes).reduce((sum, o) => sum + ("resources" in o ? o.resources.length : 0), 0);
    const ratio = fleet.wallMs / one.wallMs;
    const startUp = fleet.wallMs - fleet.renderMs.reduce((a, b) => a + b, 0);
    process.stdout.write(
      [
        `1 stack: ${seconds(one.wallMs)} wall (one process: start-up + ${one.renderMs[0] ?? "?"} ms render)`,
        `${count} stacks: ${seconds(fleet.wallMs)} wall in one process (${resources} resources; start-up ${seconds(startUp)}, ` +
          `first render ${fleet.renderMs[0] ?? "?"} ms, median render ${median(fleet.renderMs.slice(1))} ms)`,
        `ratio ${ratio.toFixed(1)}x one stack (goal: at most 20x)${failed.length ? `; ${failed.length} stack(s) did not render` : ""}`,
      ].join("\n") + "\n",
    );
    return failed.length === 0 && ratio <= 20 ? 0 : 1;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
