/**
 * What a sync did, for people (text) and for CI (`--json`). Every per-PR line
 * stands alone: the stack, the pull request and what happened or why not.
 */

export interface StackEntry {
  stack: string;
  pullRequest: number;
  file: string;
}

export interface ArchiveEntry extends StackEntry {
  closedAt: string | null;
  /** When the file goes (closedAt + grace period); null when the close time is unknown. */
  removeAfter: string | null;
  fileRemoved: boolean;
}

export interface SkipEntry {
  stack: string;
  pullRequest: number;
  reason: string;
}

export interface ErrorEntry {
  stack: string;
  pullRequest: number;
  /** One problem, naming the field or setting and the fix. */
  message: string;
}

export interface RequestSummary {
  /** HTTP requests sent, retries included. */
  total: number;
  /** Of those, answered 304 Not Modified (free against GitHub's rate limit). */
  notModified: number;
  /** total - notModified: what this sync cost against the rate limit. */
  counted: number;
}

export interface SyncReport {
  fork: string;
  organization: string;
  outDir: string;
  dryRun: boolean;
  created: StackEntry[];
  updated: StackEntry[];
  unchanged: StackEntry[];
  archived: ArchiveEntry[];
  skipped: SkipEntry[];
  errors: ErrorEntry[];
  /** Stacks whose pull request is closed: run `pulumi destroy --stack <name>` for each. */
  destroy: string[];
  requests: RequestSummary;
}

function column(word: string): string {
  return word.padEnd(10);
}

export function formatReport(report: SyncReport): string {
  const lines: string[] = [];
  const would = report.dryRun ? " (dry run: nothing written)" : "";
  for (const entry of report.created) lines.push(`${column("created")}${entry.stack}  ${entry.file}`);
  for (const entry of report.updated) lines.push(`${column("updated")}${entry.stack}  ${entry.file}`);
  for (const entry of report.errors) lines.push(`${column("error")}${entry.stack}  PR #${entry.pullRequest}: ${entry.message}`);
  for (const entry of report.skipped) lines.push(`${column("skipped")}${entry.stack}  PR #${entry.pullRequest}: ${entry.reason}`);
  for (const entry of report.archived) {
    const closed = entry.closedAt ? `closed ${entry.closedAt}` : "closed";
    const file = entry.fileRemoved
      ? `file removed (grace period over)`
      : `file kept until ${entry.removeAfter ?? "its close time is known"}`;
    lines.push(`${column("archive")}${entry.stack}  PR #${entry.pullRequest} ${closed}; ${file}`);
  }
  if (report.destroy.length > 0)
    lines.push(`to destroy: ${report.destroy.map((stack) => `pulumi destroy --stack ${stack}`).join("; ")}`);
  lines.push(
    `${report.fork} (members of ${report.organization}): ${report.created.length} created, ${report.updated.length} updated, ` +
      `${report.unchanged.length} unchanged, ${report.archived.length} archived, ${report.skipped.length} skipped, ` +
      `${report.errors.length} errors; ${report.requests.total} GitHub requests ` +
      `(${report.requests.notModified} answered 304, ${report.requests.counted} counted against the rate limit)${would}`,
  );
  return lines.join("\n");
}
