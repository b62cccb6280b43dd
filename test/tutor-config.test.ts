import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { deriveDomains, type DomainOptions } from "../config/domains";
import {
  DJANGO_PATCHES,
  TUTOR_HTTP_PORT,
  type TutorConfigInput,
  type TutorDatabases,
  djangoSettingsPatch,
  renderTutorAppServer,
} from "../components/provisioners/tutor/config";
import { versionMatrix } from "../config/matrix/data";
import { resolveRelease } from "../config/matrix/resolve";
import { TUTOR_SERIES, type ResolvedRelease, type TutorSeries } from "../config/matrix/types";
import { tutorSettingsProblems } from "../config/tutor/settings";
import { KEYS_FILE, extractAll } from "../tools/tutor-keys/write";
import { TUTOR_VENDOR, type TutorProject, tutorProject } from "./support/real-tutor";

/**
 * The program's Tutor config rendered by the real Tutor of each series (`tutor
 * config save` → env/): the assertions read what Open edX reads — lms.env.yml,
 * the Django settings modules, docker-compose — never the program's own output.
 */

const RELEASE_OF: Record<TutorSeries, string> = { sumac: "sumac", teak: "teak", ulmo: "ulmo", main: "master" };

const SCOPED = {
  host: "mysql-a.db.example.org",
  port: 3307,
  database: "prod_5a9e3c1f_edxapp",
  user: "prod_5a9e3c1f_migrate",
  password: "scoped-Password-1",
};
const MONGO = {
  hosts: ["m0.mongodb.example.org", "m1.mongodb.example.org"],
  port: 27018,
  database: "prod_5a9e3c1f_edxapp",
  forumDatabase: "prod_5a9e3c1f_forum",
  user: "prod_5a9e3c1f_mongo",
  password: "mongo-Password-2",
  useTls: true,
  authSource: "admin",
  replicaSet: "atlas-rs0",
};
const PERSISTENT: TutorDatabases<string> = { kind: "persistent", mysql: SCOPED, mongo: MONGO };

/** A fixed RSA key, so renders are comparable (generated once for the tests; never used anywhere). */
const JWT_PEM = execFileSync("openssl", ["genrsa", "2048"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });

function input(
  series: TutorSeries,
  overrides: Partial<TutorConfigInput<string>> = {},
  domains: { options?: DomainOptions; subDomain?: string } = {},
): TutorConfigInput<string> {
  const release: ResolvedRelease = resolveRelease(versionMatrix, { release: RELEASE_OF[series] });
  return {
    instance: {
      id: "prod",
      name: "Campus courses",
      domains: deriveDomains({
        subDomain: domains.subDomain ?? "courses",
        baseDomain: "example.org",
        ...(domains.options ? { options: domains.options } : {}),
        enabled: { ecommerce: false, discovery: false },
      }),
      services: { xqueue: true, notes: true, ecommerce: false, discovery: false, forum: true },
    },
    lifecycle: "production",
    appServerId: "blue",
    release,
    databases: PERSISTENT,
    secrets: {
      secretKey: "django-secret-key-of-the-instance",
      jwtPrivateKeyPem: JWT_PEM,
      jwtSecretKey: "jwt-shared-secret",
      derive: (name, shape) => (shape === "uuid" ? "3f2c1a4e-0b9d-4c7e-8a6f-1d2e3f4a5b6c" : `derived-${name.toLowerCase()}`),
    },
    extraSettings: {},
    ...overrides,
  };
}

function render(series: TutorSeries, overrides: Partial<TutorConfigInput<string>> = {}, domains = {}): { project: TutorProject; port: number } {
  const app = renderTutorAppServer(input(series, overrides, domains));
  return { project: tutorProject(series, app.config, app.pluginData), port: app.port };
}

/** Every file under env/, as text. */
function allEnvText(root: string): string {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else out.push(readFileSync(full, "utf8"));
    }
  };
  walk(path.join(root, "env"));
  return out.join("\n");
}

describe("Tutor config, rendered by the real Tutor of each series", function () {
  this.timeout(180_000);
  const projects: TutorProject[] = [];
  after(() => projects.forEach((p) => rmSync(p.root, { recursive: true, force: true })));

  for (const series of TUTOR_SERIES) {
    describe(series, () => {
      let project: TutorProject;
      let port: number;
      before(() => {
        ({ project, port } = render(series));
        projects.push(project);
      });

      it("the matrix's Tutor version is the vendored one", () => {
        const release = versionMatrix.releases[RELEASE_OF[series]];
        const reported = project.tutor("--version").trim();
        const expected = release.tutor?.version.startsWith("main@") ? /-main$/ : new RegExp(`${release.tutor?.version.replace(/\./g, "\\.")}$`);
        assert.match(reported, expected);
      });

      it("persistent databases: the LMS and Studio use the instance's server, database and scoped user, never root", () => {
        for (const service of ["lms", "cms"]) {
          const env = parse(project.env(`apps/openedx/config/${service}.env.yml`)) as { DATABASES: { default: Record<string, unknown> } };
          const db = env.DATABASES.default;
          assert.deepEqual(
            { HOST: db.HOST, PORT: db.PORT, NAME: db.NAME, USER: db.USER, PASSWORD: db.PASSWORD },
            { HOST: SCOPED.host, PORT: SCOPED.port, NAME: SCOPED.database, USER: SCOPED.user, PASSWORD: SCOPED.password },
          );
        }
        const saved = parse(readFileSync(path.join(project.root, "config.yml"), "utf8")) as Record<string, unknown>;
        assert.equal(saved.RUN_MYSQL, false);
        assert.equal(saved.MYSQL_ROOT_USERNAME, SCOPED.user);
        // No rendered file names a root account: no `-u root`, no `USER: root`, no mysql service.
        const text = allEnvText(project.root);
        assert.doesNotMatch(text, /-u\s+root\b|USER"?:\s*"?root\b|--user[= ]root\b/);
        const compose = parse(project.env("local/docker-compose.yml")) as { services: Record<string, unknown> };
        assert.equal(compose.services.mysql, undefined, "no MySQL container");
        assert.equal(compose.services.mongodb, undefined, "no MongoDB container");
      });

      it("the launch's init tasks never run Tutor's root MySQL step; the Open edX ones remain", () => {
        const tasks = project.initTasks();
        assert.ok(!tasks.some((t) => t.service === "mysql"), tasks.map((t) => t.service).join(","));
        for (const task of tasks) assert.doesNotMatch(task.script, /mysql\s+-u/, `${task.service} runs a mysql client`);
        assert.ok(tasks.some((t) => t.service === "lms" && /manage\.py lms migrate/.test(t.script)), "LMS migrations still run");
        assert.ok(tasks.some((t) => t.service === "cms" && /manage\.py cms migrate/.test(t.script)), "CMS migrations still run");
      });

      it("MongoDB: the instance's hosts, database, user, TLS and replica set; the forum on the instance's forum database", () => {
        const settings = project.env("apps/openedx/settings/lms/production.py");
        assert.match(settings, new RegExp(`"db": "${MONGO.database}"`));
        assert.match(settings, new RegExp(`"host": "${MONGO.hosts.join(",")}"`));
        assert.match(settings, new RegExp(`"port": ${MONGO.port}`));
        assert.match(settings, new RegExp(`"user": "${MONGO.user}"`));
        assert.match(settings, /"ssl": True/);
        assert.match(settings, new RegExp(`"replicaSet": "${MONGO.replicaSet}"`));
        assert.equal((parse(readFileSync(path.join(project.root, "config.yml"), "utf8")) as Record<string, unknown>).RUN_MONGODB, false);
        // Tutor's forum plugin names its own database; the program's settings, pasted later, win.
        const forum = settingsAfterPatch(settings, "FORUM_MONGODB_DATABASE");
        assert.equal(forum, MONGO.forumDatabase);
      });

      it("hosts and HTTPS: LMS, Studio and MFE names of the instance, https:// URLs, HTTPS on", () => {
        const lms = parse(project.env("apps/openedx/config/lms.env.yml")) as Record<string, unknown>;
        assert.equal(lms.LMS_BASE, "courses.example.org");
        assert.equal(lms.CMS_BASE, "studio.courses.example.org");
        assert.equal(lms.LMS_ROOT_URL, "https://courses.example.org");
        assert.equal(lms.CMS_ROOT_URL, "https://studio.courses.example.org");
        assert.equal(lms.HTTPS, "on");
        const settings = project.env("apps/openedx/settings/lms/production.py");
        assert.match(settings, /LEARNING_MICROFRONTEND_URL = "https:\/\/apps\.courses\.example\.org\/learning"/);
      });

      it("behind the load balancer: Caddy serves plain HTTP on the fragment's port and trusts the balancer's headers", () => {
        const prod = parse(project.env("local/docker-compose.prod.yml")) as { services: { caddy: { ports: string[]; environment: Record<string, string> } } };
        assert.deepEqual(prod.services.caddy.ports, [`${port}:80`], "only the HTTP port, the one the fragment uses");
        assert.equal(String(TUTOR_HTTP_PORT), project.printvalue("CADDY_HTTP_PORT"));
        assert.equal(prod.services.caddy.environment.default_site_port, ":80", "sites on plain HTTP; no certificate requests");
        assert.match(project.env("apps/caddy/Caddyfile"), /trusted_proxies static/);
      });

      it("Tutor generates nothing that matters: two projects from the same input save the same config.yml", () => {
        const again = render(series).project;
        projects.push(again);
        assert.equal(readFileSync(path.join(again.root, "config.yml"), "utf8"), readFileSync(path.join(project.root, "config.yml"), "utf8"));
        const saved = parse(readFileSync(path.join(project.root, "config.yml"), "utf8")) as Record<string, unknown>;
        assert.equal(saved.OPENEDX_SECRET_KEY, "django-secret-key-of-the-instance");
        assert.equal(String(saved.JWT_RSA_PRIVATE_KEY).trim(), JWT_PEM.trim());
      });
    });
  }

  it("dash-style and external domains reach Open edX as the instance's names", () => {
    const dash = render("ulmo", {}, { options: { style: "dash" } }).project;
    projects.push(dash);
    const lms = parse(dash.env("apps/openedx/config/lms.env.yml")) as Record<string, unknown>;
    assert.equal(lms.CMS_BASE, "studio-courses.example.org");
    assert.match(dash.env("apps/openedx/settings/lms/production.py"), /"https:\/\/apps-courses\.example\.org\/learning"/);
    const external = render("teak", {}, { options: { external: { lms: "learn.university.edu", studio: "studio.university.edu" } } }).project;
    projects.push(external);
    const env = parse(external.env("apps/openedx/config/lms.env.yml")) as Record<string, unknown>;
    assert.equal(env.LMS_BASE, "learn.university.edu");
    assert.equal(env.CMS_BASE, "studio.university.edu");
    assert.match(external.env("apps/caddy/Caddyfile"), /learn\.university\.edu\{\$default_site_port\}/);
  });

  it("ephemeral databases: Tutor's own MySQL and MongoDB containers, and its MySQL init runs", () => {
    const { project } = render("ulmo", { databases: { kind: "ephemeral", mysqlPassword: "local-Password-3", mysqlRootPassword: "local-Root-4" } });
    projects.push(project);
    const compose = parse(project.env("local/docker-compose.yml")) as { services: Record<string, unknown> };
    assert.ok(compose.services.mysql && compose.services.mongodb);
    assert.ok(project.initTasks().some((t) => t.service === "mysql"));
  });

  it("Tutor evaluates templates in config values, again at every save; the program refuses them in extraSettings", () => {
    // The threat, with the real Tutor: a value is a Jinja template, and `config save` writes back the rendered text.
    const { project } = render("ulmo", { extraSettings: { PLATFORM_NAME: "{{ '{{ 6 * 7 }}' }}" } });
    projects.push(project);
    assert.equal(project.printvalue("PLATFORM_NAME"), "42", "one save used up one level of escaping");
    const tutor = versionMatrix.releases.ulmo.tutor!;
    for (const value of ["{{ 6 * 7 }}", "{% if true %}x{% endif %}", 'a"b', "line\nbreak"])
      assert.equal(tutorSettingsProblems({ PLATFORM_NAME: value }, tutor, { at: "extraSettings" }).length, 1, JSON.stringify(value));
  });

  it("an instance name (a pull request's title) reaches Tutor inert", () => {
    const { project } = render("ulmo", { instance: { ...input("ulmo").instance, name: 'PR: fix {{ 6 * 7 }} "quotes"' } });
    projects.push(project);
    assert.equal(project.printvalue("PLATFORM_NAME"), "PR: fix  6 * 7  quotes");
  });

  it("djangoSettings reach Django as data, whatever they hold, also after a second save", () => {
    const hostile = {
      FEATURES: { ENABLE_X: true },
      WEIRD: ["{{ 6 * 7 }}", "{% raw %}", "{# c #}", '"); import os; os.system("id"); ("', "%(name)s", "a\nb"],
    };
    const { project } = render("teak", { djangoSettings: { lms: hostile } });
    projects.push(project);
    project.tutor("config", "save");
    const settings = project.env("apps/openedx/settings/lms/production.py");
    assert.deepEqual(settingsAfterPatch(settings, "WEIRD"), hostile.WEIRD);
    // A mapping merges into Tutor's: the flag is added, FEATURES keeps what Tutor set.
    const features = settingsAfterPatch(settings, "FEATURES", { FEATURES: { TUTOR_FLAG: true } }) as Record<string, unknown>;
    assert.deepEqual(features, { TUTOR_FLAG: true, ENABLE_X: true });
  });
});

describe("Tutor config keys (config/tutor/keys.json)", function () {
  this.timeout(60_000);
  it("are exactly what the vendored Tutor of each series defines with its plugins (regenerate: npx tsx tools/tutor-keys/write.ts)", () => {
    const committed = JSON.parse(readFileSync(KEYS_FILE, "utf8")) as unknown;
    assert.deepEqual(committed, extractAll(TUTOR_VENDOR));
  });
});

describe("Tutor config renderer (pure)", () => {
  it("refuses a release the configuration repository builds", () => {
    const redwood = resolveRelease(versionMatrix, { release: "redwood" });
    assert.throws(() => renderTutorAppServer({ ...input("ulmo"), release: redwood }), /provisioner is "ansible"/);
  });

  it("uses the published image for a release, and builds a pull request's fork at its head commit", () => {
    assert.deepEqual(renderTutorAppServer(input("ulmo")).image, { build: false });
    const release = resolveRelease(versionMatrix, { release: "ulmo" });
    release.applications["edx-platform"] = { ...release.applications["edx-platform"], repository: "https://github.com/someone/edx-platform.git", ref: "0123456789abcdef0123456789abcdef01234567" };
    const app = renderTutorAppServer({ ...input("ulmo"), release });
    assert.deepEqual(app.image, {
      build: true,
      repository: "https://github.com/someone/edx-platform.git",
      ref: "0123456789abcdef0123456789abcdef01234567",
      tag: "openedx-im/openedx:blue",
    });
    assert.equal(app.config.EDX_PLATFORM_VERSION, "0123456789abcdef0123456789abcdef01234567");
    assert.equal(app.config.DOCKER_IMAGE_OPENEDX, "openedx-im/openedx:blue");
    assert.equal(renderTutorAppServer(input("main")).image.build, true, "master always builds: no published image matches a moving branch");
  });

  it("writes Django settings without any template syntax", () => {
    const text = djangoSettingsPatch({ A: "{{ x }}", B: { C: "{% y %}" }, D: "{# z #}" });
    assert.doesNotMatch(text, /[{}%]/);
    assert.ok(Object.values(DJANGO_PATCHES).length === 2);
  });
});

/**
 * Runs the rendered production settings' openedx-im block (only it: the rest needs
 * edx-platform) in Python after `before`, and returns the setting's value.
 */
function settingsAfterPatch(settings: string, name: string, before: Record<string, unknown> = {}): unknown {
  const start = settings.indexOf("# openedx-im: Django settings");
  assert.ok(start >= 0, "the openedx-im block is in the rendered settings");
  const block = settings.slice(start).split("\n");
  const end = block.findIndex((line, i) => i > 0 && line !== "" && !/^(import |def |for |    )/.test(line));
  const code = block.slice(0, end < 0 ? undefined : end).join("\n");
  const program = [
    "import json, sys",
    `globals().update(json.loads(${JSON.stringify(JSON.stringify(before))}))`,
    code,
    `print(json.dumps(globals()[${JSON.stringify(name)}]))`,
  ].join("\n");
  return JSON.parse(execFileSync("/usr/bin/python3", ["-c", program], { encoding: "utf8" })) as unknown;
}
