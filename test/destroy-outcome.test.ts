import { strict as assert } from "node:assert";
import { destroyOutcome } from "../stacks/plan/destroy";
import type { Plan } from "../stacks/plan/render";
import { renderStack } from "../stacks/plan/stack";
import { planToTree } from "../stacks/plan/tree";
import { PRODUCTION_STACK_YAML, SANDBOX_STACK_YAML, StackDir } from "./support/stack-dir";

describe("what pulumi destroy does, as the plan says it", () => {
  let dir: StackDir;
  let production: Plan;
  let sandbox: Plan;
  let retainedSandbox: Plan;
  before(async function () {
    this.timeout(120_000);
    dir = new StackDir({
      site: PRODUCTION_STACK_YAML,
      dev: SANDBOX_STACK_YAML,
      kept: SANDBOX_STACK_YAML + "    databases: persistent\n    mysqlServer: mysql-a\n    data:\n      retainOnDelete: true\n      protect: false\n",
    });
    production = await renderStack("site", dir.root);
    sandbox = await renderStack("dev", dir.root);
    retainedSandbox = await renderStack("kept", dir.root);
  });
  after(() => dir.remove());

  it("says a plain destroy of a production stack is refused, deleting nothing", () => {
    const tree = planToTree(production);
    const protectedCount = production.resources.filter((r) => r.protect).length;
    assert.ok(protectedCount > 0);
    assert.ok(
      tree.includes(`pulumi destroy: refused; its preview stops at the ${protectedCount} protected resource(s) and nothing is deleted`),
      tree,
    );
    assert.doesNotMatch(tree, /pulumi destroy keeps/);
  });

  it("says --exclude-protected keeps the data and everything it depends on, and deletes the rest", () => {
    const outcome = destroyOutcome(production);
    const kept = new Set(outcome.keptWhenExcludingProtected.map((r) => r.urn));
    for (const data of outcome.protectedResources) {
      assert.ok(kept.has(data.urn), data.name);
      // Everything a kept resource needs stays with it: its provider, parent and inputs' sources (a user's password).
      for (const needed of [data.parent, data.provider, ...data.dependsOn]) if (needed) assert.ok(kept.has(needed), `${data.name} needs ${needed}`);
    }
    const passwords = outcome.keptWhenExcludingProtected.filter((r) => r.type === "random:index/randomPassword:RandomPassword");
    assert.ok(passwords.some((r) => r.name.endsWith("mysql-edxapp")), "the kept users' passwords stay");
    const deletedTypes = new Set(outcome.deleted.map((r) => r.type));
    for (const type of ["openstack:compute/instance:Instance", "gandi:livedns/record:Record", "rabbitmq:index/user:User", "command:remote:Command"])
      assert.ok(deletedTypes.has(type), `${type} is deleted by the archive`);
    assert.equal(outcome.deleted.length + outcome.keptWhenExcludingProtected.length, production.resources.length);
    assert.match(planToTree(production), new RegExp(`--exclude-protected \\(the archive\\): deletes ${outcome.deleted.length} resource\\(s\\), keeps ${kept.size}`));
  });

  it("says a sandbox's destroy deletes everything, and names what only leaves the state when retained", () => {
    assert.ok(planToTree(sandbox).includes(`pulumi destroy: deletes all ${sandbox.resources.length} resource(s) (none is protected)`));
    const tree = planToTree(retainedSandbox);
    const retained = retainedSandbox.resources.filter((r) => r.retainOnDelete);
    assert.ok(retained.length > 0);
    assert.ok(tree.includes(`of which ${retained.length} retainOnDelete resource(s) only leave the state and stay on their servers:`), tree);
  });
});
