import { destroyLines } from "./destroy";
import type { Plan, PlanResource } from "./render";

/** The plan for people: the resource tree with the options that matter on delete. */
export function planToTree(plan: Plan): string {
  const children = new Map<string | null, PlanResource[]>();
  for (const resource of plan.resources) {
    const siblings = children.get(resource.parent) ?? [];
    siblings.push(resource);
    children.set(resource.parent, siblings);
  }
  const lines: string[] = [`${plan.project} / ${plan.stack}: ${plan.resources.length} resources`];
  const walk = (parent: string | null, indent: string) => {
    for (const resource of children.get(parent) ?? []) {
      const flags = [
        resource.importId ? `import ${resource.importId}` : "",
        resource.protect ? "protected" : "",
        resource.retainOnDelete ? "kept on destroy" : "",
        resource.deleteBeforeReplace ? "delete-before-replace" : "",
      ].filter(Boolean);
      lines.push(`${indent}${resource.type}  ${resource.name}${flags.length ? `  [${flags.join(", ")}]` : ""}`);
      walk(resource.urn, `${indent}  `);
    }
  };
  walk(null, "");
  lines.push("", ...destroyLines(plan));
  lines.push("", "outputs:");
  for (const [key, value] of Object.entries(plan.outputs)) lines.push(`  ${key}: ${JSON.stringify(value)}`);
  return lines.join("\n") + "\n";
}
