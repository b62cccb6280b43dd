import { execFile } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { RenderOutcome } from "../stacks/plan/diff";

/**
 * bench/plan-fleet: how rendering scales with the fleet.
 *
 *   npx tsx bench/plan-fleet.ts [--stacks N] [--repeat R]   (default 100 stacks, 1 run)
 *
 * Writes N generated sandbox stack files (the shape `npm run generate-stacks`
 * writes: one per pull request, varied releases, databases and settings) into a
 * temporary project root beside a copy of Pulumi.yaml, then times two runs of
 * stacks/plan/render-many.ts, each a fresh process as the diff starts them: one
 * stack, then all N; R times each, reporting medians (the machine may be shared).
 * The figure that matters is the cost of each extra stack, (all N - one) / (N - 1):
 * goal at most 0.1 s.
 */

const ROOT = path.resolve(__dirname, "..");
const RENDER_MANY = path.join(ROOT, "stacks", "plan", "render-many.ts");
const CPU_ON_EXIT = path.join(__dirname, "cpu-on-exit.cjs");
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
  /** CPU time of every Node process of the run (tsx starts one under another). */
  cpuMs: number;
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
      { cwd: ROOT, maxBuffer: 256 * 1024 * 1024, env: { ...process.env, NODE_OPTIONS: `--require ${CPU_ON_EXIT}` } },
      (error, _stdout, stderr) => {
        const wallMs = performance.now() - started;
        if (error) return reject(new Error(`render-many failed: ${stderr}`));
        const renderMs = [...String(stderr).matchAll(/rendered \S+ in (\d+) ms/g)].map((m) => Number(m[1]));
        const cpuMs = [...String(stderr).matchAll(/^cpu-ms (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
        resolve({ wallMs, cpuMs, renderMs, outcomes: JSON.parse(readFileSync(out, "utf8")) as Record<string, RenderOutcome> });
      },
    );
  });
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

const GOAL_PER_EXTRA_STACK_MS = 100;

function numberOption(argv: string[], name: string, fallback: number): number {
  const at = argv.indexOf(name);
  return at >= 0 ? Number(argv[at + 1]) : fallback;
}

async function main(argv: string[]): Promise<number> {
  const count = numberOption(argv, "--stacks", 100);
  const repeat = numberOption(argv, "--repeat", 1);
  if (!Number.isInteger(count) || count < 2 || !Number.isInteger(repeat) || repeat < 1) {
    process.stderr.write("usage: npx tsx bench/plan-fleet.ts [--stacks N (at least 2)] [--repeat R]\n");
    return 2;
  }
  const root = mkdtempSync(path.join(tmpdir(), "openedx-im-plan-fleet-"));
  try {
    copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(root, "Pulumi.yaml"));
    const stacks = Array.from({ length: count }, (_, i) => `pr-${1000 + i}`);
    stacks.forEach((stack, i) => writeFileSync(path.join(root, `Pulumi.${stack}.yaml`), sandboxStackFile(1000 + i)));

    const ones: Run[] = [];
    const fleets: Run[] = [];
    for (let i = 0; i < repeat; i++) {
      ones.push(await renderInOneProcess(root, stacks.slice(0, 1)));
      fleets.push(await renderInOneProcess(root, stacks));
    }
    const fleet = fleets[fleets.length - 1];

    const failed = Object.entries(fleet.outcomes).filter(([, o]) => !("resources" in o));
    for (const [stack, outcome] of failed.slice(0, 5)) process.stderr.write(`${stack}: ${JSON.stringify(outcome).slice(0, 300)}\n`);
    const resources = Object.values(fleet.outcomes).reduce((sum, o) => sum + ("resources" in o ? o.resources.length : 0), 0);
    const oneMs = median(ones.map((r) => r.wallMs));
    const fleetMs = median(fleets.map((r) => r.wallMs));
    const perExtraMs = (fleetMs - oneMs) / (count - 1);
    const perExtraCpuMs = (median(fleets.map((r) => r.cpuMs)) - median(ones.map((r) => r.cpuMs))) / (count - 1);
    const startUp = fleetMs - median(fleets.map((r) => r.renderMs.reduce((a, b) => a + b, 0)));
    const runs = repeat > 1 ? ` (median of ${repeat} runs)` : "";
    process.stdout.write(
      [
        `1 stack: ${seconds(oneMs)} wall${runs} (one process: start-up + ${median(ones.map((r) => r.renderMs[0] ?? 0))} ms render)`,
        `${count} stacks: ${seconds(fleetMs)} wall${runs} in one process (${resources} resources; start-up ${seconds(startUp)}, ` +
          `first render ${fleet.renderMs[0] ?? "?"} ms, median render ${median(fleet.renderMs.slice(1))} ms)`,
        `per extra stack: ${(perExtraMs / 1000).toFixed(3)} s (goal: at most ${GOAL_PER_EXTRA_STACK_MS / 1000} s); ` +
          `ratio ${(fleetMs / oneMs).toFixed(1)}x one stack${failed.length ? `; ${failed.length} stack(s) did not render` : ""}`,
        `CPU time: 1 stack ${seconds(median(ones.map((r) => r.cpuMs)))}, ${count} stacks ${seconds(median(fleets.map((r) => r.cpuMs)))}; ` +
          `per extra stack ${(perExtraCpuMs / 1000).toFixed(3)} s (less sensitive to other load on the machine)`,
        ...(repeat > 1 ? [`runs (s): 1 stack ${ones.map((r) => (r.wallMs / 1000).toFixed(1)).join(" ")}; ${count} stacks ${fleets.map((r) => (r.wallMs / 1000).toFixed(1)).join(" ")}`] : []),
      ].join("\n") + "\n",
    );
    return failed.length === 0 && perExtraMs <= GOAL_PER_EXTRA_STACK_MS ? 0 : 1;
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
