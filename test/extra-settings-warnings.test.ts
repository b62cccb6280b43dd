import { strict as assert } from "node:assert";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { ansibleVariables } from "../config/ansible-variables";
import { versionMatrix } from "../config/matrix/data";
import { validateStackConfig } from "../config/stack-config";
import { readStackFile } from "../config/stack-file";
import { variablesAt } from "../tools/ansible-variables/generate";
import { PRODUCTION_STACK_YAML, SANDBOX_STACK_YAML, StackDir } from "./support/stack-dir";

const ROOT = path.resolve(__dirname, "..");

describe("extraSettings keys the configuration repository does not define", () => {
  let dir: StackDir;
  before(() => (dir = new StackDir()));
  after(() => dir.remove());

  const warningsOf = (stack: string, text: string): string[] => {
    dir.write(stack, text);
    const result = validateStackConfig(readStackFile(stack, dir.root).values, { stack });
    assert.ok(result.ok, result.ok ? "" : result.problems.join("\n"));
    return result.warnings;
  };

  it("warns once per unknown key, naming the release's ref and the variable it may stand for", () => {
    const text = PRODUCTION_STACK_YAML.replace(
      "          EDXAPP_PLATFORM_NAME: A Site\n",
      "          EDXAPP_PLATFORM_NAME: A Site\n          EDXAPP_CELERY_WORKERS_ENABLED: true\n          EDXAPP_PLATFROM_NAME: typo\n          MYFORK_FEATURE: 1\n",
    );
    assert.deepEqual(warningsOf("prod", text), [
      'openedx-im:instance.appServers[0].extraSettings.EDXAPP_CELERY_WORKERS_ENABLED: no role of the configuration repository at open-release/quince.master reads this variable (did you mean "EDXAPP_CELERY_WORKERS"?); the playbooks ignore it (fine if your fork of the repository defines it)',
      'openedx-im:instance.appServers[0].extraSettings.EDXAPP_PLATFROM_NAME: no role of the configuration repository at open-release/quince.master reads this variable (did you mean "EDXAPP_PLATFORM_NAME"?); the playbooks ignore it (fine if your fork of the repository defines it)',
      "openedx-im:instance.appServers[0].extraSettings.MYFORK_FEATURE: no role of the configuration repository at open-release/quince.master reads this variable; the playbooks ignore it (fine if your fork of the repository defines it)",
    ]);
  });

  it("checks a sandbox's extraSettings against its release, and says nothing about known keys", () => {
    const sandbox = (settings: string) => SANDBOX_STACK_YAML + "    release: redwood\n    extraSettings:\n" + settings;
    assert.deepEqual(warningsOf("dev", sandbox("      EDXAPP_PLATFORM_NAME: x\n      EDXAPP_CELERY_WORKERS: []\n")), []);
    const [warning] = warningsOf("dev", sandbox("      EDXAPP_ENABLE_CELERY_BEATS: true\n"));
    assert.match(warning, /^openedx-im:instance\.extraSettings\.EDXAPP_ENABLE_CELERY_BEATS: .* at open-release\/redwood\.master .*did you mean "EDXAPP_ENABLE_CELERY_BEAT"/);
  });

  it("prints the warning through the plan, which still renders", () => {
    dir.write("warned", PRODUCTION_STACK_YAML.replace("EDXAPP_PLATFORM_NAME: A Site", "EDXAPP_CELERY_WORKERS_ENABLED: true"));
    const run = spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, "stacks", "plan-cli.ts"), "warned", "--json", "--root", dir.root], { encoding: "utf8" });
    assert.equal(run.status, 0, run.stderr);
    assert.ok(JSON.parse(run.stdout).resources.length > 0);
    assert.match(run.stderr, /^warning: openedx-im:instance\.appServers\[0\]\.extraSettings\.EDXAPP_CELERY_WORKERS_ENABLED: .*did you mean "EDXAPP_CELERY_WORKERS"/m);
  });

  it("has a generated variable list for every release built with the configuration repository", () => {
    const file = ansibleVariables();
    for (const [release, spec] of Object.entries(versionMatrix.releases)) {
      if (spec.provisioner !== "ansible") continue;
      const entry = file.releases[release];
      assert.ok(entry, `${release}: missing from config/ansible-variables.generated.json; run tools/ansible-variables/generate.ts`);
      assert.equal(entry.ref, spec.configuration?.ref, `${release}: generated at another ref; regenerate`);
      assert.ok(entry.variables.includes("EDXAPP_PLATFORM_NAME") && entry.variables.length > 1000, release);
    }
  });

  it("generates the list from roles' defaults and plays' vars of a real git repository", () => {
    const work = mkdtempSync(path.join(tmpdir(), "openedx-im-config-repo-"));
    try {
      const git = (...args: string[]) => execFileSync("git", ["-C", work, "-c", "user.name=t", "-c", "user.email=t@example.org", ...args], { encoding: "utf8" });
      git("init", "-q");
      mkdirSync(path.join(work, "playbooks/roles/edxapp/defaults"), { recursive: true });
      mkdirSync(path.join(work, "playbooks/roles/edxapp/tasks"), { recursive: true });
      writeFileSync(path.join(work, "playbooks/roles/edxapp/defaults/main.yml"), "---\nEDXAPP_A: 1\nEDXAPP_B:\n  nested: \"{{ EDXAPP_A }}\"\n# EDXAPP_COMMENTED: 1\n");
      writeFileSync(path.join(work, "playbooks/roles/edxapp/tasks/main.yml"), "TASK_VAR_NOT_A_DEFAULT: 1\n");
      writeFileSync(path.join(work, "playbooks/openedx_native.yml"), "- name: x\n  hosts: all\n  vars:\n    PLAY_VAR: true\n  roles: [edxapp]\n");
      git("add", ".");
      git("commit", "-qm", "x");
      assert.deepEqual(variablesAt(path.join(work, ".git"), "HEAD"), ["EDXAPP_A", "EDXAPP_B", "PLAY_VAR"]);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
