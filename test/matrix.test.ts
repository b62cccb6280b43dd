import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { checkMatrix } from "../config/matrix/check";
import { versionMatrix } from "../config/matrix/data";
import { releaseForBaseBranch, resolveAll, resolveRelease } from "../config/matrix/resolve";
import type { VersionMatrix } from "../config/matrix/types";
import { scratchProject } from "./support/stacks";

/** A deep copy to break in one place per test. */
const copy = (): VersionMatrix => structuredClone(versionMatrix);

describe("version matrix", () => {
  it("has no errors as shipped, and every (deployment, stage) resolves", () => {
    assert.deepEqual(checkMatrix(versionMatrix).errors, []);
    const all = resolveAll(versionMatrix);
    for (const deployment of Object.keys(versionMatrix.deployments))
      for (const stage of ["CI", "QA", "Production"] as const) assert.ok(all[deployment][stage]?.applications["edx-platform"], `${deployment} ${stage}`);
  });

  it("names a stage that points at an unsupported release", () => {
    const m = copy();
    m.deployments.mitx.CI = "palm";
    assert.ok(checkMatrix(m).errors.some((e) => e.startsWith("deployments.mitx.CI:") && e.includes('"palm" is not supported')));
  });

  it("names a deployment with a missing stage", () => {
    const m = copy();
    delete m.deployments.xpro.QA;
    assert.ok(checkMatrix(m).errors.some((e) => e.startsWith("deployments.xpro:") && e.includes("stage QA is missing")));
  });

  it("names an override for an unknown application", () => {
    const m = copy();
    m.releaseMap.quince.mitx.push({ application: "edx-platfrom", branchOverride: "x" });
    assert.ok(checkMatrix(m).errors.some((e) => e.startsWith("releaseMap.quince.mitx:") && e.includes('unknown application "edx-platfrom"')));
  });

  it("names an application listed twice for the same release and deployment", () => {
    const m = copy();
    m.releaseMap.quince.xpro.push({ application: "forum" });
    assert.ok(checkMatrix(m).errors.some((e) => e.startsWith("releaseMap.quince.xpro:") && e.includes('"forum" is listed twice')));
  });

  it("names a stage whose release has no application list for the deployment (the crash MIT's matrix had)", () => {
    const m = copy();
    m.deployments.xpro.CI = "redwood";
    assert.ok(checkMatrix(m).errors.some((e) => e.includes("deployments.xpro.CI") && e.includes("releaseMap.redwood.xpro")));
  });

  it("reports a supported release no deployment uses, so it can be retired, without failing", () => {
    const report = checkMatrix(versionMatrix);
    assert.ok(report.notices.some((n) => n.includes('"sumac"')));
    const m = copy();
    m.deployments.mitx.CI = "sumac";
    m.releaseMap.sumac = { mitx: [{ application: "edx-platform" }] };
    assert.ok(!checkMatrix(m).notices.some((n) => n.includes('"sumac"')));
  });

  it("pins Tutor and its plugins exactly for every Tutor release, and names a loose or missing one", () => {
    for (const [name, release] of Object.entries(versionMatrix.releases).filter(([, r]) => r.provisioner === "tutor")) {
      assert.ok(release.tutor, name);
      assert.deepEqual(Object.keys(release.tutor.plugins).sort(), ["forum", "mfe"], name);
    }
    assert.equal(versionMatrix.releases.ulmo.tutor?.version, "21.0.8");
    const m = copy();
    m.releases.teak.tutor = { version: "20", series: "teak", plugins: { mfe: "20.1.0" } };
    const errors = checkMatrix(m).errors;
    assert.ok(errors.some((e) => e.startsWith("releases.teak.tutor:") && e.includes('"20" is not an exact version')), errors.join("\n"));
    assert.ok(errors.some((e) => e.startsWith("releases.teak.tutor.plugins:") && e.includes('"forum" is missing')), errors.join("\n"));
  });

  it("keeps master (what pull requests target) without a retire notice although no deployment uses it", () => {
    assert.ok(!checkMatrix(versionMatrix).notices.some((n) => n.includes('"master"')));
    const m = copy();
    delete m.releases.master.pullRequestTarget;
    assert.ok(checkMatrix(m).notices.some((n) => n.includes('"master"')));
  });

  it("names the release a pull request's base branch is built with", () => {
    assert.equal(releaseForBaseBranch(versionMatrix, "master"), "master");
    assert.equal(releaseForBaseBranch(versionMatrix, "open-release/redwood.master"), "redwood");
    assert.equal(releaseForBaseBranch(versionMatrix, "open-release/sumac.master"), "sumac");
    assert.equal(releaseForBaseBranch(versionMatrix, "release/teak"), "teak");
    assert.equal(releaseForBaseBranch(versionMatrix, "feature/x"), undefined);
    assert.equal(releaseForBaseBranch(versionMatrix, "release/palm"), undefined);
  });

  it("resolves overrides: the origin and branch a deployment builds from, defaults for the rest", () => {
    const r = resolveRelease(versionMatrix, { deployment: "mitx", stage: "Production" });
    assert.equal(r.release, "quince");
    assert.deepEqual(r.applications["edx-platform"], {
      name: "edx-platform",
      type: "IDA",
      repository: "https://github.com/mitodl/edx-platform.git",
      ref: "mitx/quince",
    });
    assert.equal(r.applications.forum.repository, versionMatrix.applications.forum.repository);
    assert.equal(r.applications.forum.ref, "open-release/quince.master");
    assert.equal(r.applications["learning-mfe"].path, "/learning");
    assert.equal(r.applications.ecommerce, undefined, "mitx does not run ecommerce");
  });

  it("moves only the stage that changed when one stage is bumped", () => {
    const m = copy();
    m.deployments.mitx.QA = "redwood";
    const before = resolveAll(versionMatrix);
    const after = resolveAll(m);
    assert.notDeepEqual(after.mitx.QA, before.mitx.QA);
    assert.deepEqual(after.mitx.CI, before.mitx.CI);
    assert.deepEqual(after.mitx.Production, before.mitx.Production);
    assert.deepEqual(after["mitx-staging"], before["mitx-staging"]);
  });

  it("throws, naming it, for a deployment the matrix does not know", () => {
    assert.throws(() => resolveRelease(versionMatrix, { deployment: "nope", stage: "CI" }), /unknown deployment "nope"/);
  });
});

describe("npm run matrix: which stacks follow each cell", function () {
  this.timeout(60_000);
  let root: string;
  const stack = (name: string, text: string) => writeFileSync(path.join(root, `Pulumi.${name}.yaml`), text);
  const instance = (fields: string) => `config:\n  openedx-im:instance:\n${fields.trim().split("\n").map((l) => `    ${l.trim()}`).join("\n")}\n`;

  before(() => {
    root = scratchProject("openedx-im-matrix-");
    const sandbox = (name: string, more: string) => instance(`name: ${name}\nsubDomain: ${name}\nbaseDomain: example.org\nlifecycle: sandbox\n${more}`);
    stack("mitx-ci", sandbox("mitx-ci", "deployment: mitx\nstage: CI"));
    stack("pr-7", sandbox("pr-7", "deployment: mitx\nstage: CI"));
    stack("xpro-qa", sandbox("xpro-qa", "deployment: xpro\nstage: QA"));
    stack("own", sandbox("own", "release: redwood"));
    stack(
      "site",
      "config:\n  openedx-im:instance:\n    name: Site\n    subDomain: site\n    baseDomain: example.org\n    lifecycle: production\n    deployment: mitx\n" +
        "    appServers:\n      - { id: a1, release: quince }\n      - { id: a2, release: redwood }\n",
    );
    stack("broken", "config:\n  openedx-im:instance: [unclosed\n");
    stack("empty", "config: {}\n");
    stack("nowhere", sandbox("nowhere", "deployment: mitx\nstage: Staging"));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it("lists the sandboxes of each cell and the production stacks of each deployment; bad files are warnings", () => {
    const result = spawnSync(process.execPath, ["--import", "tsx", path.join(__dirname, "..", "config", "matrix-cli.ts"), "--root", root], { encoding: "utf8" });
    assert.equal(result.status, 0, result.stderr);
    const lines = result.stdout.split("\n").map((l) => l.trim().replace(/\s+/g, " "));
    const mitxCi = versionMatrix.deployments.mitx.CI;
    assert.ok(lines.includes(`mitx CI (${mitxCi}) mitx-ci, pr-7`), result.stdout);
    assert.ok(lines.includes(`xpro QA (${versionMatrix.deployments.xpro.QA}) xpro-qa`), result.stdout);
    assert.ok(lines.includes("mitx site (a1: quince, a2: redwood)"), result.stdout);
    assert.match(result.stdout, /a new release in a stage changes none of them/);
    assert.match(result.stdout, /Stacks with a release of their own \(no cell changes them\): own \(redwood\)/);
    assert.match(result.stderr, /warning: Pulumi\.broken\.yaml line \d+, column \d+: not valid YAML/);
    assert.match(result.stderr, /warning: Pulumi\.empty\.yaml: no openedx-im:instance/);
    assert.match(result.stderr, /warning: Pulumi\.nowhere\.yaml: follows mitx\/Staging, which the matrix does not have/);
  });
});
