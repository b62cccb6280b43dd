import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { readStackFile } from "../config/stack-file";
import { PRODUCTION_STACK_YAML, StackDir } from "./support/stack-dir";

const ROOT = path.resolve(__dirname, "..");
const EXPECTED =
  "openedx-im:credentials.mysql.mysql-b: required (this stack's databases are on mysql-b; credentials.mysql names mysql-a); " +
  "set it with: pulumi config set --secret --path 'openedx-im:credentials.mysql.mysql-b' <admin password>";

// What `pulumi config set --secret --path 'openedx-im:credentials.mysql.mysql-a' …` adds to a stack file.
const WRONG_SERVER_CREDENTIAL = "  openedx-im:credentials:\n    mysql:\n      mysql-a:\n        secure: v1:c2FsdA==:ZW5jcnlwdGVk\n";

describe("a missing MySQL admin credential", () => {
  let dir: StackDir;
  before(() => {
    dir = new StackDir({ site: PRODUCTION_STACK_YAML + WRONG_SERVER_CREDENTIAL });
  });
  after(() => dir.remove());

  it("is one line naming the key and the command that sets it, through the plan", () => {
    const run = spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, "stacks", "plan-cli.ts"), "site", "--root", dir.root], { encoding: "utf8" });
    assert.equal(run.status, 1);
    assert.equal(run.stdout, "");
    assert.equal(run.stderr, `${EXPECTED}\n1 configuration problem(s)\n`);
  });

  it("is one logged error and a RunError (no stack trace, nothing declared), through the program's entry", async () => {
    const registered: string[] = [];
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          registered.push(args.type);
          return { id: `${args.name}-id`, state: args.inputs };
        },
        call: (args) => args.inputs,
      },
      "openedx-im",
      "site",
      false,
    );
    // The engine's view: values decrypted, the credentials key marked secret.
    const values = readStackFile("site", dir.root).values;
    const config: Record<string, string> = {};
    for (const [key, value] of Object.entries(values)) config[key] = JSON.stringify(value);
    config["openedx-im:credentials"] = JSON.stringify({ mysql: { "mysql-a": "the-admin-password" } });
    pulumi.runtime.setAllConfig(config, ["openedx-im:credentials"]);

    const logged: string[] = [];
    const consoleError = console.error;
    console.error = (...args: unknown[]) => void logged.push(args.map(String).join(" "));
    try {
      const entry = ((await import("../stacks/index.js")) as unknown as { default: () => Promise<unknown> }).default;
      const error = await entry().then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(pulumi.RunError.isInstance(error), `expected a RunError, got ${String(error)}`);
      assert.equal((error as Error).message, "1 configuration problem(s); see above");
    } finally {
      console.error = consoleError;
    }
    assert.deepEqual(logged, [`error: [runtime] ${EXPECTED}`]);
    assert.deepEqual(registered, [], "no resource is declared");
    assert.ok(!logged.join("\n").includes("the-admin-password"));
  });

  it("names each missing adopted password in one line, when others are set, through the plan", () => {
    const adopting = PRODUCTION_STACK_YAML.replace("    mysqlServer: mysql-b\n", "    mysqlServer: mysql-b\n    services: { xqueue: false, notes: false }\n    adopt:\n      mongodb:\n        databases: { main: old_edxapp, forum: old_forum }\n        user: old\n      mysql:\n        users: { edxapp: old }\n") +
      "  openedx-im:credentials:\n    adoptedPasswords:\n      mysql.edxapp:\n        secure: v1:c2FsdA==:ZW5jcnlwdGVk\n";
    dir.write("adopting", adopting);
    const run = spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, "stacks", "plan-cli.ts"), "adopting", "--root", dir.root], { encoding: "utf8" });
    assert.equal(run.status, 1, run.stderr);
    assert.equal(
      run.stderr,
      "openedx-im:credentials.adoptedPasswords.mongodb: set it with: pulumi config set --secret --path 'openedx-im:credentials.adoptedPasswords[\"mongodb\"]' <password> (an adopted user keeps its password)\n1 configuration problem(s)\n",
    );
  });
});
