import type { Plan, PlanResource } from "../stacks/plan/render";

/**
 * What `fleet archive` and `fleet delete` take away and what they leave, read from the
 * stack's offline plan (the same options the program gives each resource).
 *
 * archive = `pulumi destroy --exclude-protected`: protected resources, and what they
 * depend on, stay under management in the state; resources with retainOnDelete are
 * dropped from the state but left in the cloud; everything else is deleted.
 * delete = `pulumi destroy --remove` once nothing is retained or protected: everything
 * goes, data included, and the stack is removed.
 */

export interface TeardownSummary {
  /** Deleted in the cloud. */
  goes: PlanResource[];
  /** Left in the cloud, dropped from the state (retainOnDelete). */
  retained: PlanResource[];
  /** Left in the cloud and in the state (protected, or needed by a protected resource). */
  kept: PlanResource[];
}

/** Component resources hold nothing in the cloud; the listing names the real ones. */
const isComponent = (r: PlanResource) => r.type.startsWith("openedx-im:") || r.type === "pulumi:pulumi:Stack" || r.type.startsWith("pulumi:providers:");

export function archiveSummary(plan: Plan): TeardownSummary {
  const byUrn = new Map(plan.resources.map((r) => [r.urn, r]));
  const kept = new Set<string>();
  const keep = (urn: string | null | undefined) => {
    if (!urn || kept.has(urn)) return;
    const resource = byUrn.get(urn);
    if (!resource) return;
    kept.add(urn);
    resource.dependsOn.forEach(keep);
    keep(resource.parent);
    if (resource.provider) keep(resource.provider);
  };
  plan.resources.filter((r) => r.protect).forEach((r) => keep(r.urn));
  const real = plan.resources.filter((r) => !isComponent(r));
  return {
    kept: real.filter((r) => kept.has(r.urn)),
    retained: real.filter((r) => !kept.has(r.urn) && r.retainOnDelete),
    goes: real.filter((r) => !kept.has(r.urn) && !r.retainOnDelete),
  };
}

export function deleteSummary(plan: Plan): TeardownSummary {
  return { goes: plan.resources.filter((r) => !isComponent(r)), retained: [], kept: [] };
}

/** Why `fleet delete` refuses a stack, or undefined when nothing is retained or protected. */
export function deleteRefusal(plan: Plan): string | undefined {
  const guarded = plan.resources.filter((r) => r.protect || r.retainOnDelete);
  if (guarded.length === 0) return undefined;
  return (
    `${plan.stack}: ${guarded.length} resource(s) are retained or protected (${describe(guarded.slice(0, 4))}${guarded.length > 4 ? ", …" : ""}). ` +
    `Deleting would destroy data the stack is told to keep. To delete for real, first lift the retention: set ` +
    `data: { retainOnDelete: false, protect: false } on openedx-im:instance in Pulumi.${plan.stack}.yaml, commit it, ` +
    `and run fleet delete again (it applies the lifted options with pulumi up before destroying); or archive instead.`
  );
}

function describe(resources: readonly PlanResource[]): string {
  return resources.map((r) => `${shortType(r.type)} ${r.name}`).join(", ");
}

export function shortType(type: string): string {
  const [pkg, module = "", name = ""] = type.split(":");
  return `${pkg}:${module.split("/")[0]}:${name}`.replace(/:index:/, ":");
}

export function summaryText(stack: string, mode: "archive" | "delete", summary: TeardownSummary): string {
  const section = (title: string, resources: readonly PlanResource[]) =>
    resources.length ? [`${title} (${resources.length}):`, ...resources.map((r) => `  ${shortType(r.type)}  ${r.name}`)] : [`${title}: nothing`];
  return (
    [
      `${mode} ${stack}:`,
      ...section("goes (deleted)", summary.goes),
      ...section("stays in the cloud, dropped from the state (retainOnDelete)", summary.retained),
      ...section("stays in the cloud and in the state (protected, or needed by a protected resource)", summary.kept),
    ].join("\n") + "\n"
  );
}
