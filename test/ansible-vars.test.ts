import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  GENERATED_VARIABLE_NAMES,
  REQUIRED_SERVICE_VARIABLES,
  ansibleVariableLayers,
  builtInDefaults,
  instanceVariables,
  lifecycleDefaults,
  mergeLayers,
  parseGitUrl,
  releaseVariables,
  renderAnsibleVars,
  type AnsibleVariablesInput,
  type InstanceFacts,
} from "../components/provisioners/ansible/vars";
import { deriveDomains } from "../config/domains";
import { versionMatrix } from "../config/matrix/data";
import { resolveRelease } from "../config/matrix/resolve";
import type { ResolvedRelease } from "../config/matrix/types";

const ROLE_DEFAULTS = join(__dirname, "..", "..", "shared", "fixtures", "edx-configuration", "role-defaults.tsv");

/**
 * Names the program generates that the roles' defaults and the plays' `vars:`
 * do not define, each with the reason it is still read. Keep this list short:
 * anything else not in role-defaults.tsv is a typo Ansible would silently ignore.
 */
const KNOWN_OUTSIDE_ROLE_DEFAULTS: Record<string, string> = {
  // (none at present)
};

function roleDefaultNames(): Set<string> {
  const names = readFileSync(ROLE_DEFAULTS, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => line.split("\t")[0]);
  return new Set(names);
}

const redwood = resolveRelease(versionMatrix, { release: "redwood" });
const mitxQuince = resolveRelease(versionMatrix, { deployment: "mitx", stage: "Production" });

function instance(overrides: Partial<InstanceFacts> = {}, enabled = { ecommerce: false, discovery: false }): InstanceFacts {
  return {
    id: "dev",
    name: "Development sandbox",
    domains: deriveDomains({ subDomain: "dev", baseDomain: "sandbox.opencraft.example", enabled }),
    services: { forum: true, xqueue: true, notes: true, ...enabled },
    ...overrides,
  };
}

const jwtKeys = {
  EDXAPP_JWT_PRIVATE_SIGNING_JWK: '{"kty":"RSA","d":"private"}',
  COMMON_JWT_PUBLIC_SIGNING_JWK_SET: '{"keys":[]}',
};

function input(overrides: Partial<AnsibleVariablesInput<unknown>> = {}): AnsibleVariablesInput<unknown> {
  return {
    instance: instance(),
    lifecycle: "sandbox",
    release: redwood,
    serviceVars: { ...jwtKeys },
    extraSettings: {},
    ...overrides,
  };
}

describe("Ansible variables", () => {
  describe("mergeLayers", () => {
    it("lets a later layer replace an earlier value, and keeps keys only one layer has", () => {
      assert.deepEqual(mergeLayers({ a: 1, b: 1 }, { b: 2, c: 2 }, { c: 3 }), { a: 1, b: 2, c: 3 });
    });

    it("merges plain mappings key by key, recursively, and replaces lists", () => {
      const merged = mergeLayers<unknown>(
        { FEATURES: { A: true, NESTED: { X: 1, Y: 1 } }, LIST: [1, 2] },
        { FEATURES: { B: true, NESTED: { Y: 2 } }, LIST: [3] },
      );
      assert.deepEqual(merged, { FEATURES: { A: true, B: true, NESTED: { X: 1, Y: 2 } }, LIST: [3] });
    });

    it("replaces a mapping with a non-mapping and the other way round", () => {
      assert.deepEqual(mergeLayers<unknown>({ A: { x: 1 } }, { A: null }), { A: null });
      assert.deepEqual(mergeLayers<unknown>({ A: "text" }, { A: { x: 1 } }), { A: { x: 1 } });
    });

    it("treats a class instance (such as a pulumi Output) as one value, never merging into it", () => {
      class Wrapped {
        constructor(readonly inner: Record<string, unknown>) {}
      }
      const secret = new Wrapped({ a: 1 });
      const merged = mergeLayers<unknown>({ A: { b: 2 } }, { A: secret });
      assert.equal(merged.A, secret);
      assert.deepEqual(mergeLayers<unknown>({ A: secret }, { A: { b: 2 } }), { A: { b: 2 } });
    });

    it("does not modify its inputs", () => {
      const low = { M: { a: 1 } };
      const high = { M: { b: 2 } };
      mergeLayers<unknown>(low, high);
      assert.deepEqual(low, { M: { a: 1 } });
      assert.deepEqual(high, { M: { b: 2 } });
    });
  });

  describe("precedence", () => {
    // One key set in every layer at once, then removed from the top layer down: each time the next layer shows through.
    it("gives each layer precedence over every layer below it", () => {
      const key = "EDXAPP_PLATFORM_NAME";
      const layers = ansibleVariableLayers(input());
      const names = layers.map((l) => l.name);
      assert.deepEqual(names, [
        "built-in defaults",
        "sandbox defaults",
        "release redwood",
        "instance dev",
        "service connections",
        "extraSettings",
      ]);
      // Fill the key into the layers the test controls, and check each against the ones below.
      const withKey = (level: number) =>
        renderAnsibleVars({
          ...input(),
          serviceVars: { ...jwtKeys, ...(level >= 5 ? { [key]: "from service connections" } : {}) },
          extraSettings: level >= 6 ? { [key]: "from extraSettings" } : {},
        })[key];
      assert.equal(withKey(6), "from extraSettings");
      assert.equal(withKey(5), "from service connections");
      assert.equal(withKey(4), "Development sandbox"); // the instance layer
    });

    it("lets the lifecycle beat the built-in defaults, the release beat the lifecycle, the instance beat the release", () => {
      const merged = mergeLayers<unknown>(
        { ...builtInDefaults(), X: "builtin" },
        { ...lifecycleDefaults("production"), X: "lifecycle", Y: "lifecycle", Z: "lifecycle" },
        { ...releaseVariables(redwood), Y: "release", Z: "release" },
        { ...instanceVariables(instance(), redwood), Z: "instance" },
      );
      assert.deepEqual([merged.X, merged.Y, merged.Z], ["lifecycle", "release", "instance"]);
      // And real keys: the production lifecycle's demo switch replaces nothing built in, but is there.
      assert.equal(merged.DEMO_ROLE_ENABLED, false);
    });

    it("lets extraSettings override a service connection and add to a nested mapping without losing program defaults", () => {
      const vars = renderAnsibleVars(
        input({
          serviceVars: { ...jwtKeys, EDXAPP_MYSQL_HOST: "mysql-a.db.example" },
          extraSettings: {
            EDXAPP_MYSQL_HOST: "override.db.example",
            EDXAPP_FEATURES_EXTRA: { ENABLE_DISCUSSION_SERVICE: true },
            EDXAPP_LMS_ENV_EXTRA: { SESSION_COOKIE_AGE: 600 },
          },
        }),
      );
      assert.equal(vars.EDXAPP_MYSQL_HOST, "override.db.example");
      assert.deepEqual(vars.EDXAPP_FEATURES_EXTRA, {
        PREVIEW_LMS_BASE: "preview.dev.sandbox.opencraft.example",
        ENABLE_DISCUSSION_SERVICE: true,
      });
      const lmsExtra = vars.EDXAPP_LMS_ENV_EXTRA as Record<string, unknown>;
      assert.equal(lmsExtra.SESSION_COOKIE_AGE, 600);
      assert.equal(lmsExtra.SESSION_ENGINE, "django.contrib.sessions.backends.cached_db");
      assert.equal(lmsExtra.LEARNING_MICROFRONTEND_URL, undefined); // has its own variable
      assert.equal(lmsExtra.AUTHN_MICROFRONTEND_URL, "https://apps.dev.sandbox.opencraft.example/authn");
    });

    it("differs between sandbox and production where the lifecycle says so", () => {
      const sandbox = renderAnsibleVars(input({ lifecycle: "sandbox" }));
      const production = renderAnsibleVars(input({ lifecycle: "production" }));
      assert.equal(sandbox.DEMO_ROLE_ENABLED, true);
      assert.equal(production.DEMO_ROLE_ENABLED, false);
      assert.equal(sandbox.COMMON_ENVIRONMENT, "sandbox");
      assert.equal(production.COMMON_ENVIRONMENT, "production");
    });

    it("keeps a per-key value object (a stand-in for a secret Output) as it is", () => {
      const secret = { toString: () => "[secret]" };
      Object.setPrototypeOf(secret, { kind: "Output" });
      const vars = renderAnsibleVars<unknown>(input({ serviceVars: { ...jwtKeys, EDXAPP_MYSQL_PASSWORD: secret } }));
      assert.equal(vars.EDXAPP_MYSQL_PASSWORD, secret);
    });
  });

  describe("domains", () => {
    it("names the LMS, Studio, preview and MFE domains in the variables the roles read", () => {
      const vars = renderAnsibleVars(input());
      assert.equal(vars.EDXAPP_LMS_BASE, "dev.sandbox.opencraft.example");
      assert.equal(vars.EDXAPP_SITE_NAME, "dev.sandbox.opencraft.example");
      assert.equal(vars.COMMON_LMS_BASE_URL, "https://dev.sandbox.opencraft.example");
      assert.equal(vars.EDXAPP_CMS_BASE, "studio.dev.sandbox.opencraft.example");
      assert.equal(vars.CMS_HOSTNAME, "studio.dev.sandbox.opencraft.example");
      assert.equal(vars.EDXAPP_PREVIEW_LMS_BASE, "preview.dev.sandbox.opencraft.example");
      assert.equal(vars.MFE_BASE, "apps.dev.sandbox.opencraft.example");
      assert.equal(vars.EDXAPP_LEARNING_MICROFRONTEND_URL, "https://apps.dev.sandbox.opencraft.example/learning");
      assert.deepEqual(vars.EDXAPP_CORS_ORIGIN_WHITELIST, [
        "https://apps.dev.sandbox.opencraft.example",
        "https://studio.dev.sandbox.opencraft.example",
      ]);
      assert.equal(vars.EDXAPP_SESSION_COOKIE_DOMAIN, ".dev.sandbox.opencraft.example");
      assert.equal(vars.EDXAPP_PLATFORM_NAME, "Development sandbox");
      assert.equal(vars.COMMON_DEPLOYMENT, "dev");
    });

    it("shares no session cookie domain when the names do not all lie under the LMS name", () => {
      const dashed = instance({
        domains: deriveDomains({
          subDomain: "dev",
          baseDomain: "sandbox.opencraft.example",
          options: { style: "dash" },
          enabled: { ecommerce: false, discovery: false },
        }),
      });
      const vars = renderAnsibleVars(input({ instance: dashed }));
      assert.equal(vars.EDXAPP_CMS_BASE, "studio-dev.sandbox.opencraft.example");
      assert.equal(vars.EDXAPP_SESSION_COOKIE_DOMAIN, undefined);
    });

    it("configures ecommerce and discovery only when they are enabled", () => {
      const off = renderAnsibleVars(input());
      assert.equal(off.SANDBOX_ENABLE_ECOMMERCE, false);
      assert.equal(off.ECOMMERCE_ECOMMERCE_URL_ROOT, undefined);
      const on = renderAnsibleVars(input({ instance: instance({}, { ecommerce: true, discovery: true }) }));
      assert.equal(on.SANDBOX_ENABLE_ECOMMERCE, true);
      assert.equal(on.SANDBOX_ENABLE_DISCOVERY, true);
      assert.equal(on.ECOMMERCE_ECOMMERCE_URL_ROOT, "https://ecommerce.dev.sandbox.opencraft.example");
      assert.equal(on.DISCOVERY_URL_ROOT, "https://discovery.dev.sandbox.opencraft.example");
    });

    it("says which domain is missing", () => {
      const noStudio = instance();
      noStudio.domains = noStudio.domains.filter((d) => d.role !== "studio");
      assert.throws(() => renderAnsibleVars(input({ instance: noStudio })), /domains: no "studio" domain/);
    });
  });

  describe("versions from the resolved release", () => {
    it("pins edx-platform, forum, notes, xqueue, the MFEs and the configuration repository", () => {
      const vars = renderAnsibleVars(input({ release: mitxQuince }));
      assert.equal(vars.edx_platform_repo, "https://github.com/mitodl/edx-platform.git");
      assert.equal(vars.EDX_PLATFORM_VERSION, "mitx/quince");
      assert.equal(vars.forum_source_repo, "https://github.com/openedx/cs_comments_service.git");
      assert.equal(vars.FORUM_VERSION, "open-release/quince.master");
      assert.equal(vars.EDX_NOTES_API_VERSION, "open-release/quince.master");
      assert.equal(vars.XQUEUE_VERSION, "open-release/quince.master");
      assert.equal(vars.edx_ansible_source_repo, "https://github.com/openedx/configuration.git");
      assert.equal(vars.CONFIGURATION_VERSION, "open-release/quince.master");
      assert.equal(vars.EDXAPP_PYTHON_VERSION, "python3.8");
      const xqueueRepos = vars.XQUEUE_REPOS as Record<string, unknown>[];
      assert.deepEqual(xqueueRepos[0], {
        PROTOCOL: "https",
        DOMAIN: "github.com",
        PATH: "openedx",
        REPO: "xqueue.git",
        VERSION: "open-release/quince.master",
        DESTINATION: "{{ xqueue_code_dir }}",
        SSH_KEY: "{{ XQUEUE_GIT_IDENTITY }}",
      });
      const mfes = vars.MFES as Record<string, unknown>[];
      assert.deepEqual(
        mfes.map((m) => m.name),
        ["account", "authn", "authoring", "gradebook", "learning", "ora-grading"],
      );
      assert.deepEqual(
        mfes.find((m) => m.name === "learning"),
        {
          name: "learning",
          repo: "frontend-app-learning",
          version: "open-release/quince.master",
          git_protocol: "https",
          git_domain: "github.com",
          git_path: "openedx",
          public_path: "/learning/",
        },
      );
    });

    it("follows a branch and origin override of one application", () => {
      const forked: ResolvedRelease = {
        ...redwood,
        applications: {
          ...redwood.applications,
          xqueue: { ...redwood.applications.xqueue, repository: "git@git.example.org:fork/xqueue-fork.git", ref: "fix/1" },
        },
      };
      const vars = renderAnsibleVars(input({ release: forked }));
      assert.equal(vars.XQUEUE_VERSION, "fix/1");
      const entry = (vars.XQUEUE_REPOS as Record<string, unknown>[])[0];
      assert.deepEqual([entry.PROTOCOL, entry.DOMAIN, entry.PATH, entry.REPO], ["ssh", "git.example.org", "fork", "xqueue-fork.git"]);
    });

    it("refuses a repository URL the roles cannot clone, naming the application", () => {
      assert.throws(() => parseGitUrl("/srv/git/xqueue", "applications.xqueue.repository"), /applications\.xqueue\.repository/);
      const local: ResolvedRelease = {
        ...redwood,
        applications: { ...redwood.applications, notes: { ...redwood.applications.notes, repository: "file:///srv/notes" } },
      };
      assert.throws(() => renderAnsibleVars(input({ release: local })), /applications\.notes\.repository/);
    });

    it("refuses a Tutor release", () => {
      const sumac = resolveRelease(versionMatrix, { release: "sumac" });
      assert.throws(() => renderAnsibleVars(input({ release: sumac })), /provisioner is "tutor"/);
    });

    it("turns notes off when the release does not run them, even if the instance enables them", () => {
      const withoutNotes: ResolvedRelease = { ...redwood, applications: { ...redwood.applications } };
      delete withoutNotes.applications.notes;
      const vars = renderAnsibleVars(input({ release: withoutNotes }));
      assert.equal(vars.SANDBOX_ENABLE_NOTES, false);
      assert.equal(vars.EDX_NOTES_API_VERSION, undefined);
    });
  });

  describe("required service variables", () => {
    it("refuses to render without the JWT signing key pair", () => {
      assert.throws(() => renderAnsibleVars(input({ serviceVars: {} })), /EDXAPP_JWT_PRIVATE_SIGNING_JWK, COMMON_JWT_PUBLIC_SIGNING_JWK_SET/);
      assert.deepEqual([...REQUIRED_SERVICE_VARIABLES].sort(), Object.keys(jwtKeys).sort());
    });
  });

  describe("variable names", () => {
    // Every combination that changes which names are generated.
    const renders = (): Record<string, unknown>[] => {
      const out: Record<string, unknown>[] = [];
      const releases = [redwood, mitxQuince, resolveRelease(versionMatrix, { deployment: "xpro", stage: "QA" })];
      for (const release of releases)
        for (const lifecycle of ["sandbox", "production"] as const)
          for (const enabled of [
            { ecommerce: false, discovery: false },
            { ecommerce: true, discovery: true },
          ])
            out.push(renderAnsibleVars({ instance: instance({}, enabled), lifecycle, release, serviceVars: {}, extraSettings: jwtKeys }));
      return out;
    };

    it("generates only names listed in GENERATED_VARIABLE_NAMES, and each of them somewhere", () => {
      const seen = new Set<string>();
      for (const vars of renders()) for (const name of Object.keys(vars)) if (!(name in jwtKeys)) seen.add(name);
      const listed = new Set(GENERATED_VARIABLE_NAMES);
      assert.deepEqual([...seen].filter((n) => !listed.has(n)), [], "rendered but not listed");
      assert.deepEqual(GENERATED_VARIABLE_NAMES.filter((n) => !seen.has(n)), [], "listed but never rendered");
    });

    it("generates only names the configuration repository's roles or playbooks define", () => {
      const known = roleDefaultNames();
      assert.ok(known.size > 3000, `read ${known.size} names from ${ROLE_DEFAULTS}`);
      const unknown = GENERATED_VARIABLE_NAMES.filter((name) => !known.has(name) && !(name in KNOWN_OUTSIDE_ROLE_DEFAULTS));
      assert.deepEqual(unknown, [], `not defined by any role or playbook (typo?): ${unknown.join(", ")}`);
      for (const name of REQUIRED_SERVICE_VARIABLES) assert.ok(known.has(name), name);
    });
  });
});
