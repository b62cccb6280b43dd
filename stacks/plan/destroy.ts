import type { Plan, PlanResource } from "./render";

/**
 * What `pulumi destroy` does to a stack, from its plan, as the Pulumi engine decides it
 * (pkg/resource/deploy/step.go and pkg/cmd/pulumi/operations/destroy.go of pulumi/pulumi):
 * - a delete step on a protected resource fails, in the preview as in the update: a plain
 *   `pulumi destroy` (which previews first) deletes nothing while any resource is protected;
 * - `pulumi destroy --exclude-protected` leaves out every protected resource and everything it
 *   depends on (parents, providers, dependencies, transitively) and deletes the rest;
 * - a retainOnDelete resource that is deleted leaves the state only: it stays where it is.
 */
export interface DestroyOutcome {
  protectedResources: PlanResource[];
  /** Kept by `--exclude-protected`: the protected resources and what they depend on. */
  keptWhenExcludingProtected: PlanResource[];
  /** Deleted by `--exclude-protected` (or by a plain destroy when nothing is protected). */
  deleted: PlanResource[];
  /** Among `deleted`: retainOnDelete ones, which leave the state but stay on their servers. */
  releasedNotDeleted: PlanResource[];
}

export function destroyOutcome(plan: Plan): DestroyOutcome {
  const byUrn = new Map(plan.resources.map((resource) => [resource.urn, resource]));
  const kept = new Set<string>();
  const keep = (urn: string | null | undefined) => {
    if (!urn || kept.has(urn)) return;
    const resource = byUrn.get(urn);
    kept.add(urn);
    if (!resource) return;
    keep(resource.parent);
    keep(resource.provider);
    for (const dependency of resource.dependsOn) keep(dependency);
  };
  const protectedResources = plan.resources.filter((resource) => resource.protect);
  for (const resource of protectedResources) keep(resource.urn);
  const deleted = plan.resources.filter((resource) => !kept.has(resource.urn));
  return {
    protectedResources,
    keptWhenExcludingProtected: plan.resources.filter((resource) => kept.has(resource.urn)),
    deleted,
    releasedNotDeleted: deleted.filter((resource) => resource.retainOnDelete),
  };
}

export const DESTROY_DOCS = "docs/instance.md#what-pulumi-destroy-does";

/** The plan tree's closing lines about `pulumi destroy`. */
export function destroyLines(plan: Plan): string[] {
  const outcome = destroyOutcome(plan);
  const list = (resources: PlanResource[]) => resources.map((r) => `  ${r.type}  ${r.name}`);
  if (outcome.protectedResources.length === 0) {
    const lines = [`pulumi destroy: deletes all ${outcome.deleted.length} resource(s) (none is protected)`];
    if (outcome.releasedNotDeleted.length > 0)
      lines.push(
        `  of which ${outcome.releasedNotDeleted.length} retainOnDelete resource(s) only leave the state and stay on their servers:`,
        ...list(outcome.releasedNotDeleted).map((line) => `  ${line}`),
      );
    return [...lines, `(${DESTROY_DOCS})`];
  }
  return [
    `pulumi destroy: refused; its preview stops at the ${outcome.protectedResources.length} protected resource(s) and nothing is deleted`,
    `pulumi destroy --exclude-protected (the archive): deletes ${outcome.deleted.length} resource(s), keeps ${outcome.keptWhenExcludingProtected.length} ` +
      `(the protected ones and what they depend on, still managed by the stack):`,
    ...list(outcome.keptWhenExcludingProtected),
    `(${DESTROY_DOCS})`,
  ];
}
