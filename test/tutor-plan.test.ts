import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { versionMatrix } from "../config/matrix/data";
import type { TutorSeries } from "../config/matrix/types";
import { type ResourceDiff, diffResources } from "../stacks/plan/diff";
import { type Plan, planToJson } from "../stacks/plan/render";
import { renderStack } from "../stacks/plan/stack";
import { tutorProject } from "./support/real-tutor";

/**
 * Tutor-built appservers in offline plans of the real program: the plan contract,
 * the broker decision, the mitxonline stages, what the real Tutor makes of every
 * Tutor config the example stacks produce, and a production Redwood → Sumac
 * upgrade over the same databases, read off pairs of plans.
 */
const ROOT = path.resolve(__dirname, "..");
const CHECK_PLAN = path.resolve(ROOT, "../shared/tools/check-plan.js");
type Instance = Record<string, unknown>;

interface TutorArtifact {
  provisioner: string;
  tutor: { version: string; plugins: string[]; config: Record<string, unknown>; image: { build: boolean; repository?: string; ref?: string; tag?: string } };
}

const JWT_PEM = execFileSync("openssl", ["genrsa", "2048"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });

/** A plan's Tutor config with "[secret]" values replaced by stand-ins the real Tutor can render. */
function withStandIns(config: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(config).map(([key, value]) => [
      key,
      value !== "[secret]" ? value : key === "JWT_RSA_PRIVATE_KEY" ? JWT_PEM : key === "MEILISEARCH_API_KEY_UID" ? "3f2c1a4e-0b9d-4c7e-8a6f-1d2e3f4a5b6c" : `stand-in-${key.toLowerCase()}`,
    ]),
  );
}

function seriesOf(version: string): TutorSeries {
  const release = Object.values(versionMatrix.releases).find((r) => r.tutor?.version === version);
  assert.ok(release?.tutor, `no release with Tutor ${version}`);
  return release.tutor.series;
}

describe("Tutor-built appservers in plans of the real program", function () {
  this.timeout(300_000);
  let root: string;
  before(() => {
    root = mkdtempSync(path.join(tmpdir(), "openedx-im-tutor-plan-"));
    writeFileSync(path.join(root, "Pulumi.yaml"), readFileSync(path.join(ROOT, "Pulumi.yaml")));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  /** Renders the example stack `from` (changed by `edit`) as stack `as`. */
  async function render(from: string, edit: (instance: Instance) => void = () => {}, as = from): Promise<Plan> {
    const doc = parse(readFileSync(path.join(ROOT, `Pulumi.${from}.yaml`), "utf8")) as { config: Record<string, Instance> };
    edit(doc.config["openedx-im:instance"]);
    writeFileSync(path.join(root, `Pulumi.${as}.yaml`), stringify(doc));
    return renderStack(as, root);
  }
  const tutorArtifacts = (plan: Plan) =>
    Object.entries(plan.artifacts.appservers as Record<string, Record<string, unknown>>).filter(([, a]) => a.provisioner === "tutor") as unknown as [
      string,
      TutorArtifact,
    ][];

  it("an Ulmo sandbox: provisioner tutor with the exact version, plugins and config, secrets hidden, the contract holds", async () => {
    const plan = await render("ulmo");
    const [[, artifact]] = tutorArtifacts(plan);
    assert.equal(artifact.tutor.version, "21.0.8");
    assert.deepEqual(artifact.tutor.plugins, ["mfe", "forum", "openedx_im"]);
    assert.equal(artifact.tutor.config.LMS_HOST, "ulmo.sandbox.opencraft.example");
    for (const key of ["OPENEDX_SECRET_KEY", "JWT_RSA_PRIVATE_KEY", "OPENEDX_MYSQL_PASSWORD", "MYSQL_ROOT_PASSWORD", "CMS_OAUTH2_SECRET"])
      assert.equal(artifact.tutor.config[key], "[secret]", key);
    assert.ok(!("ansibleVars" in artifact));
    const json = planToJson(plan);
    assert.match(execFileSync("node", [CHECK_PLAN], { input: json, encoding: "utf8" }), /contract holds/);
  });

  it("brokers: an instance whose appservers are all Tutor-built gets no RabbitMQ vhost; an Ansible-built one does", async () => {
    const tutorOnly = await render("ulmo");
    assert.deepEqual(tutorOnly.resources.filter((r) => r.type.startsWith("rabbitmq:")).map((r) => r.name), []);
    assert.equal(tutorOnly.outputs.rabbitmq, null);
    const ansible = await render("dev");
    assert.ok(ansible.resources.some((r) => r.type === "rabbitmq:index/vHost:VHost"));
  });

  it("the load balancer sends traffic to the port the real Tutor serves on", async () => {
    const plan = await render("ulmo");
    const [[id, artifact]] = tutorArtifacts(plan);
    const project = tutorProject(seriesOf(artifact.tutor.version), withStandIns(artifact.tutor.config), { patches: {}, skipInitTasks: [] });
    try {
      const served = project.printvalue("CADDY_HTTP_PORT");
      const haproxy = (plan.artifacts.haproxy as { config: string }).config;
      assert.match(haproxy, new RegExp(`server ${id}-0 [0-9.]+:${served} `));
    } finally {
      rmSync(project.root, { recursive: true, force: true });
    }
  });

  it("the mitxonline stages plan cleanly, and the real Tutor accepts every Tutor config the example stacks produce", async () => {
    const plans: Plan[] = [await render("ulmo")];
    for (const stage of ["CI", "QA", "Production"])
      plans.push(
        await render(
          "dev",
          (i) => {
            delete i.release;
            delete i.extraSettings;
            i.deployment = "mitxonline";
            i.stage = stage;
            i.image = "ubuntu-24.04-server-cloudimg";
          },
          `mitxonline-${stage.toLowerCase()}`,
        ),
      );
    for (const plan of plans) {
      const [[, artifact]] = tutorArtifacts(plan);
      const project = tutorProject(seriesOf(artifact.tutor.version), withStandIns(artifact.tutor.config), { patches: {}, skipInitTasks: [] });
      try {
        const lms = parse(project.env("apps/openedx/config/lms.env.yml")) as Record<string, unknown>;
        assert.equal(lms.LMS_BASE, artifact.tutor.config.LMS_HOST, plan.stack);
      } finally {
        rmSync(project.root, { recursive: true, force: true });
      }
    }
    // mitxonline builds from its own fork's master: the image is built on the VM from there.
    const ci = tutorArtifacts(plans[1])[0][1];
    assert.deepEqual(ci.tutor.image, { build: true, repository: "https://github.com/mitodl/edx-platform.git", ref: "master", tag: ci.tutor.image.tag });
  });

  describe("production upgrade Redwood (Ansible) → Sumac (Tutor) over the same databases", () => {
    const redwood = (i: Instance) => {
      // No deployment: its repositories and branches exist for quince and redwood only (a Sumac entry would lose them).
      delete i.deployment;
      i.appServers = [{ id: "r1", release: "redwood", extraSettings: { EDXAPP_PLATFORM_NAME: "MITx Residential" } }];
      i.activeAppServer = "r1";
    };
    const withSumac = (i: Instance) => {
      redwood(i);
      (i.appServers as Instance[]).push({ id: "s1", release: "sumac", image: "ubuntu-24.04-server-cloudimg", extraSettings: { PLATFORM_NAME: "MITx Residential" } });
    };
    const active = (i: Instance) => {
      withSumac(i);
      i.activeAppServer = "s1";
    };
    const removed = (i: Instance) => {
      active(i);
      i.appServers = (i.appServers as Instance[]).filter((entry) => entry.id === "s1");
    };
    const changes = (diffs: ResourceDiff[]) => diffs.filter((d) => d.change !== "same").map((d) => `${d.change} ${d.name}`);

    it("1. add the Sumac entry: a Tutor appserver is built beside the active one; data, broker and traffic untouched", async () => {
      const diffs = diffResources(await render("prod", redwood, "upgrade"), await render("prod", withSumac, "upgrade"));
      const changed = changes(diffs);
      assert.ok(changed.includes("create appserver-s1-provision0-run"), changed.join("\n"));
      // The fragment changes only to add the candidate's pin lines (docs/load-balancer.md, the pre-activation check).
      assert.ok(changed.every((c) => /^create appserver-s1($|-)|^create instance-dns-vm\d-s1$|^update load-balancer-apply$/.test(c)), changed.join("\n"));
    });

    it("   the new appserver uses the old one's databases and a scoped user, with the instance's secrets", async () => {
      const plan = await render("prod", withSumac, "upgrade");
      const appservers = plan.artifacts.appservers as Record<string, Record<string, unknown>>;
      const ansible = appservers.r1.ansibleVars as Record<string, unknown>;
      const tutor = (appservers.s1 as unknown as TutorArtifact).tutor.config;
      assert.equal(tutor.OPENEDX_MYSQL_DATABASE, ansible.EDXAPP_MYSQL_DB_NAME);
      assert.equal(tutor.MYSQL_HOST, ansible.EDXAPP_MYSQL_HOST);
      assert.equal(tutor.OPENEDX_MYSQL_USERNAME, ansible.COMMON_MYSQL_MIGRATE_USER, "Tutor's one user is the instance's migrate user");
      assert.equal(tutor.MONGODB_DATABASE, ansible.EDXAPP_MONGO_DB_NAME);
      assert.equal(tutor.MONGODB_USERNAME, ansible.EDXAPP_MONGO_USER);
      assert.equal(tutor.RUN_MYSQL, false);
      assert.equal(tutor.OPENEDX_SECRET_KEY, "[secret]");
      assert.equal((appservers.s1 as unknown as TutorArtifact).tutor.image.build, false, "a release build uses Tutor's published image");
    });

    it("2. activate it: only the load-balancer fragment changes", async () => {
      const after = await render("prod", active, "upgrade");
      assert.deepEqual(changes(diffResources(await render("prod", withSumac, "upgrade"), after)), ["update load-balancer-apply"]);
      assert.match((after.artifacts.haproxy as { config: string }).config, /server s1-0 [0-9.]+:80 /);
    });

    it("3. remove the Redwood entry: its VMs go; databases, users and grants stay; the broker vhost is dropped from the stack but retained", async () => {
      const before = await render("prod", active, "upgrade");
      const after = await render("prod", removed, "upgrade");
      const diffs = diffResources(before, after);
      for (const d of diffs.filter((x) => x.change !== "same"))
        assert.ok(/^appserver-r1|^instance-dns-vm\d-r1$|^instance-rabbitmq($|-)|^instance-secrets-password-rabbit-|^load-balancer-apply$/.test(d.name), `${d.change} ${d.name}`);
      for (const d of diffs.filter((x) => /^instance-(mysql|mongodb)-/.test(x.name))) assert.equal(d.change, "same", d.name);
      const vhost = before.resources.find((r) => r.type === "rabbitmq:index/vHost:VHost");
      assert.ok(vhost && vhost.retainOnDelete && vhost.protect, "the vhost is retained (and protected: docs/tutor.md says how to let it go)");
      assert.ok(diffs.some((d) => d.name === vhost.name && d.change === "delete"));
    });
  });
});
