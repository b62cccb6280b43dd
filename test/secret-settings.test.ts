import { strict as assert } from "node:assert";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { inspect } from "node:util";
import * as pulumi from "@pulumi/pulumi";
import { parse, stringify } from "yaml";
import { ConfigProblems } from "../config/problems";
import { SecretSetting } from "../config/secret-names";
import { INSTANCE_KEY, validateStackConfig } from "../config/stack-config";
import { readStackFile } from "../config/stack-file";
import type { Plan } from "../stacks/plan/render";
import { FIXTURE_STACKS } from "./support/stacks";

/**
 * An operator's extraSettings may hold a secret (an SMTP password, an API key)
 * only as a Pulumi secret: a plain one would sit in every plan, in state and in
 * logs. Issue 10, item 14.
 */
// The tests' own fleet and stacks, never this repository's (an operator's fork has its own).
const ROOT = FIXTURE_STACKS;
const { [INSTANCE_KEY]: devInstance, ...fleet } = readStackFile("dev", ROOT).values;
const sandbox = (extraSettings: Record<string, unknown>) => ({ ...(devInstance as Record<string, unknown>), extraSettings });
const production = (extraSettings: Record<string, unknown>) => ({
  name: "A site",
  subDomain: "courses",
  baseDomain: "example.org",
  lifecycle: "production",
  appServers: [{ id: "a1", release: "quince", extraSettings }],
  activeAppServer: "a1",
  mysqlServer: "mysql-a",
});
const problemsOf = (instance: Record<string, unknown>) => {
  const result = validateStackConfig({ ...fleet, [INSTANCE_KEY]: instance });
  return result.ok ? [] : result.problems;
};

describe("secrets in an operator's extraSettings", () => {
  it("refuses a plain-text value under a key that names a secret, with the command that stores it encrypted", () => {
    assert.deepEqual(problemsOf(sandbox({ EDXAPP_EMAIL_HOST_PASSWORD: "hunter2" })), [
      "openedx-im:instance.extraSettings.EDXAPP_EMAIL_HOST_PASSWORD: names a secret but is plain text (it would show in plans, state and logs); " +
        "set it encrypted with: pulumi config set --secret --path 'openedx-im:instance.extraSettings.EDXAPP_EMAIL_HOST_PASSWORD' <value>",
    ]);
  });

  it("finds them at any depth, in lists, in production appserver entries, under odd keys", () => {
    const cases: [Record<string, unknown>, string][] = [
      [sandbox({ EDXAPP_LMS_ENV_EXTRA: { SOCIAL_AUTH_OAUTH_SECRETS: { "google-oauth2": "s3cr3t" } } }), `openedx-im:instance.extraSettings.EDXAPP_LMS_ENV_EXTRA.SOCIAL_AUTH_OAUTH_SECRETS.google-oauth2`],
      [sandbox({ THIRD_PARTY: [{ name: "x", api_key: "k" }] }), "openedx-im:instance.extraSettings.THIRD_PARTY[0].api_key"],
      [sandbox({ FEATURES: { "smtp.password": "t" } }), 'openedx-im:instance.extraSettings.FEATURES["smtp.password"]'],
      [production({ EDXAPP_AWS_SECRET_ACCESS_KEY: "k" }), "openedx-im:instance.appServers[0].extraSettings.EDXAPP_AWS_SECRET_ACCESS_KEY"],
    ];
    for (const [instance, at] of cases) {
      const problems = problemsOf(instance);
      assert.ok(problems.some((p) => p.startsWith(`${at}: names a secret`) && p.includes(`--path '${at}'`)), `${at}:\n${problems.join("\n")}`);
    }
  });

  it("accepts secure: values, and settings whose name mentions a secret but whose value cannot be one", () => {
    assert.deepEqual(problemsOf(sandbox({ EDXAPP_EMAIL_HOST_PASSWORD: { secure: "v1:abc" }, NESTED: { API_KEY: { secure: "v1:def" } } })), []);
    assert.deepEqual(problemsOf(sandbox({ EDXAPP_FEATURES_EXTRA: { ENABLE_PASSWORD_RESET: true }, PASSWORD_MIN_LENGTH: 8, EDXAPP_PLATFORM_NAME: "Arts; Sciences" })), []);
  });

  it("resolves a secure: value to a SecretSetting that never prints, and the appserver id does not depend on it", () => {
    const ids = ["v1:one", "v1:two"].map((secure) => {
      const result = validateStackConfig({ ...fleet, [INSTANCE_KEY]: sandbox({ EDXAPP_EMAIL_HOST_PASSWORD: { secure } }) });
      assert.ok(result.ok);
      const setting = result.config.instance.appServers[0].extraSettings.EDXAPP_EMAIL_HOST_PASSWORD;
      assert.ok(setting instanceof SecretSetting);
      assert.equal(setting.reveal(), secure);
      assert.equal(JSON.stringify(result.config), JSON.stringify(result.config).replaceAll(secure, "LEAK"), "the value is in no JSON of the config");
      assert.doesNotMatch(inspect(result.config, { depth: 20 }), new RegExp(secure));
      return result.config.instance.appServers[0].id;
    });
    assert.equal(ids[0], ids[1]);
  });

  it("under the CLI, the stack file says which decrypted values were secure; without it, the key names do", async () => {
    const { markSecureLeaves } = await import("../stacks/load-config.js");
    const decrypted = { extraSettings: { SMTP_URL: "smtp://u:p@host", EDXAPP_EMAIL_HOST_PASSWORD: "pw", LIST: ["a", "b"], PLAIN: "x" } };
    const file = { extraSettings: { SMTP_URL: { secure: "v1:x" }, EDXAPP_EMAIL_HOST_PASSWORD: { secure: "v1:y" }, LIST: ["a", { secure: "v1:z" }], PLAIN: "x" } };
    assert.deepEqual(markSecureLeaves(decrypted, file, false), {
      extraSettings: { SMTP_URL: { secure: "smtp://u:p@host" }, EDXAPP_EMAIL_HOST_PASSWORD: { secure: "pw" }, LIST: ["a", { secure: "b" }], PLAIN: "x" },
    });
    // A value the file has as plain text stays plain, so validation still refuses it.
    const plainInFile = { extraSettings: { ...file.extraSettings, EDXAPP_EMAIL_HOST_PASSWORD: "pw" } };
    assert.deepEqual((markSecureLeaves(decrypted, plainInFile, false) as typeof decrypted).extraSettings.EDXAPP_EMAIL_HOST_PASSWORD, "pw");
    assert.deepEqual(markSecureLeaves(decrypted, undefined, false), {
      extraSettings: { SMTP_URL: "smtp://u:p@host", EDXAPP_EMAIL_HOST_PASSWORD: { secure: "pw" }, LIST: ["a", "b"], PLAIN: "x" },
    });
  });

  describe("through the program", function () {
    this.timeout(120_000);
    let root: string;
    before(() => {
      root = mkdtempSync(path.join(tmpdir(), "openedx-im-secret-settings-"));
      writeFileSync(path.join(root, "Pulumi.yaml"), readFileSync(path.join(ROOT, "Pulumi.yaml")));
    });
    after(() => rmSync(root, { recursive: true, force: true }));

    const provisioningStdins = (plan: Plan) => plan.resources.filter((r) => r.type === "command:local:Command" && /provision\d+-run$/.test(r.name)).map((r) => r.inputs.stdin);
    const ansibleVars = (plan: Plan) => Object.values(plan.artifacts.appservers as Record<string, { ansibleVars: Record<string, unknown> }>)[0].ansibleVars;

    async function renderDevWith(extraSettings: Record<string, unknown>): Promise<Plan> {
      const { renderStack } = await import("../stacks/plan/stack.js");
      const doc = parse(readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8")) as { config: Record<string, Record<string, unknown>> };
      doc.config["openedx-im:instance"].extraSettings = { ...(doc.config["openedx-im:instance"].extraSettings as object), ...extraSettings };
      writeFileSync(path.join(root, "Pulumi.dev.yaml"), stringify(doc));
      return renderStack("dev", root);
    }

    it("the offline plan refuses the plain one and shows the secure one as [secret], in a secret provisioning request", async () => {
      await assert.rejects(renderDevWith({ EDXAPP_EMAIL_HOST_PASSWORD: "hunter2" }), (error: unknown) =>
        error instanceof ConfigProblems && error.message.includes("pulumi config set --secret --path 'openedx-im:instance.extraSettings.EDXAPP_EMAIL_HOST_PASSWORD'"),
      );
      const plan = await renderDevWith({ EDXAPP_EMAIL_HOST_PASSWORD: { secure: "v1:AAAAciphertext" } });
      assert.equal(ansibleVars(plan).EDXAPP_EMAIL_HOST_PASSWORD, "[secret]");
      assert.deepEqual(provisioningStdins(plan), ["[secret]"]);
      assert.doesNotMatch(JSON.stringify(plan), /AAAAciphertext/);
    });

    it("under the CLI (decrypted config, the key marked secret), the value becomes a Pulumi secret and appears nowhere in the plan", async () => {
      const { renderPlan } = await import("../stacks/plan/render.js");
      const { runProgram } = await import("../stacks/program.js");
      const doc = parse(readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8")) as { config: Record<string, Record<string, unknown>> };
      const instance = { ...doc.config["openedx-im:instance"], extraSettings: { EDXAPP_EMAIL_HOST_PASSWORD: "hunter2-decrypted", EDXAPP_PLATFORM_NAME: "Plain" } };
      const config: Record<string, string> = {};
      for (const [key, value] of Object.entries(fleet)) if (key !== "openedx-im:credentials") config[key] = typeof value === "string" ? value : JSON.stringify(value);
      config[INSTANCE_KEY] = JSON.stringify(instance);
      // A stack with no file here: the program falls back to the names of the keys.
      pulumi.runtime.setAllConfig(config, [INSTANCE_KEY]);
      const plan = await renderPlan({ project: "openedx-im", stack: "no-such-stack-file", program: runProgram });
      const vars = ansibleVars(plan);
      assert.equal(vars.EDXAPP_EMAIL_HOST_PASSWORD, "[secret]");
      assert.equal(vars.EDXAPP_PLATFORM_NAME, "Plain");
      assert.deepEqual(provisioningStdins(plan), ["[secret]"]);
      assert.doesNotMatch(JSON.stringify(plan), /hunter2/);
    });
  });
});
