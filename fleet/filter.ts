import type { FleetRow } from "./inventory";

/**
 * Fleet filters: which stacks a command acts on.
 *
 *   lifecycle=production,deployment=mitx,release=red*
 *   name=pr-*,release!=redwood
 *   stage=QA|Production
 *
 * A filter is terms joined by `,`; a stack matches when every term matches (AND).
 * A term is `<key>=<patterns>` or `<key>!=<patterns>`; patterns are joined by `|`
 * (OR) and may use the globs `*` (any run of characters) and `?` (one character).
 * Matching is case-sensitive and covers the whole value. A key with several values
 * (domain, release, provisioner) matches when any value matches; `!=` when none does.
 * A key the stack has no value for (a sandbox's activeappserver, an invalid stack's
 * release) has the value `none`. The syntax is parsed strictly: an unknown key, an
 * empty pattern or a stray character is an error naming the term.
 */

export const FILTER_KEYS = {
  name: "the stack name (Pulumi.<name>.yaml)",
  lifecycle: "sandbox or production",
  deployment: "the instance's deployment (version matrix)",
  stage: "the instance's stage (CI, QA, Production)",
  release: "the release of any appserver",
  active: "the release of the active appserver",
  provisioner: "ansible or tutor, of any appserver",
  activeappserver: "the id of the active appserver",
  domain: "any of the instance's domain names",
  mysql: "the MySQL server (pinned or chosen by hashing), none for ephemeral databases",
  data: "retained (kept on destroy) or deleted",
  status: "ok, or invalid when the stack file has problems",
} as const;

export type FilterKey = keyof typeof FILTER_KEYS;

export interface FilterTerm {
  key: FilterKey;
  negated: boolean;
  patterns: string[];
  /** The term as written, for messages. */
  text: string;
}

export class FilterSyntaxError extends Error {}

const PATTERN = /^[A-Za-z0-9._*?:/@-]+$/;

export function parseFilter(expression: string): FilterTerm[] {
  if (expression.trim() === "") throw new FilterSyntaxError(`empty filter; write terms such as lifecycle=production,release=redwood`);
  return expression.split(",").map((raw) => {
    const text = raw.trim();
    if (text === "") throw new FilterSyntaxError(`empty term in "${expression}" (two commas, or a trailing comma)`);
    const match = /^([a-z]+)\s*(!=|=)\s*(.*)$/.exec(text);
    if (!match) throw new FilterSyntaxError(`term "${text}": expected <key>=<pattern> or <key>!=<pattern> (keys: ${Object.keys(FILTER_KEYS).join(", ")})`);
    const [, key, operator, rest] = match;
    if (!Object.hasOwn(FILTER_KEYS, key))
      throw new FilterSyntaxError(`term "${text}": unknown key "${key}" (keys: ${Object.keys(FILTER_KEYS).join(", ")})`);
    const patterns = rest.split("|").map((p) => p.trim());
    for (const pattern of patterns) {
      if (pattern === "") throw new FilterSyntaxError(`term "${text}": empty pattern (write a value, or * for any)`);
      if (!PATTERN.test(pattern))
        throw new FilterSyntaxError(`term "${text}": "${pattern}" may hold only letters, digits, . _ : / @ - and the globs * ?`);
    }
    return { key: key as FilterKey, negated: operator === "!=", patterns, text };
  });
}

/** The values a row has for a key; `none` when it has none. */
export function rowValues(row: FleetRow, key: FilterKey): string[] {
  const values = ((): Array<string | undefined> => {
    switch (key) {
      case "name":
        return [row.stack];
      case "lifecycle":
        return [row.lifecycle];
      case "deployment":
        return [row.deployment];
      case "stage":
        return [row.stage];
      case "release":
        return row.appServers.map((a) => a.release);
      case "active":
        return [row.appServers.find((a) => a.id === row.activeAppServer)?.release];
      case "provisioner":
        return row.appServers.map((a) => a.provisioner);
      case "activeappserver":
        return [row.activeAppServer];
      case "domain":
        return row.domains;
      case "mysql":
        return [row.mysqlServer];
      case "data":
        return [row.data === undefined ? undefined : row.data.retainOnDelete ? "retained" : "deleted"];
      case "status":
        return [row.problems.length ? "invalid" : "ok"];
    }
  })().filter((v): v is string => v !== undefined && v !== "");
  return values.length ? values : ["none"];
}

export function matchesTerm(row: FleetRow, term: FilterTerm): boolean {
  const values = rowValues(row, term.key);
  const any = values.some((value) => term.patterns.some((pattern) => globMatch(pattern, value)));
  return term.negated ? !any : any;
}

export function matchesFilter(row: FleetRow, terms: readonly FilterTerm[]): boolean {
  return terms.every((term) => matchesTerm(row, term));
}

/** Rows the filter selects, minus those the exclusion selects. */
export function selectRows(rows: readonly FleetRow[], filter?: readonly FilterTerm[], exclude?: readonly FilterTerm[]): FleetRow[] {
  return rows.filter((row) => (filter ? matchesFilter(row, filter) : true) && !(exclude && matchesFilter(row, exclude)));
}

export function globMatch(pattern: string, value: string): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\/]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${source}$`, "s").test(value);
}
