/**
 * What the provisioning wrapper hands to Ansible as extra variables: every value
 * as data, except the ones the operator wrote (trusted paths), and never a
 * variable that moves the run elsewhere. Pure functions; see docs/provisioning.md.
 */

/** A path of mapping keys from the top of the variables, e.g. `["EDXAPP_FEATURES", "ENABLE_X"]`. */
export type VariablePath = readonly string[];

/**
 * Ansible's special variables other than `ansible_*`: set as extra variables
 * they would override what Ansible itself computes (the host a task runs on,
 * `omit`, the inventory), so a request may not set them.
 */
export const RESERVED_VARIABLE_NAMES: ReadonlySet<string> = new Set([
  "group_names",
  "groups",
  "hostvars",
  "inventory_dir",
  "inventory_file",
  "inventory_hostname",
  "inventory_hostname_short",
  "omit",
  "play_hosts",
  "playbook_dir",
  "role_name",
  "role_names",
  "role_path",
]);

/**
 * `ansible_*` variables a request may set. Empty on purpose: the wrapper sets
 * every connection setting itself (host, user, port, key, host key), and the
 * others (interpreter, become, ...) belong to the configuration repository,
 * which is operator code, not to per-instance data.
 */
export const ALLOWED_ANSIBLE_VARIABLES: ReadonlySet<string> = new Set();

/** The keys Ansible's JSON decoder reads as markers rather than data (ansible/parsing/ajson.py). */
const DECODER_MARKERS = new Set(["__ansible_unsafe", "__ansible_vault"]);

/** Jinja's opening delimiters: a key holding one would be a template if some Ansible ever rendered keys. */
const JINJA_OPENING = /\{\{|\{%|\{#/;

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Every reason to refuse these variables, one line each naming the variable or
 * key path (never the value, which may be a secret). Empty when they may go to Ansible.
 */
export function variableProblems(variables: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const name of Object.keys(variables)) {
    if (!VARIABLE_NAME.test(name)) {
      problems.push(`variables: ${JSON.stringify(name)} is not an Ansible variable name (letters, digits and _, not starting with a digit)`);
      continue;
    }
    if (/^ansible_/i.test(name) && !ALLOWED_ANSIBLE_VARIABLES.has(name))
      problems.push(
        `variables: ${name} is refused: ansible_* variables would change where or how the playbook runs; the wrapper sets the connection itself (set playbook options in the configuration repository)`,
      );
    else if (RESERVED_VARIABLE_NAMES.has(name))
      problems.push(`variables: ${name} is refused: it is one of Ansible's special variables, which the run must not override`);
  }
  const visit = (value: unknown, path: string[]) => {
    if (Array.isArray(value)) value.forEach((item, index) => visit(item, [...path, String(index)]));
    else if (isMapping(value))
      for (const [key, item] of Object.entries(value)) {
        const where = [...path, key].map((part) => JSON.stringify(part)).join(" → ");
        if (DECODER_MARKERS.has(key)) problems.push(`variables: the key ${where} is refused: Ansible reads ${key} as a marker, not as data`);
        else if (JINJA_OPENING.test(key) || key.startsWith("#jinja2:"))
          problems.push(`variables: the key ${where} is refused: a key may not carry template syntax ({{, {%, {#)`);
        visit(item, [...path, key]);
      }
  };
  visit(variables, []);
  return problems;
}

/**
 * The extra-variables document for Ansible: every string, at any depth and in
 * lists too, becomes `{"__ansible_unsafe": "..."}` (Ansible's JSON decoder turns
 * it into a value that is never templated), except strings at or under a trusted
 * path, which stay templates as the operator wrote them. Numbers, booleans and
 * null carry no template and stay as they are.
 */
export function markUntrusted(variables: Record<string, unknown>, trustedPaths: readonly VariablePath[] = []): Record<string, unknown> {
  // `remaining` holds the rest of every trusted path that still matches the keys walked so far.
  const walk = (value: unknown, remaining: readonly VariablePath[]): unknown => {
    if (remaining.some((path) => path.length === 0)) return value;
    if (typeof value === "string") return { __ansible_unsafe: value };
    // Trusted paths name mapping keys only: inside a list, nothing further can match.
    if (Array.isArray(value)) return value.map((item) => walk(item, []));
    if (isMapping(value)) {
      // fromEntries defines own properties: a key such as "__proto__" stays data.
      return Object.fromEntries(
        Object.entries(value).map(([key, item]) => [
          key,
          walk(
            item,
            remaining.filter((path) => path[0] === key).map((path) => path.slice(1)),
          ),
        ]),
      );
    }
    return value;
  };
  return walk(variables, trustedPaths) as Record<string, unknown>;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
