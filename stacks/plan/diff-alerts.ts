import { isPlainObject } from "../../config/json";
import { inlineCode as code } from "./diff-markdown";
import type { Plan, PlanResource } from "./render";
import { candidateEntryDomains } from "../../components/haproxy";

/**
 * What a reviewer of a pull request must not miss, read off the two plans of one
 * stack: changes that lose data or take a live site off its appserver (alerts,
 * shown at the top of the comment), and what a production preview really means
 * (notes: a frozen appserver records new settings but does not run them; a new
 * appserver compared with the active one). Pure: plans in, sentences out.
 */

/** Resources that hold or guard an instance's data on a shared server. */
export const DATA_RESOURCE_TYPES: ReadonlySet<string> = new Set([
  "mysql:index/database:Database",
  "mysql:index/user:User",
  "mysql:index/grant:Grant",
  "mongodbatlas:index/databaseUser:DatabaseUser",
  "rabbitmq:index/vHost:VHost",
  "rabbitmq:index/user:User",
  "rabbitmq:index/permissions:Permissions",
]);

/** Inputs of a data resource that name the server (cluster, project) it lives on. */
const SERVER_INPUTS: Readonly<Record<string, readonly string[]>> = {
  "mongodbatlas:index/databaseUser:DatabaseUser": ["projectId", "scopes"],
};

/** Resources that hold data themselves: replacing one makes a new, empty one. */
const DATA_HOLDERS: ReadonlySet<string> = new Set(["mysql:index/database:Database", "rabbitmq:index/vHost:VHost"]);

/** The update command of a frozen (production) appserver's provisioning run; see components/provisioners/command.ts. */
const FROZEN_RUN = /this appserver is frozen/;

export interface StackAlerts {
  /** ⚠ at the top of the comment: data that would move or be lost, a live site taken off its appserver. */
  alerts: string[];
  /** At the top of the stack's details: what the preview means for production appservers. */
  notes: string[];
  /**
   * Extra reasons per resource URN. A resource listed here whose plan inputs look the
   * same changes where the plan cannot see it (a secret input): it is an update.
   */
  reasons: Record<string, string[]>;
}

/** The minimal view of a resource diff this module needs (diff.ts owns the full type). */
export interface ChangedResource {
  urn: string;
  type: string;
  name: string;
  change: "create" | "delete" | "replace" | "update" | "same";
  previousUrn?: string;
}

export function stackAlerts(base: Plan, head: Plan, resources: readonly ChangedResource[]): StackAlerts {
  const result: StackAlerts = { alerts: [], notes: [], reasons: {} };
  result.alerts.push(...dataServerAlerts(base, head, resources));
  result.alerts.push(...liveSiteAlerts(base, head));
  const appservers = appServerNotes(base, head, resources);
  result.alerts.push(...appservers.alerts);
  result.notes.push(...appservers.notes);
  Object.assign(result.reasons, appservers.reasons);
  return result;
}

// ---------------------------------------------------------------------------
// Data on shared servers

const shortType = (type: string) => type.replace(/^[^:]+:(index\/)?/, "").replace(/^[^:]*:/, "");

function providerLabel(plan: Plan, urn: string | undefined): string {
  if (urn === undefined) return "the default provider";
  const provider = plan.resources.find((r) => r.urn === urn);
  const name = provider?.name ?? urn.split("::").pop() ?? urn;
  const endpoint = provider?.inputs.endpoint;
  return typeof endpoint === "string" && endpoint !== "[secret]" ? `${code(name)} (${code(endpoint)})` : code(name);
}

function countByType(items: readonly PlanResource[]): string {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(shortType(item.type), (counts.get(shortType(item.type)) ?? 0) + 1);
  return [...counts].map(([type, n]) => `${type} ×${n}`).join(", ");
}

/**
 * A data resource whose provider (hence server) changes is not updated: the
 * engine creates it on the new server (empty) and deletes the original, or
 * `protect` stops the update. Same for a provider whose endpoint changes under
 * data resources, and for a MongoDB user moving to another project or cluster.
 */
function dataServerAlerts(base: Plan, head: Plan, resources: readonly ChangedResource[]): string[] {
  const alerts: string[] = [];
  const baseByUrn = new Map(base.resources.map((r) => [r.urn, r]));
  const headByUrn = new Map(head.resources.map((r) => [r.urn, r]));
  const moves = new Map<string, { from: string; to: string; items: PlanResource[] }>();
  for (const diff of resources) {
    if (!DATA_RESOURCE_TYPES.has(diff.type) || diff.change === "create" || diff.change === "delete") continue;
    const before = baseByUrn.get(diff.previousUrn ?? diff.urn);
    const after = headByUrn.get(diff.urn);
    if (!before || !after) continue;
    const moved = (before.provider ?? "") !== (after.provider ?? "");
    if (moved) {
      const key = `${before.provider ?? ""}→${after.provider ?? ""}`;
      const entry = moves.get(key) ?? { from: providerLabel(base, before.provider), to: providerLabel(head, after.provider), items: [] };
      entry.items.push(after);
      moves.set(key, entry);
    }
    for (const input of SERVER_INPUTS[after.type] ?? [])
      if (JSON.stringify(before.inputs[input]) !== JSON.stringify(after.inputs[input]))
        alerts.push(
          `DANGEROUS: ${shortType(after.type)} ${code(after.name)} changes ${code(input)} (${code(JSON.stringify(before.inputs[input]) ?? "absent")} → ${code(JSON.stringify(after.inputs[input]) ?? "absent")}): it would be made anew where nothing of its data is.`,
        );
    if (!moved && diff.change === "replace" && DATA_HOLDERS.has(after.type))
      alerts.push(`DANGEROUS: ${shortType(after.type)} ${code(after.name)} is replaced: the new one is empty (\`protect\` makes the update fail instead).`);
  }
  for (const { from, to, items } of moves.values())
    alerts.push(
      `DANGEROUS: ${items.length} data resource(s) (${countByType(items)}) change server: ${from} → ${to}. ` +
        `the engine creates them anew there, empty, and deletes the originals (or stops, where they are protected). ` +
        `Nothing moves data between servers: pin the server the data is on (\`mysqlServer\` for MySQL).`,
    );

  // A provider that keeps its URN but points elsewhere: the data resources it manages are looked for on the new server.
  for (const provider of head.resources) {
    if (!provider.type.startsWith("pulumi:providers:")) continue;
    const before = baseByUrn.get(provider.urn);
    if (!before) continue;
    const users = head.resources.filter((r) => r.provider === provider.urn && DATA_RESOURCE_TYPES.has(r.type));
    if (users.length === 0) continue;
    const changed = Object.keys({ ...before.inputs, ...provider.inputs })
      .filter((key) => JSON.stringify(before.inputs[key]) !== JSON.stringify(provider.inputs[key]))
      .sort();
    if (changed.length === 0) continue;
    const shown = changed.map((key) => `${code(key)} ${code(JSON.stringify(before.inputs[key] ?? null))} → ${code(JSON.stringify(provider.inputs[key] ?? null))}`);
    alerts.push(
      `DANGEROUS: provider ${code(provider.name)} of ${users.length} data resource(s) (${countByType(users)}) changes ${shown.join(", ")}: ` +
        `if this is another server, their data is not there.`,
    );
  }
  return alerts;
}

// ---------------------------------------------------------------------------
// Live sites and the load balancer

interface Routing {
  /** domain → backend */
  map: Map<string, string>;
  /** backends of this fragment that have at least one server */
  serving: Set<string>;
}

function routingOf(plan: Plan): Routing | undefined {
  const haproxy = plan.artifacts.haproxy;
  if (!isPlainObject(haproxy) || typeof haproxy.map !== "string" || typeof haproxy.config !== "string") return undefined;
  const map = new Map<string, string>();
  // A candidate appserver's entry name pins a browser to it: not a domain of the site.
  const entries = new Set(candidateEntryDomains(haproxy.config));
  for (const line of haproxy.map.split("\n")) {
    const [domain, backend] = line.trim().split(/\s+/);
    if (domain && backend && !domain.startsWith("#") && !entries.has(domain)) map.set(domain, backend);
  }
  const serving = new Set<string>();
  let backend: string | undefined;
  for (const line of haproxy.config.split("\n")) {
    const section = /^backend\s+(\S+)/.exec(line);
    if (section) backend = section[1];
    else if (/^\S/.test(line)) backend = undefined;
    else if (backend && /^\s+server\s/.test(line)) serving.add(backend);
  }
  return { map, serving };
}

const activeOf = (plan: Plan): string | undefined =>
  typeof plan.outputs.activeAppServer === "string" ? plan.outputs.activeAppServer : undefined;

/** Domains served by an appserver at base that would not be at head: the preliminary page, or no route. */
function liveSiteAlerts(base: Plan, head: Plan): string[] {
  const before = routingOf(base);
  const after = routingOf(head);
  if (!before || !after) return [];
  const lost: string[] = [];
  const unrouted: string[] = [];
  for (const [domain, backend] of before.map) {
    if (!before.serving.has(backend)) continue;
    const now = after.map.get(domain);
    if (now === undefined) unrouted.push(domain);
    else if (!after.serving.has(now)) lost.push(domain);
  }
  const alerts: string[] = [];
  const list = (domains: string[]) => domains.map(code).join(", ");
  if (lost.length) {
    const [was, is] = [activeOf(base), activeOf(head)];
    const why = was !== undefined && is === undefined ? `\`activeAppServer\` (${code(was)}) is removed, so ` : "";
    alerts.push(`Live site taken off its appserver: ${why}${list(lost)} would be sent to the preliminary page.`);
  }
  if (unrouted.length) alerts.push(`Live site taken off its appserver: ${list(unrouted)} would no longer be routed by the load balancer.`);
  return alerts;
}

// ---------------------------------------------------------------------------
// Production appservers: frozen ones, new ones

type Vars = Record<string, unknown>;

function appServerArtifacts(plan: Plan): Record<string, Vars> {
  const appservers = plan.artifacts.appservers;
  if (!isPlainObject(appservers)) return {};
  return Object.fromEntries(Object.entries(appservers).filter((entry): entry is [string, Vars] => isPlainObject(entry[1])));
}

const RUN_NAME = (id: string) => new RegExp(`^appserver-${id}-provision\\d+-run$`);

function runsOf(plan: Plan, id: string): PlanResource[] {
  const pattern = RUN_NAME(id);
  return plan.resources.filter((r) => pattern.test(r.name));
}

/** A production appserver: its provisioning runs record new settings without running them. */
function isFrozen(plan: Plan, id: string): boolean {
  const runs = runsOf(plan, id);
  return runs.length > 0 && runs.every((r) => typeof r.inputs.update === "string" && FROZEN_RUN.test(r.inputs.update));
}

function releaseOf(plan: Plan, id: string): string | undefined {
  const vm = plan.resources.find((r) => r.name === `appserver-${id}-vm0`);
  const metadata = vm?.inputs.metadata;
  return isPlainObject(metadata) && typeof metadata["openedx-im:release"] === "string" ? metadata["openedx-im:release"] : undefined;
}

/** Repositories and refs an appserver is built from, as its variables say (Ansible names; Tutor's when it has them). */
const SOURCE_VARIABLES: ReadonlyArray<[label: string, repository: string, ref: string]> = [
  ["edx-platform", "edx_platform_repo", "EDX_PLATFORM_VERSION"],
  ["configuration", "edx_ansible_source_repo", "CONFIGURATION_VERSION"],
];

function variablesOf(artifact: Vars | undefined): Vars {
  if (!artifact) return {};
  if (isPlainObject(artifact.ansibleVars)) return artifact.ansibleVars;
  if (isPlainObject(artifact.tutor) && isPlainObject(artifact.tutor.config)) return artifact.tutor.config;
  return {};
}

/** The artifact an appserver new at head is compared with: the one it replaces (sandbox) or the active one. */
export function appServerReference(base: Plan, head: Plan): Map<string, string> {
  const before = appServerArtifacts(base);
  const after = appServerArtifacts(head);
  const added = Object.keys(after).filter((id) => !(id in before));
  const removed = Object.keys(before).filter((id) => !(id in after));
  const pairs = new Map<string, string>();
  if (added.length === 1 && removed.length === 1) pairs.set(added[0], removed[0]);
  else {
    const active = activeOf(base);
    if (active !== undefined && active in before) for (const id of added) pairs.set(id, active);
  }
  return pairs;
}

function appServerNotes(
  base: Plan,
  head: Plan,
  resources: readonly ChangedResource[],
): { alerts: string[]; notes: string[]; reasons: Record<string, string[]> } {
  const alerts: string[] = [];
  const notes: string[] = [];
  const reasons: Record<string, string[]> = {};
  const before = appServerArtifacts(base);
  const after = appServerArtifacts(head);
  const changedUrns = new Set(resources.filter((r) => r.change === "update").map((r) => r.urn));

  // Frozen appservers: what changes is recorded in state, not run on their VMs.
  for (const id of Object.keys(after).filter((x) => x in before && isFrozen(head, x))) {
    const differing = Object.keys({ ...variablesOf(before[id]), ...variablesOf(after[id]) }).filter(
      (key) => JSON.stringify(variablesOf(before[id])[key]) !== JSON.stringify(variablesOf(after[id])[key]),
    );
    // The variables reach each run as its secret stdin: the plan shows "[secret]" on both sides, the engine an update.
    const runs = runsOf(head, id).filter((r) => changedUrns.has(r.urn) || differing.length > 0);
    if (runs.length === 0) continue;
    for (const run of runs) reasons[run.urn] = ["frozen appserver: recorded; applies to the next appserver you add"];
    notes.push(
      `Appserver ${code(id)} is frozen (production): ${differing.length} changed variable(s) (${differing.slice(0, 6).map(code).join(", ")}${differing.length > 6 ? ", …" : ""}) ` +
        `are recorded, not applied to its VMs; they apply to the next appserver you add.`,
    );
  }

  // A domain new at head, routed to an active appserver built before it existed.
  const routingBefore = routingOf(base);
  const routingAfter = routingOf(head);
  const active = activeOf(head);
  if (routingBefore && routingAfter && active !== undefined && active in before && isFrozen(head, active)) {
    const fresh = [...routingAfter.map].filter(([domain, backend]) => !routingBefore.map.has(domain) && routingAfter.serving.has(backend));
    if (fresh.length)
      alerts.push(
        `New domain(s) ${fresh.map(([d]) => code(d)).join(", ")} routed to appserver ${code(active)}, which was built without them (frozen): ` +
          `they reach a site that does not serve them until an appserver built with the new settings is active.`,
      );
  }

  // A new appserver, compared with the one it replaces or the active one.
  for (const [id, reference] of appServerReference(base, head)) {
    if (!isFrozen(head, id)) continue; // sandboxes: the artifacts' pairing says it all
    const parts: string[] = [];
    const [was, is] = [releaseOf(base, reference), releaseOf(head, id)];
    if (was !== is) parts.push(`release ${code(was ?? "?")} → ${code(is ?? "?")}`);
    const varsBefore = variablesOf(before[reference]);
    const varsAfter = variablesOf(after[id]);
    const summarized = new Set<string>();
    for (const [label, repository, ref] of SOURCE_VARIABLES) {
      summarized.add(repository).add(ref);
      const source = (vars: Vars) => `${String(vars[repository] ?? "?")}@${String(vars[ref] ?? "?")}`;
      if (source(varsBefore) !== source(varsAfter)) parts.push(`${label} ${code(source(varsBefore))} → ${code(source(varsAfter))}`);
    }
    const others = Object.keys({ ...varsBefore, ...varsAfter }).filter(
      (key) => !summarized.has(key) && JSON.stringify(varsBefore[key]) !== JSON.stringify(varsAfter[key]),
    );
    if (others.length) parts.push(`${others.length} other setting(s) differ (under Artifacts)`);
    const traffic =
      activeOf(head) === id
        ? "`activeAppServer` names it: traffic moves to it once it is built and healthy."
        : "It takes no traffic until `activeAppServer` names it.";
    notes.push(
      `New appserver ${code(id)}, compared with the active ${code(reference)}: ${parts.length ? parts.join("; ") : "built from the same settings"}. ${traffic}`,
    );
  }
  return { alerts, notes, reasons };
}
