import { strict as assert } from "node:assert";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parseDocument } from "yaml";
import { renderStack } from "../stacks/plan/stack";

const ROOT = path.resolve(__dirname, "..");

/** The shell block of the README's "Deploying for real", one command per line (comments dropped). */
function walkthroughCommands(): string[] {
  const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Deploying for real"));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, "README: no sh block under 'Deploying for real'");
  return block
    .split("\n")
    .map((line) => line.replace(/\s+#.*$/, "").trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
}

/**
 * What `pulumi config set --secret --path '<ns:key.a.b>' …` does to the stack file: a `secure:` value at
 * that path (the offline plan reads it as "[secret]", as it cannot decrypt).
 */
function setSecret(file: string, keyPath: string): void {
  assert.ok(!/[[\]]/.test(keyPath), `walk-through: bracketed paths are not simulated (${keyPath})`);
  const [key, ...rest] = keyPath.split(".");
  const doc = parseDocument(readFileSync(file, "utf8"));
  doc.setIn(["config", key, ...rest], doc.createNode({ secure: "v1:c2FsdA==:ZW5jcnlwdGVk" }));
  writeFileSync(file, doc.toString());
}

describe("README: Deploying for real", () => {
  it("runs as written on its example stack up to the first command that needs the network", async function () {
    this.timeout(120_000);
    const commands = walkthroughCommands();
    const stack = commands.map((c) => /^npx pulumi stack init (\S+)$/.exec(c)?.[1]).find(Boolean);
    assert.ok(stack, "the walk-through initialises a stack");
    // An operator's fork may drop the example stack; then there is nothing to walk.
    if (!existsSync(path.join(ROOT, `Pulumi.${stack}.yaml`))) this.skip();

    const root = mkdtempSync(path.join(tmpdir(), "openedx-im-readme-"));
    try {
      copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(root, "Pulumi.yaml"));
      copyFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), path.join(root, `Pulumi.${stack}.yaml`));
      let plans = 0;
      for (const command of commands) {
        let match: RegExpExecArray | null;
        if (command === "npm ci" || /^export [A-Z_]+=\S+$/.test(command) || /^npx pulumi (login|stack init)\b/.test(command)) continue;
        if ((match = /^npm run plan -- (\S+)$/.exec(command))) {
          assert.equal(match[1], stack, command);
          await renderStack(stack, root).catch((error: unknown) => {
            const problems = (error as { problems?: string[] }).problems;
            assert.fail(`${command}: ${problems ? problems.join("\n") : String(error)}`);
          });
          plans++;
        } else if ((match = /^npx pulumi config set --secret --path '([^']+)'/.exec(command))) {
          setSecret(path.join(root, `Pulumi.${stack}.yaml`), match[1]);
        } else if (/^npx pulumi (preview|up)\b/.test(command)) {
          break; // The engine and the providers: the network from here on.
        } else {
          assert.fail(`the walk-through has a step this test does not know how to run offline: ${command}`);
        }
      }
      assert.ok(plans >= 2, "the walk-through checks the stack offline before and after setting credentials");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
