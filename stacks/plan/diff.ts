import { isPlainObject, own } from "../../config/json";
import { stackOfFile } from "../../config/stack-file";
import { appServerReference, stackAlerts } from "./diff-alerts";
import { inlineCode } from "./diff-markdown";
import type { Plan, PlanResource } from "./render";

/**
 * What a change to this repository does to each stack, computed from two offline
 * plans (base and head) of the same stack. Pure: no git, no files, no SDK. The
 * classification mirrors what `pulumi preview` would say, as far as a plan without
 * the providers can know it: an input change replaces a resource when the plan
 * asks for it (`replaceOnChanges`) or when the provider has no update for that
 * input (the table below); a resource whose URN changed is a replacement too.
 */

export type ChangeKind = "create" | "delete" | "replace" | "update" | "same";

export interface InputChange {
  /** `userData`, `metadata.release`, `rules[2].port`; option changes are `options.<name>`. */
  path: string;
  before?: unknown;
  after?: unknown;
  /** This change alone makes the provider replace the resource. */
  replaces: boolean;
}

export interface ResourceDiff {
  urn: string;
  type: string;
  name: string;
  change: ChangeKind;
  changes: InputChange[];
  /** Why a replacement or a warning: "replaces on userData", "URN changed (parent)". */
  reasons: string[];
  /** For a replacement whose URN changed: the URN it replaces. */
  previousUrn?: string;
  /** On delete: what the engine does with it (kept in the cloud, refused). */
  retainOnDelete?: boolean;
  protect?: boolean;
}

/** What rendering one stack gave: the plan, invalid config, or a failure. */
export type RenderOutcome = Plan | { problems: string[] } | { error: string };

export const isPlan = (outcome: RenderOutcome | undefined): outcome is Plan =>
  outcome !== undefined && "resources" in outcome;

export type StackStatus =
  | "changed"
  | "unchanged"
  /** Stack file new at head: everything is created. */
  | "added"
  /** Stack file gone at head: a destroy would delete everything (the deploy workflow destroys sandboxes). */
  | "removed"
  /** Head config is invalid: nothing can be deployed until it is fixed. */
  | "invalid"
  /** Head did not render (the program threw). */
  | "failed"
  /** Head renders but base did not: no comparison possible. */
  | "no-base";

export interface ChangeCounts {
  create: number;
  update: number;
  replace: number;
  delete: number;
  same: number;
}

export interface StackDiff {
  stack: string;
  status: StackStatus;
  counts: ChangeCounts;
  /** Every resource of either side, sorted by URN; `same` ones included. */
  resources: ResourceDiff[];
  outputs: InputChange[];
  artifacts: InputChange[];
  /** Invalid config or render errors, per side. */
  problems: { base?: string[]; head?: string[] };
  /** ⚠ shown at the top of the comment: data that would move or be lost, a live site taken off its appserver. */
  alerts: string[];
  /** Shown at the top of the stack's details: what the change means for production appservers. */
  notes: string[];
}

/**
 * Inputs the provider cannot update in place, per resource type: changing one
 * replaces the resource. From the providers' schemas (ForceNew) and
 * ../../../shared/PITFALLS.md; "*" means every input.
 */
export const REPLACED_ON_CHANGE: Readonly<Record<string, readonly string[] | "*">> = {
  "openstack:compute/instance:Instance": [
    "userData",
    "keyPair",
    "network",
    "networks",
    "networkMode",
    "availabilityZone",
    "availabilityZoneHints",
    "configDrive",
    "blockDevices",
    "personalities",
    "schedulerHints",
    "region",
  ],
  "openstack:compute/keypair:Keypair": "*",
  "openstack:networking/secGroup:SecGroup": ["region", "tenantId", "deleteDefaultRules"],
  "openstack:networking/secGroupRule:SecGroupRule": "*",
  "mysql:index/grant:Grant": "*",
  "mysql:index/user:User": ["user", "host", "authPlugin"],
  "mysql:index/database:Database": ["name"],
  "gandi:livedns/record:Record": ["zone", "name", "type"],
  "command:local:Command": ["triggers"],
  "command:remote:Command": ["triggers"],
  "rabbitmq:index/vHost:VHost": ["name"],
  "rabbitmq:index/user:User": ["name"],
  "rabbitmq:index/permissions:Permissions": ["user", "vhost"],
  "mongodbatlas:index/databaseUser:DatabaseUser": ["projectId", "username", "authDatabaseName"],
  "random:index/randomPassword:RandomPassword": "*",
  "random:index/randomString:RandomString": "*",
  "random:index/randomBytes:RandomBytes": "*",
  "random:index/randomId:RandomId": "*",
  "tls:index/privateKey:PrivateKey": "*",
};

/**
 * Inputs whose in-place update does something a reviewer must know about: the
 * OpenStack provider rebuilds a VM on an image change (its disk is wiped) while
 * the preview says "update" — unless the program asks for replaceOnChanges.
 */
const DANGEROUS_UPDATES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  "openstack:compute/instance:Instance": {
    imageName: "rebuilds the VM in place and wipes its disk (add replaceOnChanges)",
    imageId: "rebuilds the VM in place and wipes its disk (add replaceOnChanges)",
  },
};

/** Resource options compared besides the inputs; `dependsOn` only orders, so it is left out. */
const COMPARED_OPTIONS = [
  "parent",
  "protect",
  "retainOnDelete",
  "deleteBeforeReplace",
  "importId",
  "replaceOnChanges",
  "ignoreChanges",
  "provider",
] as const;

export function emptyCounts(): ChangeCounts {
  return { create: 0, update: 0, replace: 0, delete: 0, same: 0 };
}

/** The top-level input a path belongs to: `metadata` for `metadata.release`, `rules` for `rules[2].port`. */
export function topLevelKey(path: string): string {
  const match = /^[^.[]+/.exec(path);
  return match ? match[0] : path;
}

/**
 * Paths (dot and index notation) where two JSON values differ; whole arrays when
 * their lengths differ. With `pairRenamed`, a mapping that lost one object-valued
 * key and gained another (a new appserver id in the artifacts) is compared as one
 * entry, `appservers.{old→new}.ansibleVars.X`, so the settings that changed show.
 */
export function changedPaths(before: unknown, after: unknown, prefix = "", pairRenamed = false): InputChange[] {
  if (deepEqual(before, after)) return [];
  const join = (key: string) => (prefix ? `${prefix}.${key}` : key);
  if (isPlainObject(before) && isPlainObject(after)) {
    const removed = Object.keys(before).filter((k) => !Object.hasOwn(after, k));
    const added = Object.keys(after).filter((k) => !Object.hasOwn(before, k));
    const renamed =
      pairRenamed && removed.length === 1 && added.length === 1 && isPlainObject(before[removed[0]]) && isPlainObject(after[added[0]]);
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])]
      .filter((k) => !renamed || (k !== removed[0] && k !== added[0]))
      .sort();
    const changes = keys.flatMap((key) => changedPaths(own(before, key), own(after, key), join(key), pairRenamed));
    if (renamed)
      changes.push(...changedPaths(before[removed[0]], after[added[0]], join(`{${removed[0]}→${added[0]}}`), pairRenamed));
    return changes;
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length)
    return before.flatMap((item, index) => changedPaths(item, after[index], `${prefix}[${index}]`, pairRenamed));
  const change: InputChange = { path: prefix, replaces: false };
  if (before !== undefined) change.before = before;
  if (after !== undefined) change.after = after;
  return [change];
}

function replacesOn(resource: PlanResource): { all: boolean; keys: Set<string> } {
  const known = REPLACED_ON_CHANGE[resource.type];
  const own = resource.replaceOnChanges ?? [];
  const all = known === "*" || own.includes("*");
  const keys = new Set<string>([...(known === "*" || !known ? [] : known), ...own.map(topLevelKey)]);
  return { all, keys };
}

/** Base and head of one resource with the same URN. */
function compareResource(base: PlanResource, head: PlanResource): ResourceDiff {
  const { all, keys } = replacesOn(head);
  const inputChanges = changedPaths(base.inputs, head.inputs).map((change) => ({
    ...change,
    replaces: all || keys.has(topLevelKey(change.path)),
  }));
  const optionChanges: InputChange[] = [];
  for (const option of COMPARED_OPTIONS) {
    const before = base[option];
    const after = head[option];
    // Another provider instance (another server) is not an update: the engine replaces the resource (PITFALLS.md).
    if (!deepEqual(before ?? defaultOption(option), after ?? defaultOption(option)))
      optionChanges.push({ path: `options.${option}`, before, after, replaces: option === "provider" });
  }
  if (head.replacementTrigger !== undefined && !deepEqual(base.replacementTrigger, head.replacementTrigger))
    optionChanges.push({ path: "options.replacementTrigger", before: base.replacementTrigger, after: head.replacementTrigger, replaces: true });
  const changes = [...inputChanges, ...optionChanges];
  const reasons: string[] = [];
  const replacing = [...new Set(changes.filter((c) => c.replaces).map((c) => topLevelKey(c.path)))];
  if (replacing.length > 0) reasons.push(`replaces on ${replacing.join(", ")}`);
  const dangerous = DANGEROUS_UPDATES[head.type] ?? {};
  for (const key of new Set(inputChanges.filter((c) => !c.replaces).map((c) => topLevelKey(c.path))))
    if (dangerous[key]) reasons.push(`${key}: ${dangerous[key]}`);
  const change: ChangeKind = replacing.length > 0 ? "replace" : changes.length > 0 ? "update" : "same";
  return { urn: head.urn, type: head.type, name: head.name, change, changes, reasons };
}

function defaultOption(option: (typeof COMPARED_OPTIONS)[number]): unknown {
  switch (option) {
    case "protect":
    case "retainOnDelete":
    case "deleteBeforeReplace":
      return false;
    case "replaceOnChanges":
    case "ignoreChanges":
      return [];
    default:
      return null;
  }
}

/**
 * Resources that left under one URN and came back under another: the engine
 * deletes and creates them (a replacement) unless the program gives an alias.
 * Paired only when the match is unambiguous: same name and type under a new
 * parent; same name and parent with a new type; or same type and parent with the
 * same physical `name` input under a new logical name.
 */
function pairMoved(deleted: PlanResource[], created: PlanResource[]): Array<[PlanResource, PlanResource, string]> {
  const pairs: Array<[PlanResource, PlanResource, string]> = [];
  const usedDeleted = new Set<PlanResource>();
  const usedCreated = new Set<PlanResource>();
  const rules: Array<[string, (d: PlanResource, c: PlanResource) => boolean]> = [
    ["URN changed: new parent", (d, c) => d.name === c.name && d.type === c.type],
    ["URN changed: new type", (d, c) => d.name === c.name && d.parent === c.parent],
    [
      "URN changed: new logical name",
      (d, c) =>
        d.type === c.type &&
        d.parent === c.parent &&
        typeof d.inputs.name === "string" &&
        d.inputs.name !== "" &&
        d.inputs.name === c.inputs.name,
    ],
  ];
  for (const [reason, matches] of rules) {
    for (const d of deleted) {
      if (usedDeleted.has(d)) continue;
      const candidates = created.filter((c) => !usedCreated.has(c) && matches(d, c));
      if (candidates.length !== 1) continue;
      const c = candidates[0];
      const rivals = deleted.filter((other) => !usedDeleted.has(other) && matches(other, c));
      if (rivals.length !== 1) continue;
      usedDeleted.add(d);
      usedCreated.add(c);
      pairs.push([d, c, reason]);
    }
  }
  return pairs;
}

/** Every resource of either plan, classified. A missing plan is an empty stack. */
export function diffResources(base: Plan | undefined, head: Plan | undefined): ResourceDiff[] {
  const baseByUrn = new Map((base?.resources ?? []).map((r) => [r.urn, r]));
  const headByUrn = new Map((head?.resources ?? []).map((r) => [r.urn, r]));
  const diffs: ResourceDiff[] = [];
  const deleted = [...baseByUrn.values()].filter((r) => !headByUrn.has(r.urn));
  const created = [...headByUrn.values()].filter((r) => !baseByUrn.has(r.urn));
  const moved = pairMoved(deleted, created);
  const pairedDeleted = new Set(moved.map(([d]) => d));
  const pairedCreated = new Set(moved.map(([, c]) => c));

  for (const [urn, headResource] of headByUrn) {
    const baseResource = baseByUrn.get(urn);
    if (baseResource) diffs.push(compareResource(baseResource, headResource));
  }
  for (const [d, c, reason] of moved) {
    const compared = compareResource(d, c);
    diffs.push({
      ...compared,
      change: "replace",
      changes: compared.changes.filter((change) => change.path !== "options.parent"),
      reasons: [reason, ...compared.reasons.filter((r) => !r.startsWith("replaces on"))],
      previousUrn: d.urn,
    });
  }
  for (const c of created)
    if (!pairedCreated.has(c))
      diffs.push({ urn: c.urn, type: c.type, name: c.name, change: "create", changes: [], reasons: c.importId ? [`imports ${c.importId}`] : [] });
  for (const d of deleted)
    if (!pairedDeleted.has(d)) {
      const reasons: string[] = [];
      if (d.protect) reasons.push("protected: the engine refuses to delete it until protect is lifted");
      if (d.retainOnDelete) reasons.push("retainOnDelete: left in the cloud, dropped from the state");
      diffs.push({
        urn: d.urn,
        type: d.type,
        name: d.name,
        change: "delete",
        changes: [],
        reasons,
        ...(d.protect ? { protect: true } : {}),
        ...(d.retainOnDelete ? { retainOnDelete: true } : {}),
      });
    }
  return diffs.sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0));
}

export function countChanges(resources: readonly ResourceDiff[]): ChangeCounts {
  const counts = emptyCounts();
  for (const resource of resources) counts[resource.change] += 1;
  return counts;
}

/**
 * One stack's diff from its two render outcomes; `undefined` means the stack file
 * does not exist on that side.
 */
export function diffStack(stack: string, base: RenderOutcome | undefined, head: RenderOutcome | undefined): StackDiff {
  const problems: StackDiff["problems"] = {};
  const problemsOf = (outcome: RenderOutcome | undefined) =>
    outcome === undefined || isPlan(outcome) ? undefined : "problems" in outcome ? outcome.problems : [outcome.error];
  const baseProblems = problemsOf(base);
  const headProblems = problemsOf(head);
  if (baseProblems) problems.base = baseProblems;
  if (headProblems) problems.head = headProblems;

  const empty = { stack, counts: emptyCounts(), resources: [], outputs: [], artifacts: [], problems, alerts: [], notes: [] };
  if (head !== undefined && !isPlan(head)) return { ...empty, status: "problems" in head ? "invalid" : "failed" };
  if (base !== undefined && !isPlan(base)) {
    const resources = head ? diffResources(undefined, head) : [];
    return { ...empty, status: head ? "no-base" : "removed", resources, counts: countChanges(resources) };
  }
  const resources = diffResources(base, head);
  const { alerts, notes, reasons } = base && head ? stackAlerts(base, head, resources) : { alerts: [], notes: [], reasons: {} };
  for (const resource of resources)
    if (reasons[resource.urn]) {
      resource.reasons.push(...reasons[resource.urn]);
      if (resource.change === "same") resource.change = "update";
    }
  const counts = countChanges(resources);
  const status: StackStatus =
    base === undefined
      ? "added"
      : head === undefined
        ? "removed"
        : counts.same === resources.length
          ? "unchanged"
          : "changed";
  return {
    stack,
    status,
    counts,
    resources,
    outputs: changedPaths(base?.outputs ?? {}, head?.outputs ?? {}, "", true),
    artifacts: base && head ? artifactChanges(base, head) : changedPaths(base?.artifacts ?? {}, head?.artifacts ?? {}, "", true),
    problems,
    alerts,
    notes,
  };
}

/**
 * The artifacts' changes, with each appserver new at head compared with the one
 * it replaces (a sandbox's new id) or with the active one (a production
 * appserver added beside it): `appservers.{a→b}.ansibleVars.X`, not one
 * `(absent) → {…}` holding every variable.
 */
function artifactChanges(base: Plan, head: Plan): InputChange[] {
  const before = base.artifacts;
  const after = head.artifacts;
  const reference = appServerReference(base, head);
  const changes: InputChange[] = [];
  for (const key of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    const [b, a] = [before[key], after[key]];
    if (key !== "appservers" || !isPlainObject(b) || !isPlainObject(a)) {
      changes.push(...changedPaths(b, a, key, true));
      continue;
    }
    const paired = new Set(reference.values());
    for (const id of [...new Set([...Object.keys(b), ...Object.keys(a)])].sort()) {
      const ref = reference.get(id);
      if (id in a && !(id in b) && ref !== undefined) changes.push(...changedPaths(b[ref], a[id], `appservers.{${ref}→${id}}`, true));
      else if (!(id in a) && paired.has(id)) continue; // the old side of a pair, shown with it
      else changes.push(...changedPaths(b[id], a[id], `appservers.${id}`, true));
    }
  }
  return changes;
}

/** "2 to create, 1 to replace, 14 unchanged" — the one line a reviewer reads first. */
export function summaryLine(diff: StackDiff): string {
  const parts: string[] = [];
  switch (diff.status) {
    case "invalid":
      return `configuration invalid (${diff.problems.head?.length ?? 0} problem(s)); nothing can be deployed`;
    case "failed":
      return `the program failed to render this stack`;
    case "added":
      parts.push("new stack file");
      break;
    case "removed":
      parts.push("stack file removed");
      break;
    case "no-base":
      parts.push("base did not render: no comparison");
      break;
    default:
      break;
  }
  const { create, update, replace, delete: del, same } = diff.counts;
  if (diff.status !== "no-base") {
    if (create) parts.push(`${create} to create`);
    if (replace) parts.push(`${replace} to replace`);
    if (update) parts.push(`${update} to update`);
    if (del) parts.push(`${del} to delete`);
    if (same) parts.push(`${same} unchanged`);
  } else parts.push(`${diff.resources.length} resources at head`);
  if (diff.status === "unchanged" && (diff.outputs.length || diff.artifacts.length))
    parts.push("outputs or artifacts changed");
  if (diff.status === "unchanged" && !diff.outputs.length && !diff.artifacts.length && parts.length === 0)
    parts.push("no resources");
  return parts.join(", ");
}

// ---------------------------------------------------------------------------
// Which stacks a change affects

export { stackOfFile };

/**
 * Paths that cannot change any stack's plan: documentation, tests, benchmarks,
 * CI definitions, tools that the program does not import. Everything else —
 * components, config, the matrix, Pulumi.yaml, scripts the program ships, the
 * lockfile — is shared by every stack.
 */
const PLAN_NEUTRAL: readonly RegExp[] = [
  /\.md$/,
  // Installed packages (a symlink to them is not matched by the "node_modules/" ignore rule); the lockfile stands for them.
  /^node_modules(\/|$)/,
  /^docs\//,
  /^test\//,
  /^bench\//,
  /^\.github\//,
  /^\.ci\//,
  /^tools\//,
  // The fleet commands drive stacks from outside; the program never imports them (test/fleet-render.test.ts).
  /^fleet\//,
  /^schema\//,
  /^LICENSE/,
  /^\.gitignore$/,
  /^\.mocharc\.json$/,
  /^eslint\.config\.[cm]?js$/,
  /^scripts\/test-services\.sh$/,
];

export interface StackSelection {
  /** Stacks to render, sorted: present at base or head and affected by the change. */
  stacks: string[];
  /** True when a shared file changed, so every stack is affected. */
  all: boolean;
  /** The shared files that made every stack affected (first few). */
  sharedChanges: string[];
  /** Stacks whose own file changed (added and removed included). */
  stackFileChanges: string[];
  added: string[];
  removed: string[];
}

export function selectAffectedStacks(args: {
  changedFiles: readonly string[];
  baseStacks: readonly string[];
  headStacks: readonly string[];
}): StackSelection {
  const baseStacks = new Set(args.baseStacks);
  const headStacks = new Set(args.headStacks);
  const stackFileChanges = new Set<string>();
  const sharedChanges: string[] = [];
  for (const file of args.changedFiles) {
    const stack = stackOfFile(file);
    if (stack !== undefined) stackFileChanges.add(stack);
    else if (!PLAN_NEUTRAL.some((pattern) => pattern.test(file))) sharedChanges.push(file);
  }
  const all = sharedChanges.length > 0;
  const everyStack = new Set([...baseStacks, ...headStacks]);
  const selected = all ? everyStack : new Set([...stackFileChanges].filter((s) => everyStack.has(s)));
  const sorted = (values: Iterable<string>) => [...values].sort();
  return {
    stacks: sorted(selected),
    all,
    sharedChanges: sharedChanges.sort(),
    stackFileChanges: sorted(stackFileChanges),
    added: sorted([...headStacks].filter((s) => !baseStacks.has(s))),
    removed: sorted([...baseStacks].filter((s) => !headStacks.has(s))),
  };
}

// ---------------------------------------------------------------------------


function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    return keys.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

// ---------------------------------------------------------------------------
// Markdown for one pull-request comment

/** Finds the comment to update in place; the workflows search for it. */
export const COMMENT_MARKER = "<!-- openedx-im:plan-diff -->";

/** GitHub refuses comments over 65,536 characters; leave room for the Pulumi previews. */
export const DEFAULT_MARKDOWN_BUDGET = 50_000;

/** Alerts listed above the table; the rest stay in their stacks' sections. */
const MAX_TOP_ALERTS = 20;

/** The head's ref when the diff compares the working tree (uncommitted changes included). */
export const WORKING_TREE = "working tree";

export interface DiffReport {
  base: { ref: string; commit: string };
  head: { ref: string; commit: string };
  selection: StackSelection;
  /** Stacks present at head that the change does not affect (not rendered). */
  unaffected: string[];
  stacks: StackDiff[];
}

export { inlineCode };

/** A fenced block whose fence is longer than any backtick run inside. */
function fenced(language: string, text: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(longest + 1);
  return `${fence}${language}\n${text}\n${fence}`;
}

const INLINE_LIMIT = 120;

function showValue(value: unknown): string {
  if (value === undefined) return "(absent)";
  const text = typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value);
  return inlineCode(text.length > INLINE_LIMIT ? `${text.slice(0, INLINE_LIMIT)}…` : text);
}

/**
 * A unified line diff of two texts with two lines of context (longest common
 * subsequence; texts here are config files and variable sets, small enough).
 */
export function lineDiff(before: string, after: string, context = 2, maxLines = 80): string {
  const a = before.split("\n");
  const b = after.split("\n");
  if (a.length * b.length > 4_000_000) return `- (${a.length} lines)\n+ (${b.length} lines)`;
  const lcs: Uint32Array[] = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i--)
    for (let j = b.length - 1; j >= 0; j--)
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const ops: Array<[" " | "-" | "+", string]> = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      ops.push([" ", a[i]]);
      i++;
      j++;
    } else if (i < a.length && (j === b.length || lcs[i + 1][j] >= lcs[i][j + 1])) ops.push(["-", a[i++]]);
    else ops.push(["+", b[j++]]);
  }
  const keep = ops.map(() => false);
  ops.forEach(([op], index) => {
    if (op === " ") return;
    for (let k = Math.max(0, index - context); k <= Math.min(ops.length - 1, index + context); k++) keep[k] = true;
  });
  const lines: string[] = [];
  let skipped = false;
  ops.forEach(([op, line], index) => {
    if (!keep[index]) {
      if (!skipped) lines.push("@@");
      skipped = true;
      return;
    }
    skipped = false;
    lines.push(`${op} ${line}`);
  });
  if (lines.length > maxLines) return [...lines.slice(0, maxLines), `… ${lines.length - maxLines} more lines`].join("\n");
  return lines.join("\n");
}

/** A string holding a JSON object or array (a command's stdin, a rendered file), parsed; else undefined. */
function parseJsonText(value: unknown): unknown {
  if (typeof value !== "string" || !/^\s*[[{]/.test(value)) return undefined;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return undefined;
  }
}

function renderChange(change: InputChange): string {
  const marker = change.replaces ? " **(replaces)**" : "";
  const { before, after } = change;
  const [parsedBefore, parsedAfter] = [parseJsonText(before), parseJsonText(after)];
  if (parsedBefore !== undefined && parsedAfter !== undefined) {
    // Show what changed inside the JSON text rather than two truncated strings.
    const inner = changedPaths(parsedBefore, parsedAfter, `${change.path} (JSON)`, true);
    return [`- ${inlineCode(change.path)}${marker}: JSON text, changed inside:`, ...inner.map((c) => indent(renderChange(c)))].join("\n");
  }
  if (typeof before === "string" && typeof after === "string" && (before.includes("\n") || after.includes("\n")))
    return `- ${inlineCode(change.path)}${marker}:\n\n${indent(fenced("diff", lineDiff(before, after)))}\n`;
  return `- ${inlineCode(change.path)}${marker}: ${showValue(before)} → ${showValue(after)}`;
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => (line ? `  ${line}` : line))
    .join("\n");
}

const CHANGE_ORDER: ChangeKind[] = ["replace", "delete", "create", "update"];

function renderStackDetails(diff: StackDiff, showCreatedInputs: boolean): string {
  const lines: string[] = [];
  for (const side of ["head", "base"] as const) {
    const problems = diff.problems[side];
    if (problems?.length) {
      lines.push(`${side === "head" ? "At head" : "At base"}:`, "", fenced("", problems.join("\n")), "");
    }
  }
  for (const alert of diff.alerts) lines.push(`> ⚠ ${alert}`, "");
  for (const note of diff.notes) lines.push(`> ${note}`, "");
  if (diff.status === "no-base") {
    lines.push(`Head renders ${diff.resources.length} resources; the base could not be rendered, so nothing is compared.`);
    return lines.join("\n");
  }
  for (const kind of CHANGE_ORDER) {
    const resources = diff.resources.filter((r) => r.change === kind);
    if (resources.length === 0) continue;
    lines.push(`**${kind}** (${resources.length})`, "");
    for (const resource of resources) {
      const reasons = resource.reasons.length ? ` — ${resource.reasons.join("; ")}` : "";
      lines.push(`- ${inlineCode(resource.type)} ${inlineCode(resource.name)}${reasons}`);
      if (kind === "create" && !showCreatedInputs) continue;
      for (const change of resource.changes) lines.push(indent(renderChange(change)));
    }
    lines.push("");
  }
  for (const [label, changes] of [
    ["Stack outputs", diff.outputs],
    ["Artifacts (Ansible variables, HAProxy fragment)", diff.artifacts],
  ] as const) {
    if (changes.length === 0) continue;
    lines.push(`**${label}**`, "", ...changes.map(renderChange), "");
  }
  return lines.join("\n");
}

const STATUS_ICON: Record<StackStatus, string> = {
  changed: "🔶",
  unchanged: "⚪",
  added: "🆕",
  removed: "🗑️",
  invalid: "❌",
  failed: "❌",
  "no-base": "❔",
};

/**
 * The comment: a heading naming the two commits, why these stacks were rendered,
 * a table with a summary line per stack, then one collapsible section per stack
 * that has something to show. Unchanged stacks are listed by name only. Sections
 * that do not fit the budget are cut, with the command to see them in full.
 */
export function renderMarkdown(report: DiffReport, budget = DEFAULT_MARKDOWN_BUDGET): string {
  const short = (commit: string) => commit.slice(0, 7);
  const head: string[] = [
    COMMENT_MARKER,
    `### Offline plan: ${inlineCode(report.base.ref)} (${short(report.base.commit)}) → ${inlineCode(report.head.ref)} (${short(report.head.commit)})`,
    "",
  ];
  const { selection } = report;
  if (selection.stacks.length === 0) {
    head.push("No stack is affected by this change (only documentation, tests or CI changed).");
    return head.join("\n") + "\n";
  }
  if (selection.all) {
    const shown = selection.sharedChanges.slice(0, 5).map(inlineCode).join(", ");
    const more = selection.sharedChanges.length > 5 ? ` and ${selection.sharedChanges.length - 5} more` : "";
    head.push(`Shared files changed (${shown}${more}), so every stack was rendered at both commits.`);
  } else head.push(`Only stack files changed, so only their stacks were rendered.`);
  if (report.unaffected.length) head.push(`Not affected: ${report.unaffected.length} stack(s).`);
  head.push("");

  const changed = report.stacks.filter((s) => s.status !== "unchanged" || s.alerts.length > 0);
  const unchanged = report.stacks.filter((s) => !changed.includes(s));
  const alerted = changed.filter((s) => s.alerts.length > 0);
  if (alerted.length) {
    // A fleet-wide change (a server added) can alert on many stacks: the first ones here, every one in its section.
    const lines = alerted.flatMap((diff) => diff.alerts.map((alert) => `- ⚠ ${inlineCode(diff.stack)}: ${alert}`));
    head.push(`#### ⚠ Look before merging`, "", ...lines.slice(0, MAX_TOP_ALERTS));
    if (lines.length > MAX_TOP_ALERTS) head.push(`- … and ${lines.length - MAX_TOP_ALERTS} more, in the sections of the stacks marked ⚠️`);
    head.push("");
  }
  const icon = (diff: StackDiff) => (diff.alerts.length ? "⚠️" : STATUS_ICON[diff.status]);
  const table = ["| | stack | summary |", "| --- | --- | --- |"];
  for (const diff of changed) table.push(`| ${icon(diff)} | ${inlineCode(diff.stack)} | ${summaryLine(diff)} |`);
  if (changed.length) head.push(...table, "");
  if (unchanged.length)
    head.push(`No change on ${unchanged.length} stack(s): ${unchanged.map((s) => inlineCode(s.stack)).join(", ")}`, "");

  const headArgument = report.head.ref === WORKING_TREE ? "" : ` ${report.head.commit.slice(0, 12)}`;
  const reproduce = `npm run plan -- diff ${report.base.commit.slice(0, 12)}${headArgument}`;
  const footer = [
    "",
    `<sub>Rendered offline under Pulumi mocks (no credentials): secrets show as ${inlineCode("[secret]")}, so a changed secret is invisible here. Reproduce: ${inlineCode(reproduce)}</sub>`,
  ];
  let used = head.join("\n").length + footer.join("\n").length;
  const sections: string[] = [];
  let cut = 0;
  for (const diff of changed) {
    const body = renderStackDetails(diff, diff.status !== "added");
    const section = `<details><summary>${icon(diff)} <code>${diff.stack}</code>: ${summaryLine(diff)}</summary>\n\n${body}\n</details>\n`;
    if (used + section.length > budget) {
      cut += 1;
      continue;
    }
    used += section.length;
    sections.push(section);
  }
  if (cut) sections.push(`_${cut} stack section(s) left out to fit one comment; run the command below or use ${inlineCode("--json")}._\n`);
  return [...head, ...sections, ...footer].join("\n") + "\n";
}
