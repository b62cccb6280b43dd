import { strict as assert } from "node:assert";
import { INSTANCE_KEY, validateStackConfig } from "../config/stack-config";
import { chooseMysqlServer } from "../config/names";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { MAIN_CONFIG_SECTION_NAMES } from "../config/instance-id";
import { ConfigProblems } from "../config/problems";
import { listStacks, readStackFile } from "../config/stack-file";
import { fleetSchemas, instanceSchema } from "../config/schema";
import { stackFileJsonSchema } from "../config/write-json-schema";
import { versionMatrix } from "../config/matrix/data";
import type { z } from "zod";
import { FIXTURE_STACKS } from "./support/stacks";

// The test fleet's keys (its Pulumi.yaml), without the dev stack's instance.
const { [INSTANCE_KEY]: _devInstance, ...fleet } = readStackFile("dev", FIXTURE_STACKS).values;
const REPOSITORY = path.resolve(__dirname, "..");

function sandbox(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: "A sandbox",
    subDomain: "pr42",
    baseDomain: "sandbox.example.com",
    lifecycle: "sandbox",
    ...overrides,
  };
}

function production(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: "A site",
    subDomain: "courses",
    baseDomain: "example.org",
    lifecycle: "production",
    appServers: [{ id: "a1", release: "quince" }],
    activeAppServer: "a1",
    mysqlServer: "mysql-a",
    ...overrides,
  };
}

function problemsOf(instance: Record<string, unknown>, extra: Record<string, unknown> = {}): string[] {
  const result = validateStackConfig({ ...fleet, [INSTANCE_KEY]: instance, ...extra });
  return result.ok ? [] : result.problems;
}

function assertProblem(problems: string[], path: string, fragment: string | RegExp) {
  const hit = problems.find((p) => p.startsWith(`${path}:`) && (typeof fragment === "string" ? p.includes(fragment) : fragment.test(p)));
  assert.ok(hit, `expected a problem at ${path} matching ${fragment}; got:\n${problems.join("\n")}`);
}

describe("stack configuration", () => {
  describe("extraSettings of a Tutor release", () => {
    it("accepts Tutor config keys of that version and its plugins", () => {
      assert.deepEqual(problemsOf(sandbox({ release: "ulmo", extraSettings: { PLATFORM_NAME: "Courses", LANGUAGE_CODE: "fr", MFE_HOST_EXTRA_FILES: true } })), []);
    });
    it("names an unknown key with the closest known one", () => {
      assertProblem(
        problemsOf(sandbox({ release: "ulmo", extraSettings: { PLATFORM_NAM: "x" } })),
        `${INSTANCE_KEY}.extraSettings.PLATFORM_NAM`,
        /not a config key of Tutor 21\.0\.8 with plugins mfe, forum; did you mean PLATFORM_NAME\?/,
      );
      // An Ansible variable on a Tutor release has no near Tutor key: no misleading hint.
      const problems = problemsOf(sandbox({ release: "teak", extraSettings: { EDXAPP_PLATFORM_NAME: "x" } }));
      assertProblem(problems, `${INSTANCE_KEY}.extraSettings.EDXAPP_PLATFORM_NAME`, "not a config key of Tutor 20.0.5");
      assert.ok(!problems.some((p) => p.includes("did you mean")), problems.join("\n"));
    });
    it("knows which series has which key (PREVIEW_LMS_HOST is Sumac's, MFE_SITE_PORT is main's)", () => {
      assertProblem(problemsOf(sandbox({ release: "ulmo", extraSettings: { MFE_SITE_PORT: 1 } })), `${INSTANCE_KEY}.extraSettings.MFE_SITE_PORT`, "not a config key");
      assert.deepEqual(problemsOf(sandbox({ release: "master", extraSettings: { MFE_SITE_PORT: 1 } })), []);
    });
    it("refuses keys the program sets, naming what to change instead", () => {
      const problems = problemsOf(sandbox({ release: "ulmo", extraSettings: { LMS_HOST: "x.org", MYSQL_ROOT_PASSWORD: "p", PLUGIN_INDEXES: [] } }));
      assertProblem(problems, `${INSTANCE_KEY}.extraSettings.LMS_HOST`, "domains");
      assertProblem(problems, `${INSTANCE_KEY}.extraSettings.MYSQL_ROOT_PASSWORD`, "scoped users");
      assertProblem(problems, `${INSTANCE_KEY}.extraSettings.PLUGIN_INDEXES`, "version matrix");
    });
    it("checks each production appserver against its own release", () => {
      const problems = problemsOf(
        production({
          appServers: [
            { id: "old", release: "redwood", extraSettings: { EDXAPP_PLATFORM_NAME: "x" } },
            { id: "new", release: "sumac", extraSettings: { PREVIEW_LMS_HOST: "p.org", CONTACT_EMAL: "a@b.org" }, djangoSettings: { lms: { FEATURES: { X: true } } } },
          ],
          activeAppServer: "old",
        }),
      );
      assertProblem(problems, `${INSTANCE_KEY}.appServers[1].extraSettings.PREVIEW_LMS_HOST`, "domains");
      assertProblem(problems, `${INSTANCE_KEY}.appServers[1].extraSettings.CONTACT_EMAL`, "did you mean CONTACT_EMAIL?");
      assert.equal(problems.length, 2, problems.join("\n"));
    });
    it("takes djangoSettings on Tutor releases only", () => {
      assertProblem(
        problemsOf(sandbox({ release: "redwood", djangoSettings: { lms: { X: 1 } } })),
        `${INSTANCE_KEY}.djangoSettings`,
        "EDXAPP_LMS_ENV_EXTRA",
      );
      assertProblem(problemsOf(sandbox({ release: "ulmo", djangoSettings: { lms: { lower: 1 } } })), `${INSTANCE_KEY}.djangoSettings.lms.lower`, "Django setting name");
    });
  });

  it("accepts the test stacks as they are", () => {
    for (const stack of listStacks(FIXTURE_STACKS)) {
      const result = validateStackConfig(readStackFile(stack, FIXTURE_STACKS).values, { stack });
      assert.ok(result.ok, result.ok ? "" : result.problems.join("\n"));
    }
  });

  // Whichever stacks this repository (or an operator's fork) holds: none, the examples, a fleet.
  it("accepts every stack file of this repository, whichever exist", () => {
    for (const stack of listStacks(REPOSITORY)) {
      const result = validateStackConfig(readStackFile(stack, REPOSITORY).values, { stack });
      assert.ok(result.ok, `Pulumi.${stack}.yaml:\n${result.ok ? "" : result.problems.join("\n")}`);
    }
  });

  describe("subdomain", () => {
    for (const [value, why] of [
      ["Upper", "uppercase"],
      ["-lead", "leading hyphen"],
      ["trail-", "trailing hyphen"],
      ["a".repeat(64), "a label of 64 characters"],
      ["two..dots", "an empty label"],
      ["under_score", "an underscore"],
    ]) {
      it(`rejects ${why}`, () => {
        assertProblem(problemsOf(sandbox({ subDomain: value })), `${INSTANCE_KEY}.subDomain`, "not a DNS label");
      });
    }

    it("accepts a 63-character label and several labels", () => {
      assert.deepEqual(problemsOf(sandbox({ subDomain: `${"a".repeat(63)}.b-2` })), []);
    });

    for (const prefix of ["studio", "preview", "discovery", "ecommerce", "app"]) {
      it(`rejects a subdomain starting with the reserved prefix ${prefix}`, () => {
        assertProblem(problemsOf(sandbox({ subDomain: `${prefix}x` })), `${INSTANCE_KEY}.subDomain`, `must not start with "${prefix}"`);
      });
    }

    it("rejects a blacklisted subdomain, from the configurable list", () => {
      assertProblem(problemsOf(sandbox({ subDomain: "www" })), `${INSTANCE_KEY}.subDomain`, "blacklisted");
      const custom = { "openedx-im:subdomainBlacklist": ["forbidden"] };
      assertProblem(problemsOf(sandbox({ subDomain: "forbidden" }), custom), `${INSTANCE_KEY}.subDomain`, "blacklisted");
      assert.deepEqual(problemsOf(sandbox({ subDomain: "www" }), custom), []);
    });
  });

  it("rejects unknown keys at every level, naming the full path", () => {
    const problems = problemsOf(sandbox({ subdomain: "x", edxPlatform: { ref: "master", branch: "x" } }));
    assertProblem(problems, `${INSTANCE_KEY}.subdomain`, "unknown key");
    assertProblem(problems, `${INSTANCE_KEY}.edxPlatform.branch`, "unknown key");
    assertProblem(problemsOf(sandbox(), { "openedx-im:loadBalancr": {} }), "openedx-im:loadBalancr", "unknown key");
  });

  it("reports every problem at once, one line each", () => {
    const problems = problemsOf(sandbox({ subDomain: "Bad", lifecycle: "staging", dnsTtl: 60, databases: "shared" }));
    assertProblem(problems, `${INSTANCE_KEY}.subDomain`, "DNS label");
    assertProblem(problems, `${INSTANCE_KEY}.lifecycle`, "sandbox or production");
    assertProblem(problems, `${INSTANCE_KEY}.dnsTtl`, "at least 300");
    assertProblem(problems, `${INSTANCE_KEY}.databases`, "ephemeral or persistent");
    assert.ok(problems.every((p) => !p.includes("\n")));
  });

  it("requires the instance key", () => {
    const result = validateStackConfig({ ...fleet });
    assert.ok(!result.ok);
    assertProblem(result.problems, INSTANCE_KEY, "missing");
  });

  describe("release choice", () => {
    it("rejects an unsupported release, listing the supported ones", () => {
      assertProblem(problemsOf(sandbox({ release: "palm" })), `${INSTANCE_KEY}.release`, /not a supported release \(supported: .*redwood/);
    });
    it("rejects an unknown deployment", () => {
      assertProblem(problemsOf(sandbox({ deployment: "nope", stage: "CI" })), `${INSTANCE_KEY}.deployment`, "unknown deployment");
    });
    it("rejects a stage outside CI, QA, Production", () => {
      assertProblem(problemsOf(sandbox({ deployment: "mitx", stage: "Staging" })), `${INSTANCE_KEY}.stage`, "CI, QA, Production");
    });
    it("rejects a deployment without a stage, and release with deployment", () => {
      assertProblem(problemsOf(sandbox({ deployment: "mitx" })), INSTANCE_KEY, "go together");
      assertProblem(problemsOf(sandbox({ deployment: "mitx", stage: "CI", release: "redwood" })), INSTANCE_KEY, "not both");
    });
    it("accepts every Tutor release (Sumac, Teak, Ulmo, master) and the mitxonline stages", () => {
      for (const release of ["sumac", "teak", "ulmo", "master"]) assert.deepEqual(problemsOf(sandbox({ release })), [], release);
      for (const stage of ["CI", "QA", "Production"]) assert.deepEqual(problemsOf(sandbox({ deployment: "mitxonline", stage })), [], stage);
    });
    it("resolves (deployment, stage) through the matrix, with the deployment's overrides", () => {
      const result = validateStackConfig({ ...fleet, [INSTANCE_KEY]: sandbox({ deployment: "mitx", stage: "CI" }) });
      assert.ok(result.ok);
      const platform = result.config.instance.appServers[0].release.applications["edx-platform"];
      assert.equal(platform.repository, "https://github.com/mitodl/edx-platform.git");
      assert.equal(platform.ref, "mitx/redwood");
    });
  });

  describe("production and the version matrix's deployments", () => {
    /** The shipped matrix plus a deployment "acme" whose redwood runs its own edx-platform fork and branch. */
    const matrix = structuredClone(versionMatrix);
    matrix.deployments.acme = { CI: "redwood", QA: "redwood", Production: "redwood" };
    matrix.releaseMap.redwood.acme = [
      { application: "edx-platform", branchOverride: "acme/redwood", originOverride: "https://github.com/acme/edx-platform.git" },
    ];
    const validate = (instance: Record<string, unknown>) => validateStackConfig({ ...fleet, [INSTANCE_KEY]: instance }, { matrix });

    it("gives a production appserver its deployment's repository and branch for its release", () => {
      const result = validate(production({ deployment: "acme", appServers: [{ id: "a1", release: "redwood" }] }));
      assert.ok(result.ok, result.ok ? "" : result.problems.join("\n"));
      const platform = result.config.instance.appServers[0].release.applications["edx-platform"];
      assert.deepEqual([platform.repository, platform.ref], ["https://github.com/acme/edx-platform.git", "acme/redwood"]);
      // Without the deployment, the release's own.
      const plain = validate(production({ appServers: [{ id: "a1", release: "redwood" }] }));
      assert.ok(plain.ok);
      assert.equal(plain.config.instance.appServers[0].release.applications["edx-platform"].ref, "open-release/redwood.master");
    });
    it("refuses a stage in production, saying why (appservers pin their release) and what to keep", () => {
      const result = validate(production({ deployment: "acme", stage: "Production", appServers: [{ id: "a1", release: "redwood" }] }));
      const problems = result.ok ? [] : result.problems;
      assertProblem(problems, `${INSTANCE_KEY}.stage`, "does not follow a stage of the version matrix: each appserver pins its release");
      assertProblem(problems, `${INSTANCE_KEY}.stage`, "remove stage (deployment stays");
      assert.equal(problems.length, 1, problems.join("\n"));
    });
    it("refuses an appserver release the deployment has no applications for, rather than dropping its overrides", () => {
      const result = validate(production({ deployment: "acme", appServers: [{ id: "a1", release: "quince" }] }));
      assert.ok(!result.ok);
      assertProblem(result.problems, `${INSTANCE_KEY}.appServers[0].release`, /no applications of deployment "acme" for release "quince".*choose one of redwood/);
    });
  });

  describe("refs and repositories", () => {
    for (const ref of ["$(touch /tmp/x)", "`id`", "a;b", "-upload-pack=x", "a..b", "with space", "x\ny"]) {
      it(`rejects the ref ${JSON.stringify(ref)}`, () => {
        assertProblem(problemsOf(sandbox({ edxPlatform: { ref } })), `${INSTANCE_KEY}.edxPlatform.ref`, "git branch");
      });
    }
    it("rejects a repository that is not an https or ssh URL", () => {
      assertProblem(problemsOf(sandbox({ configuration: { repository: "file:///etc" } })), `${INSTANCE_KEY}.configuration.repository`, "https://");
    });
    it("rejects a playbook outside the configuration repository", () => {
      assertProblem(problemsOf(sandbox({ configuration: { playbook: "../evil.yml" } })), `${INSTANCE_KEY}.configuration.playbook`, "inside");
    });
    it("applies edx-platform and configuration overrides over the release", () => {
      const sha = "0123456789abcdef0123456789abcdef01234567";
      const result = validateStackConfig({
        ...fleet,
        [INSTANCE_KEY]: sandbox({ edxPlatform: { repository: "https://github.com/someone/edx-platform.git", ref: sha }, configuration: { ref: "my-branch" } }),
      });
      assert.ok(result.ok);
      const release = result.config.instance.appServers[0].release;
      assert.equal(release.applications["edx-platform"].ref, sha);
      assert.equal(release.configuration?.ref, "my-branch");
      assert.equal(release.configuration?.playbook, "openedx_native.yml");
    });
  });

  it("rejects extraSettings keys that are not Ansible variable names", () => {
    assertProblem(problemsOf(sandbox({ extraSettings: { "bad-name": 1 } })), `${INSTANCE_KEY}.extraSettings.bad-name`, "Ansible variable");
  });

  describe("lifecycle defaults", () => {
    it("gives sandboxes ephemeral databases, auto-activation and no retention", () => {
      const result = validateStackConfig({ ...fleet, [INSTANCE_KEY]: sandbox() });
      assert.ok(result.ok);
      const i = result.config.instance;
      assert.equal(i.databases, "ephemeral");
      assert.equal(i.autoActivate, true);
      assert.deepEqual(i.data, { retainOnDelete: false, protect: false });
      assert.equal(i.activeAppServer, i.appServers[0].id);
      assert.equal(i.appServers[0].flavor, "m1.large");
    });
    it("gives production persistent, retained, protected data and a larger VM", () => {
      const result = validateStackConfig({ ...fleet, [INSTANCE_KEY]: production() });
      assert.ok(result.ok);
      const i = result.config.instance;
      assert.equal(i.databases, "persistent");
      assert.deepEqual(i.data, { retainOnDelete: true, protect: true });
      assert.equal(i.appServers[0].flavor, "m1.xlarge");
    });
    it("lets explicit config win over every default", () => {
      const result = validateStackConfig({
        ...fleet,
        [INSTANCE_KEY]: production({ databases: "ephemeral", data: { retainOnDelete: false, protect: false }, dnsTtl: 300, appServers: [{ id: "a1", release: "quince", flavor: "tiny" }] }),
      });
      assert.ok(result.ok, result.ok ? "" : result.problems.join("\n"));
      assert.equal(result.config.instance.databases, "ephemeral");
      assert.deepEqual(result.config.instance.data, { retainOnDelete: false, protect: false });
      assert.equal(result.config.instance.dnsTtl, 300);
      assert.equal(result.config.instance.appServers[0].flavor, "tiny");
    });
    it("requires a database server for persistent databases", () => {
      assertProblem(problemsOf(sandbox({ databases: "persistent" }), { "openedx-im:mysqlServers": [] }), `${INSTANCE_KEY}.databases`, "mysqlServers");
    });
  });

  describe("appservers", () => {
    it("gives a sandbox a new appserver id when anything it is built from changes, and the same id otherwise", () => {
      const idOf = (instance: Record<string, unknown>) => {
        const result = validateStackConfig({ ...fleet, [INSTANCE_KEY]: instance });
        assert.ok(result.ok);
        return result.config.instance.appServers[0].id;
      };
      const base = idOf(sandbox());
      assert.equal(idOf(sandbox({ name: "renamed" })), base);
      assert.notEqual(idOf(sandbox({ extraSettings: { EDXAPP_PLATFORM_NAME: "x" } })), base);
      assert.notEqual(idOf(sandbox({ edxPlatform: { ref: "other" } })), base);
      assert.notEqual(idOf(sandbox({ flavor: "m1.small" })), base);
    });
    it("refuses appServers and activeAppServer on a sandbox", () => {
      const problems = problemsOf(sandbox({ appServers: [{ id: "a1", release: "redwood" }], activeAppServer: "a1" }));
      assertProblem(problems, `${INSTANCE_KEY}.appServers`, "automatically");
      assertProblem(problems, `${INSTANCE_KEY}.activeAppServer`, "remove this key");
    });
    it("keeps production settings per appserver, so instance-level build settings are refused", () => {
      assertProblem(problemsOf(production({ extraSettings: { A: 1 } })), `${INSTANCE_KEY}.extraSettings`, "appServers");
    });
    it("requires each production appserver to pin its release", () => {
      assertProblem(problemsOf(production({ appServers: [{ id: "a1" }] })), `${INSTANCE_KEY}.appServers[0].release`, "required");
    });
    it("rejects duplicate appserver ids and an activeAppServer that is not listed", () => {
      const problems = problemsOf(production({ appServers: [{ id: "a1", release: "quince" }, { id: "a1", release: "quince" }], activeAppServer: "b2" }));
      assertProblem(problems, `${INSTANCE_KEY}.appServers[1].id`, "twice");
      assertProblem(problems, `${INSTANCE_KEY}.activeAppServer`, "not the id");
    });
    it("rejects an appserver id that cannot be part of a VM name", () => {
      assertProblem(problemsOf(production({ appServers: [{ id: "A_1", release: "quince" }] })), `${INSTANCE_KEY}.appServers[0].id`, "lowercase");
    });
    it("does not change an existing production appserver when another one is added", () => {
      const first = validateStackConfig({ ...fleet, [INSTANCE_KEY]: production() });
      const second = validateStackConfig({
        ...fleet,
        [INSTANCE_KEY]: production({ appServers: [{ id: "a1", release: "quince" }, { id: "a2", release: "redwood", extraSettings: { X: 1 } }] }),
      });
      assert.ok(first.ok && second.ok);
      assert.deepEqual(second.config.instance.appServers[0], first.config.instance.appServers[0]);
    });
  });

  describe("credentials", () => {
    it("refuses plain-text credentials in a stack file, naming the command that sets them", () => {
      const problems = problemsOf(sandbox(), { "openedx-im:credentials": { loadBalancerSshKey: "-----BEGIN" } });
      assertProblem(problems, "openedx-im:credentials.loadBalancerSshKey", "pulumi config set --secret");
    });
    it("accepts secure values", () => {
      assert.deepEqual(problemsOf(sandbox(), { "openedx-im:credentials": { loadBalancerSshKey: { secure: "v1:abc" } } }), []);
    });
  });

  it("validates the fleet keys too", () => {
    const problems = problemsOf(sandbox(), { "openedx-im:loadBalancer": { sshHost: "lb", sshUser: "Bad User" } });
    assertProblem(problems, "openedx-im:loadBalancer.sshUser", "Unix user");
  });

  it("rejects a pinned MySQL server that is not configured, and keeps a configured one", () => {
    assertProblem(problemsOf(production({ mysqlServer: "mysql-z" })), `${INSTANCE_KEY}.mysqlServer`, "mysql-a, mysql-b");
    const result = validateStackConfig({ ...fleet, [INSTANCE_KEY]: production({ mysqlServer: "mysql-b" }) });
    assert.ok(result.ok);
    assert.equal(result.config.instance.mysqlServer, "mysql-b");
  });

  describe("where a production instance's data lives", () => {
    const unpinned = () => {
      const { mysqlServer: _pin, ...instance } = production();
      return instance;
    };
    it("refuses a production stack with persistent databases and no mysqlServer, naming the key and today's server", () => {
      const result = validateStackConfig({ ...fleet, [INSTANCE_KEY]: unpinned() }, { stack: "prod" });
      assert.ok(!result.ok);
      const today = chooseMysqlServer("prod", ["mysql-a", "mysql-b"]);
      assertProblem(result.problems, `${INSTANCE_KEY}.mysqlServer`, `required for a production instance with persistent databases`);
      assertProblem(result.problems, `${INSTANCE_KEY}.mysqlServer`, `add mysqlServer: ${today} (the server its data is on today)`);
      // Another stack name, another hashed choice: the message follows the stack it is about.
      const other = ["a", "b", "c", "d", "e", "f"].find((stack) => chooseMysqlServer(stack, ["mysql-a", "mysql-b"]) !== today) as string;
      const otherResult = validateStackConfig({ ...fleet, [INSTANCE_KEY]: unpinned() }, { stack: other });
      assert.ok(!otherResult.ok);
      assertProblem(otherResult.problems, `${INSTANCE_KEY}.mysqlServer`, `add mysqlServer: ${chooseMysqlServer(other, ["mysql-a", "mysql-b"])} `);
    });
    it("without the stack's name, still says what to set", () => {
      assertProblem(problemsOf(unpinned()), `${INSTANCE_KEY}.mysqlServer`, "add mysqlServer: <the server its data is on> (one of mysql-a, mysql-b");
    });
    it("needs no server for production with ephemeral databases or for a sandbox", () => {
      assert.deepEqual(problemsOf({ ...unpinned(), databases: "ephemeral" }), []);
      assert.deepEqual(problemsOf(sandbox()), []);
    });
    it("keeps a pinned instance on its server when a server is added to the fleet", () => {
      const servers = fleet["openedx-im:mysqlServers"] as { name: string }[];
      const more = [...servers, { name: "mysql-c", host: "mysql-c.example.org", username: "admin" }];
      const result = validateStackConfig({ ...fleet, "openedx-im:mysqlServers": more, [INSTANCE_KEY]: production({ mysqlServer: "mysql-b" }) });
      assert.ok(result.ok, result.ok ? "" : result.problems.join("\n"));
      assert.equal(result.config.instance.mysqlServer, "mysql-b");
    });
  });

  it("reports adoption entries for services the instance does not run", () => {
    const problems = problemsOf(production({ adopt: { mysql: { databases: { ecommerce: "old_ecommerce" } } } }));
    assertProblem(problems, `${INSTANCE_KEY}.adopt.mysql.databases.ecommerce`, "does not run ecommerce");
  });

  describe("unknown keys, at every level of the schema", () => {
    const objects = [
      ...objectNodes(instanceSchema).map((node) => ({ ...node, key: INSTANCE_KEY })),
      ...Object.entries(fleetSchemas)
        .filter(([key]) => key !== "credentials") // every credential is a secret value: checked by key name (test above)
        .flatMap(([key, schema]) => objectNodes(schema).map((node) => ({ ...node, key: `openedx-im:${key}` }))),
    ];

    it("finds the nested objects (the walk itself works)", () => {
      const paths = new Set(objects.map((o) => `${o.key}${formatPath(o.path)}`));
      for (const expected of [
        INSTANCE_KEY,
        `${INSTANCE_KEY}.securityGroup`,
        `${INSTANCE_KEY}.securityGroup.extraRules[0]`,
        `${INSTANCE_KEY}.data`,
        `${INSTANCE_KEY}.services`,
        `${INSTANCE_KEY}.domains.external`,
        `${INSTANCE_KEY}.appServers[0].edxPlatform`,
        `${INSTANCE_KEY}.adopt.mysql.users.edxapp`,
        "openedx-im:mysqlServers[0]",
        "openedx-im:openstack.flavors",
      ])
        assert.ok(paths.has(expected), `${expected} not among:\n${[...paths].join("\n")}`);
    });

    it("declares every object strict, so that a misspelt key is never dropped silently", () => {
      const loose = objects.filter((o) => !o.strict).map((o) => `${o.key}${formatPath(o.path)}`);
      assert.deepEqual(loose, [], "use z.strictObject for these");
    });

    it("reports a misspelt key inside every object by its full path (e.g. securityGroup.sshSource)", () => {
      const project = readStackFile("prod", FIXTURE_STACKS).values;
      const missed: string[] = [];
      for (const { key, path: at } of objects) {
        const values = structuredClone(project);
        values[key] = withProbe(values[key], at);
        const result = validateStackConfig(values, { stack: "prod" });
        const expected = `${key}${formatPath(at)}.${PROBE}: unknown key`;
        if (result.ok || !result.problems.some((p) => p.startsWith(expected))) missed.push(`${expected}\n    got: ${result.ok ? "ok" : result.problems.join("\n         ")}`);
      }
      assert.deepEqual(missed, []);
    });
  });

  it("ships a JSON Schema that matches the zod schema (run npm run schema after changing it)", () => {
    const committed = JSON.parse(readFileSync(path.join(__dirname, "..", "schema", "stack-config.schema.json"), "utf8"));
    assert.deepEqual(committed, JSON.parse(JSON.stringify(stackFileJsonSchema())));
  });

  it("reports domain names that outgrow DNS or collide as config problems", () => {
    const long = "a".repeat(60);
    assertProblem(problemsOf(sandbox({ subDomain: long, domains: { style: "dash" } })), `${INSTANCE_KEY}.domains`, "longer than 63");
    assertProblem(
      problemsOf(sandbox({ domains: { external: { studio: "pr42.sandbox.example.com" } } })),
      `${INSTANCE_KEY}.domains`,
      "would both be",
    );
  });

  describe("stack name (the instance id, which names the load-balancer backend)", () => {
    const withStack = (stack: string, extra: Record<string, unknown> = {}) => {
      const result = validateStackConfig({ ...fleet, [INSTANCE_KEY]: sandbox(), ...extra }, { stack });
      return result.ok ? [] : result.problems;
    };

    for (const stack of ["preliminary", "unknown-host", "http"])
      it(`refuses "${stack}": its backend openedx-im-${stack} is a section of the main configuration`, () => {
        const problems = withStack(stack);
        assertProblem(problems, `stack name "${stack}"`, `"openedx-im-${stack}", a section the load balancer's main configuration already has`);
        assertProblem(problems, `stack name "${stack}"`, `pulumi stack rename <name>, and rename Pulumi.${stack}.yaml`);
      });

    it("refuses the name of a custom preliminary backend, and frees the default one's", () => {
      const extra = { "openedx-im:loadBalancer": { ...(fleet["openedx-im:loadBalancer"] as object), preliminaryBackend: "openedx-im-coming-soon" } };
      assertProblem(withStack("coming-soon", extra), 'stack name "coming-soon"', "openedx-im-coming-soon");
      assert.deepEqual(withStack("soon", extra), []);
    });

    it("refuses a name that is not a DNS-safe slug, accepts ordinary ones", () => {
      for (const stack of ["My_Stack", "-x", "a.b", "x".repeat(64)]) assertProblem(withStack(stack), `stack name "${stack}"`, "1-63 characters of a-z, 0-9");
      for (const stack of ["dev", "prod", "pr-123", "preliminary2", "http-site"]) assert.deepEqual(withStack(stack), [], stack);
    });

    it("knows every section name of scripts/lb/haproxy.cfg.example", () => {
      const example = readFileSync(path.join(__dirname, "..", "scripts", "lb", "haproxy.cfg.example"), "utf8");
      const keywords = /^[ \t]*(?:frontend|backend|listen|defaults|peers|userlist|resolvers|ring|cache|mailers|http-errors|log-forward|program|fcgi-app)[ \t]+(\S+)/gm;
      const names = [...example.matchAll(keywords)].map((m) => m[1]).sort();
      assert.deepEqual(names, [...MAIN_CONFIG_SECTION_NAMES].sort());
    });

    it("the offline plan of a stack named preliminary stops with the problem, before the program runs", async function () {
      this.timeout(60_000);
      const { renderStack } = await import("../stacks/plan/stack.js");
      const root = mkdtempSync(path.join(tmpdir(), "openedx-im-stack-name-"));
      try {
        writeFileSync(path.join(root, "Pulumi.yaml"), readFileSync(path.join(FIXTURE_STACKS, "Pulumi.yaml")));
        writeFileSync(path.join(root, "Pulumi.preliminary.yaml"), readFileSync(path.join(FIXTURE_STACKS, "Pulumi.dev.yaml")));
        await assert.rejects(renderStack("preliminary", root), (error: unknown) => error instanceof ConfigProblems && /stack name "preliminary"/.test(error.message));
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });
  });
});

describe("stack configuration: a generated sandbox's pull-request settings", () => {
  const source = { pullRequest: 7, repository: "openedx/edx-platform", author: "someone" };

  it("accepts pullRequestSettings on a generated sandbox and keeps them apart from extraSettings", () => {
    const result = validateStackConfig({
      ...fleet,
      [INSTANCE_KEY]: sandbox({ source, extraSettings: { A: 1 }, pullRequestSettings: { B: "x; y" } }),
    });
    assert.ok(result.ok, result.ok ? "" : result.problems.join("\n"));
    const [appServer] = result.config.instance.appServers;
    assert.deepEqual(appServer.extraSettings, { A: 1 });
    assert.deepEqual(appServer.pullRequestSettings, { B: "x; y" });
  });

  it("a change of the pull request's settings makes a new sandbox appserver", () => {
    const id = (settings: Record<string, unknown>) => {
      const result = validateStackConfig({ ...fleet, [INSTANCE_KEY]: sandbox({ source, pullRequestSettings: settings }) });
      assert.ok(result.ok);
      return result.config.instance.appServers[0].id;
    };
    assert.notEqual(id({ A: 1 }), id({ A: 2 }));
  });

  it("refuses pullRequestSettings without source or outside a sandbox, and ansible_* keys in them at any depth", () => {
    assertProblem(problemsOf(sandbox({ pullRequestSettings: { A: 1 } })), `${INSTANCE_KEY}.pullRequestSettings`, "only a generated sandbox");
    const problems = problemsOf(sandbox({ source, pullRequestSettings: { ansible_host: "x", A: { B: [{ Ansible_Connection: "local" }] } } }));
    assertProblem(problems, `${INSTANCE_KEY}.pullRequestSettings.ansible_host`, "ansible_*");
    assertProblem(problems, `${INSTANCE_KEY}.pullRequestSettings.A.B[0].Ansible_Connection`, "ansible_*");
  });

  it("refuses secrets and secure: values in pullRequestSettings, which Pulumi would decrypt", () => {
    const problems = problemsOf(sandbox({ source, pullRequestSettings: { A: { secure: "v1:abc" }, EDXAPP_X: { SMTP_PASSWORD: "x" } } }));
    assertProblem(problems, `${INSTANCE_KEY}.pullRequestSettings.A.secure`, "secure: values");
    assertProblem(problems, `${INSTANCE_KEY}.pullRequestSettings.EDXAPP_X.SMTP_PASSWORD`, "secrets");
  });

  it("refuses __proto__ as a key anywhere instead of letting it become a prototype", () => {
    const instance = JSON.parse(JSON.stringify(sandbox({ source }))) as Record<string, unknown>;
    instance.extraSettings = JSON.parse('{"__proto__": {"EDXAPP_X": 1}}');
    assertProblem(problemsOf(instance), `${INSTANCE_KEY}.extraSettings.__proto__`, "is not a key a stack file may use");
  });

  it("resolves a release named like Object.prototype's members to a clear problem, not a crash", () => {
    for (const release of ["constructor", "tostring", "valueof"])
      assertProblem(problemsOf(sandbox({ release })), `${INSTANCE_KEY}.release`, "is not a supported release");
    assertProblem(problemsOf(sandbox({ deployment: "constructor", stage: "CI" })), `${INSTANCE_KEY}.deployment`, "unknown deployment");
  });

  it("with the operator's allowlist, refuses a generated sandbox's configuration repository or playbook outside it", () => {
    const allowlist = { repositories: ["https://github.com/openedx-unsupported/configuration.git"], playbooks: ["openedx_native.yml"] };
    const check = (instance: Record<string, unknown>) => {
      const result = validateStackConfig({ ...fleet, [INSTANCE_KEY]: instance }, { configurationAllowlist: allowlist });
      return result.ok ? [] : result.problems;
    };
    assert.deepEqual(check(sandbox({ source, release: "redwood" })), []);
    const foreign = { repository: "https://evil.example.com/configuration.git", playbook: "run.yml" };
    const problems = check(sandbox({ source, release: "redwood", configuration: foreign }));
    assertProblem(problems, `${INSTANCE_KEY}.configuration.repository`, "not an allowed configuration repository");
    assertProblem(problems, `${INSTANCE_KEY}.configuration.playbook`, "not an allowed playbook");
    // An operator's own stack (no source) chooses freely.
    assert.deepEqual(check(sandbox({ release: "redwood", configuration: foreign })), []);
  });
});
// ---------------------------------------------------------------------------
// A walk over the zod schema: every object node, with a path that reaches it.

const PROBE = "sshSourceTypo";
type PathStep = string | number;

function objectNodes(schema: z.core.$ZodType, at: PathStep[] = [], found = new Map<string, { path: PathStep[]; strict: boolean }>()) {
  const def = schema._zod.def as unknown as Record<string, unknown> & { type: string };
  const child = (node: unknown, path: PathStep[]) => objectNodes(node as z.core.$ZodType, path, found);
  switch (def.type) {
    case "object": {
      const catchall = def.catchall as z.core.$ZodType | undefined;
      const key = formatPath(at);
      if (!found.has(key)) found.set(key, { path: at, strict: catchall?._zod.def.type === "never" });
      for (const [name, node] of Object.entries(def.shape as Record<string, unknown>)) child(node, [...at, name]);
      break;
    }
    case "optional":
    case "nullable":
    case "default":
    case "prefault":
    case "readonly":
    case "catch":
    case "nonoptional":
      child(def.innerType, at);
      break;
    case "array":
      child(def.element, [...at, 0]);
      break;
    case "record": {
      const keyDef = (def.keyType as z.core.$ZodType)._zod.def as unknown as { type: string; entries?: Record<string, string> };
      const sampleKey = keyDef.type === "enum" && keyDef.entries ? Object.values(keyDef.entries)[0] : "edxapp";
      child(def.valueType, [...at, sampleKey]);
      break;
    }
    case "union":
      for (const option of def.options as unknown[]) child(option, at);
      break;
    case "pipe":
      child(def.in, at);
      break;
    case "lazy":
      child((def.getter as () => unknown)(), at);
      break;
    default:
      break;
  }
  return [...found.values()];
}

function formatPath(path: readonly PathStep[]): string {
  return path.map((step) => (typeof step === "number" ? `[${step}]` : `.${step}`)).join("");
}

/** `value` with `{[PROBE]: true}` merged into the object at `path`, creating what is missing on the way. */
function withProbe(value: unknown, path: readonly PathStep[]): unknown {
  if (path.length === 0) return { ...(isObject(value) ? value : {}), [PROBE]: true };
  const [step, ...rest] = path;
  if (typeof step === "number") {
    const list = Array.isArray(value) ? [...value] : [];
    list[step] = withProbe(list[step], rest);
    return list;
  }
  const object = isObject(value) ? { ...value } : {};
  object[step] = withProbe(object[step], rest);
  return object;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
