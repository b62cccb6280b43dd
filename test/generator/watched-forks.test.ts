import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { versionMatrix } from "../../config/matrix/data";
import { configurationAllowlist, defaultsForFork, parseWatchedForks } from "../../stacks/generator/watched-forks";

/** config/watched-forks.yaml: the operator's defaults and the allowlist of what may run on the deploy machine. */
describe("generate-stacks: config/watched-forks.yaml", () => {
  it("the shipped file is valid and leaves the configuration repository to the version matrix (one source of truth)", () => {
    const file = parseWatchedForks(readFileSync(path.join(__dirname, "..", "..", "config", "watched-forks.yaml"), "utf8"), "watched-forks.yaml");
    const defaults = defaultsForFork(file, "openedx/edx-platform");
    assert.equal(defaults.configuration?.repository, undefined);
    assert.ok(defaults.allowlist.repositories.includes(versionMatrix.releases.redwood.configuration!.repository));
  });

  it("allows each release's own repository and playbook, plus the listed ones", () => {
    const allowlist = configurationAllowlist(
      parseWatchedForks("allowedConfiguration: {repositories: [https://github.com/open-craft/configuration.git], playbooks: [edx_sandbox.yml]}\nforks: {}\n", "f"),
    );
    assert.ok(allowlist.repositories.includes("https://github.com/open-craft/configuration.git"));
    assert.ok(allowlist.repositories.includes("https://github.com/openedx-unsupported/configuration.git"));
    assert.deepEqual(allowlist.playbooks, ["openedx_native.yml", "edx_sandbox.yml"]);
  });

  it("refuses a fork default outside the allowlist, naming the key and the fix", () => {
    assert.throws(
      () =>
        parseWatchedForks(
          "forks:\n  openedx/edx-platform:\n    configuration: {repository: https://evil.example.com/c.git, playbook: x.yml}\n",
          "f",
        ),
      (error: Error) =>
        /^f: forks\.openedx\/edx-platform\.configuration\.repository: https:\/\/evil\.example\.com\/c\.git is not in allowedConfiguration\.repositories/.test(error.message) &&
        /configuration\.playbook: x\.yml is not in allowedConfiguration\.playbooks/.test(error.message),
    );
  });

  it("refuses ansible_* in the fork's extraSettings too (the wrapper would refuse the run)", () => {
    assert.throws(() => parseWatchedForks("forks:\n  a/b:\n    extraSettings: {ansible_connection: local}\n", "f"), /ansible_connection: may not be a fork default/);
  });
});
