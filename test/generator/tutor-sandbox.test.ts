import { strict as assert } from "node:assert";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { validateStackConfig } from "../../config/stack-config";
import { readProjectConfig } from "../../stacks/generator/stack-validation";
import { renderStack } from "../../stacks/plan/stack";
import { GeneratorHarness } from "./harness";

/**
 * A pull request against master becomes a Tutor-built sandbox of release master,
 * built from the pull request's fork at its head commit; one against a Redwood
 * branch stays an Ansible-built Redwood sandbox. The base branch decides because
 * the fork entry says `releaseFromBaseBranch: true`.
 */
const ROOT = path.resolve(__dirname, "../..");
const SHA = "c0ffee".padEnd(40, "1");
const FORKS = `forks:
  openedx/edx-platform:
    release: redwood
    releaseFromBaseBranch: true
    configuration:
      repository: https://github.com/openedx/configuration.git
      ref: open-release/redwood.master
      playbook: openedx_native.yml
    extraSettings:
      EDXAPP_FEATURES:
        ENABLE_COMBINED_LOGIN_REGISTRATION: true
`;

function instanceOf(file: string): Record<string, unknown> {
  return (parse(readFileSync(file, "utf8")) as { config: Record<string, Record<string, unknown>> }).config["openedx-im:instance"];
}

describe("generate-stacks: a Tutor sandbox for a pull request against master", function () {
  this.timeout(120_000);
  let harness: GeneratorHarness;
  beforeEach(async () => {
    harness = await GeneratorHarness.start();
    harness.github.setMembers(["someone"]);
    harness.writeForks(FORKS);
  });
  afterEach(async () => harness.close());

  it("builds release master with Tutor from the PR's fork and head commit; its Settings are Tutor keys, checked", async () => {
    harness.github.putPullRequests({
      number: 41,
      author: "someone",
      title: "Fix the {{ course }} outline",
      body: "Change.\r\n\r\n**Settings**\r\n```yaml\r\nPLATFORM_NAME: Outline test\r\n```\r\n",
      headRepository: "someone/edx-platform",
      sha: SHA,
    });
    const { code, report } = await harness.run();
    assert.equal(code, 0, JSON.stringify(report));
    const instance = instanceOf(harness.file(41));
    assert.equal(instance.release, "master");
    assert.deepEqual(instance.edxPlatform, { repository: "https://github.com/someone/edx-platform.git", ref: SHA });
    assert.equal(instance.configuration, undefined, "Tutor uses no configuration repository");
    assert.deepEqual(instance.extraSettings, {}, "the fork's Ansible variables are not a Tutor sandbox's");
    assert.deepEqual(instance.pullRequestSettings, { PLATFORM_NAME: "Outline test" });

    // The stack file validates, and its plan builds the image on the VM from that fork and commit.
    const document = parse(readFileSync(harness.file(41), "utf8")) as { config: Record<string, unknown> };
    const validated = validateStackConfig({ ...readProjectConfig(ROOT), ...document.config });
    assert.ok(validated.ok, validated.ok ? "" : validated.problems.join("\n"));
    const root = mkdtempSync(path.join(tmpdir(), "openedx-im-pr-plan-"));
    try {
      writeFileSync(path.join(root, "Pulumi.yaml"), readFileSync(path.join(ROOT, "Pulumi.yaml")));
      writeFileSync(path.join(root, "Pulumi.pr-41.yaml"), readFileSync(harness.file(41)));
      const plan = await renderStack("pr-41", root);
      const [artifact] = Object.values(plan.artifacts.appservers as Record<string, { provisioner: string; tutor: { version: string; config: Record<string, unknown>; image: Record<string, unknown> } }>);
      assert.equal(artifact.provisioner, "tutor");
      assert.equal(artifact.tutor.version, "main@6f32dee8");
      assert.equal(artifact.tutor.image.build, true);
      assert.equal(artifact.tutor.config.EDX_PLATFORM_REPOSITORY, "https://github.com/someone/edx-platform.git");
      assert.equal(artifact.tutor.config.EDX_PLATFORM_VERSION, SHA);
      assert.equal(artifact.tutor.config.PLATFORM_NAME, "Outline test");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("refuses what a pull request may not set on a Tutor sandbox: unknown keys, images, indexes, program-set keys", async () => {
    harness.github.putPullRequests({
      number: 42,
      author: "someone",
      body: "**Settings**\r\n```yaml\r\nPLATFORM_NAM: x\r\nDOCKER_IMAGE_OPENEDX: evil/openedx\r\nOPENEDX_EXTRA_PIP_REQUIREMENTS: [evil]\r\nLMS_HOST: evil.example\r\n```\r\n",
      sha: SHA,
    });
    const { report } = await harness.run();
    const problems = JSON.stringify(report);
    assert.match(problems, /PLATFORM_NAM: not a config key of Tutor main@6f32dee8.*did you mean PLATFORM_NAME/);
    assert.match(problems, /DOCKER_IMAGE_OPENEDX/);
    assert.match(problems, /OPENEDX_EXTRA_PIP_REQUIREMENTS: a pull request may not set/);
    assert.match(problems, /LMS_HOST: derived from the instance's domains/);
  });
});
