import type { FleetRow } from "./inventory";
import type { DeployedState } from "./state";

/**
 * The listing as a terminal table, CSV (RFC 4180) or JSON. Names and titles come from
 * stack files, which the sandbox generator writes from pull-request titles: the table
 * strips control characters (no terminal escape sequences), and CSV cells that a
 * spreadsheet would evaluate as a formula are prefixed with a quote.
 */

export interface ListedRow extends FleetRow {
  /** Present with --state: what the backend says is deployed. */
  state?: DeployedState;
  /** Present with --state: where the stack file and the deployed state disagree. */
  drift?: string[];
}

export const COLUMNS: Array<{ header: string; cell: (row: ListedRow) => string; state?: true }> = [
  { header: "stack", cell: (r) => r.stack },
  { header: "name", cell: (r) => r.name ?? "" },
  { header: "lifecycle", cell: (r) => r.lifecycle ?? "" },
  { header: "deployment/stage", cell: (r) => (r.deployment ? `${r.deployment}/${r.stage ?? ""}` : "") },
  { header: "appservers", cell: (r) => r.appServers.map((a) => [a.id, a.release, a.provisioner].filter(Boolean).join(":")).join(" ") },
  { header: "active", cell: (r) => r.activeAppServer ?? "" },
  { header: "domains", cell: (r) => r.domains.join(" ") },
  { header: "database server", cell: (r) => (r.databases === "ephemeral" ? "on the VM" : (r.mysqlServer ?? "")) },
  { header: "data", cell: (r) => (r.data ? retention(r.data) : "") },
  { header: "deployed active", cell: (r) => (r.state ? (r.state.activeAppServer ?? "none") : ""), state: true },
  { header: "last update", cell: (r) => (r.state?.lastUpdate ? `${r.state.lastUpdate.endTime} ${r.state.lastUpdate.result}` : r.state?.error ? "unknown" : ""), state: true },
  { header: "drift", cell: (r) => (r.state?.error ? `state unreadable: ${r.state.error}` : (r.drift ?? []).join("; ")), state: true },
  { header: "problems", cell: (r) => r.problems.join("; ") },
];

function retention(data: { retainOnDelete: boolean; protect: boolean }): string {
  if (data.retainOnDelete && data.protect) return "retained, protected";
  if (data.retainOnDelete) return "retained";
  return data.protect ? "deleted (protected)" : "deleted";
}

const columnsFor = (withState: boolean) => COLUMNS.filter((c) => withState || !c.state);

/** Control characters (escape sequences among them) become spaces: a cell is shown, never interpreted. */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, " ");
}

export function toTable(rows: readonly ListedRow[], withState = false): string {
  const columns = columnsFor(withState);
  const cells = [columns.map((c) => c.header), ...rows.map((row) => columns.map((c) => printable(c.cell(row))))];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => [...line[i]].length)));
  return (
    cells
      .map((line) =>
        line
          .map((cell, i) => (i === line.length - 1 ? cell : cell + " ".repeat(widths[i] - [...cell].length)))
          .join("  ")
          .trimEnd(),
      )
      .join("\n") + "\n"
  );
}

/** One CSV field: quoted when it holds a comma, quote or line break; a leading = + - @ (or tab, CR) defused. */
export function csvField(value: string): string {
  const defused = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(defused) ? `"${defused.replaceAll('"', '""')}"` : defused;
}

/** RFC 4180: CRLF between records, a header record first. */
export function toCsv(rows: readonly ListedRow[], withState = false): string {
  const columns = columnsFor(withState);
  const records = [columns.map((c) => c.header), ...rows.map((row) => columns.map((c) => c.cell(row)))];
  return records.map((record) => record.map(csvField).join(",")).join("\r\n") + "\r\n";
}

export function toJson(rows: readonly ListedRow[]): string {
  return JSON.stringify(rows, null, 2) + "\n";
}
