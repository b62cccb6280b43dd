import { checkMatrix } from "./matrix/check";
import { versionMatrix } from "./matrix/data";
import { cellKey, matrixFollowers } from "./matrix/followers";
import { resolveAll } from "./matrix/resolve";
import { STAGES } from "./matrix/types";
import { PROJECT_ROOT } from "./stack-file";

const USAGE = `usage: npm run matrix [-- --json] [-- --root DIR]
  (no option)  deployments × stages, and which stacks of DIR (default: this repository) follow each cell
  --json       every (deployment, stage) with every application resolved`;

/** `npm run matrix [-- --json] [--root DIR]`: deployments × stages and the stacks that follow them, or the whole matrix resolved. */
function main(argv: string[]): number {
  let root = PROJECT_ROOT;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--json") json = true;
    else if (argv[i] === "--root" && argv[i + 1] !== undefined) root = argv[++i];
    else {
      process.stderr.write(`${argv[i] === "--help" ? "" : `unknown argument ${argv[i]}\n`}${USAGE}\n`);
      return 2;
    }
  }
  // The one command that prints the matrix's notices (a release no deployment uses): the place releases are managed.
  const report = checkMatrix(versionMatrix);
  for (const error of report.errors) process.stderr.write(`error: ${error}\n`);
  for (const notice of report.notices) process.stderr.write(`notice: ${notice}\n`);
  if (report.errors.length > 0) return 1;

  if (json) {
    process.stdout.write(JSON.stringify(resolveAll(versionMatrix), null, 2) + "\n");
    return 0;
  }
  const rows = Object.entries(versionMatrix.deployments).map(([deployment, stages]) => [
    deployment,
    ...STAGES.map((stage) => {
      const release = stages[stage] ?? "-";
      return `${release} (${howBuilt(release)})`;
    }),
  ]);
  printTable([["deployment", ...STAGES], ...rows], true);
  process.stdout.write("\n");
  printTable([["release", "ref", "provisioner"], ...Object.entries(versionMatrix.releases).map(([name, release]) => [name, release.ref, howBuilt(name)])], true);

  const followers = matrixFollowers(root, versionMatrix);
  const cells = Object.entries(versionMatrix.deployments).flatMap(([deployment, stages]) =>
    STAGES.filter((stage) => followers.cells[cellKey(deployment, stage)]).map((stage) => [
      `${deployment} ${stage} (${stages[stage]})`,
      followers.cells[cellKey(deployment, stage)].join(", "),
    ]),
  );
  process.stdout.write("\nStacks that follow each cell (a change of the cell changes them):\n");
  if (cells.length) printTable(cells.map(([cell, stacks]) => [`  ${cell}`, stacks]));
  else process.stdout.write("  none\n");
  const production = Object.entries(followers.production).sort(([a], [b]) => a.localeCompare(b));
  if (production.length) {
    process.stdout.write(
      "\nProduction stacks of a deployment: each appserver pins its release and takes the deployment's repositories and branches for it;\n" +
        "a new release in a stage changes none of them (add an appserver with the new release):\n",
    );
    printTable(
      production.map(([deployment, stacks]) => [
        `  ${deployment}`,
        stacks.map((s) => `${s.stack} (${s.appServers.map((a) => `${a.id}: ${a.release}`).join(", ") || "no appserver"})`).join(", "),
      ]),
    );
  }
  if (followers.explicit.length)
    process.stdout.write(
      `\nStacks with a release of their own (no cell changes them): ${followers.explicit.map((e) => `${e.stack} (${e.releases.join(", ")})`).join(", ")}\n`,
    );
  for (const problem of followers.problems) process.stderr.write(`warning: ${problem} (left out)\n`);
  return 0;
}

function printTable(table: string[][], header = false): void {
  const widths = table[0].map((_, col) => Math.max(...table.map((row) => row[col].length)));
  for (const [i, row] of table.entries()) {
    process.stdout.write(row.map((cell, col) => cell.padEnd(widths[col])).join("  ").trimEnd() + "\n");
    if (header && i === 0) process.stdout.write(widths.map((w) => "-".repeat(w)).join("  ") + "\n");
  }
}

/** `ansible`, or `tutor 21.0.8` with the exact Tutor version the release installs. */
function howBuilt(release: string): string {
  const found = versionMatrix.releases[release];
  if (!found) return "?";
  return found.provisioner === "tutor" && found.tutor ? `tutor ${found.tutor.version}` : found.provisioner;
}

process.exitCode = main(process.argv.slice(2));
