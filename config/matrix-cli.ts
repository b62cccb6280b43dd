import { checkMatrix } from "./matrix/check";
import { versionMatrix } from "./matrix/data";
import { resolveAll } from "./matrix/resolve";
import { STAGES } from "./matrix/types";

/** `npm run matrix [-- --json]`: deployments × stages, or the whole matrix resolved. */
function main(argv: string[]): number {
  const report = checkMatrix(versionMatrix);
  for (const error of report.errors) process.stderr.write(`error: ${error}\n`);
  for (const notice of report.notices) process.stderr.write(`notice: ${notice}\n`);
  if (report.errors.length > 0) return 1;

  if (argv.includes("--json")) {
    process.stdout.write(JSON.stringify(resolveAll(versionMatrix), null, 2) + "\n");
    return 0;
  }
  const rows = Object.entries(versionMatrix.deployments).map(([deployment, stages]) => [
    deployment,
    ...STAGES.map((stage) => {
      const release = stages[stage] ?? "-";
      return `${release} (${versionMatrix.releases[release]?.provisioner ?? "?"})`;
    }),
  ]);
  const table = [["deployment", ...STAGES], ...rows];
  const widths = table[0].map((_, col) => Math.max(...table.map((row) => row[col].length)));
  for (const [i, row] of table.entries()) {
    process.stdout.write(row.map((cell, col) => cell.padEnd(widths[col])).join("  ").trimEnd() + "\n");
    if (i === 0) process.stdout.write(widths.map((w) => "-".repeat(w)).join("  ") + "\n");
  }
  return 0;
}

process.exitCode = main(process.argv.slice(2));
