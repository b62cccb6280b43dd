import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { validateStackConfig } from "../config/stack-config";
import { readStackFile } from "../config/stack-file";
import { PRODUCTION_STACK_YAML, SANDBOX_STACK_YAML, StackDir } from "./support/stack-dir";

const ROOT = path.resolve(__dirname, "..");

/** Every problem validation finds in a stack file written from `text`. */
function problemsOfFile(dir: StackDir, stack: string, text: string): string[] {
  dir.write(stack, text);
  const result = validateStackConfig(readStackFile(stack, dir.root).values, { stack });
  return result.ok ? [] : result.problems;
}

function planCli(dir: StackDir, stack: string) {
  return spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, "stacks", "plan-cli.ts"), stack, "--root", dir.root], { encoding: "utf8" });
}

describe("configuration messages (on stack files)", () => {
  let dir: StackDir;
  before(() => (dir = new StackDir()));
  after(() => dir.remove());

  it("accepts the base files these cases start from", () => {
    assert.deepEqual(problemsOfFile(dir, "prod", PRODUCTION_STACK_YAML), []);
    assert.deepEqual(problemsOfFile(dir, "dev", SANDBOX_STACK_YAML), []);
  });

  it('says "required" for a missing key, whatever its type', () => {
    assert.deepEqual(problemsOfFile(dir, "prod", PRODUCTION_STACK_YAML.replace("    subDomain: courses\n", "")), [
      "openedx-im:instance.subDomain: required",
    ]);
    assert.deepEqual(problemsOfFile(dir, "dev", SANDBOX_STACK_YAML.replace("    lifecycle: sandbox\n", "")), [
      "openedx-im:instance.lifecycle: required",
    ]);
    assert.deepEqual(problemsOfFile(dir, "prod", PRODUCTION_STACK_YAML.replace("      - id: a1\n", "      -\n")), [
      "openedx-im:instance.appServers[0].id: required",
    ]);
  });

  it("says what a value of the wrong type should be, without zod's wording", () => {
    const problems = problemsOfFile(dir, "dev", SANDBOX_STACK_YAML + "    dnsTtl: soon\n");
    assert.deepEqual(problems, ['openedx-im:instance.dnsTtl: must be a number, not the string "soon"']);
  });

  it('names the key a misspelt one stands for, with no "required" line for that key', () => {
    assert.deepEqual(problemsOfFile(dir, "prod", PRODUCTION_STACK_YAML.replace("subDomain: courses", "subdomain: courses")), [
      'openedx-im:instance.subdomain: unknown key (did you mean "subDomain"?)',
    ]);
    assert.deepEqual(problemsOfFile(dir, "prod", PRODUCTION_STACK_YAML.replace("activeAppServer: a1", "activeAppserver: a1")), [
      'openedx-im:instance.activeAppserver: unknown key (did you mean "activeAppServer"?)',
    ]);
    // Nested and inside a list entry.
    assert.deepEqual(problemsOfFile(dir, "dev", SANDBOX_STACK_YAML + "    services:\n      ecomerce: true\n"), [
      'openedx-im:instance.services.ecomerce: unknown key (did you mean "ecommerce"?)',
    ]);
    assert.deepEqual(problemsOfFile(dir, "prod", PRODUCTION_STACK_YAML.replace("release: quince", "relase: quince")), [
      'openedx-im:instance.appServers[0].relase: unknown key (did you mean "release"?)',
    ]);
    // Fleet keys and credentials too.
    assert.deepEqual(problemsOfFile(dir, "dev", SANDBOX_STACK_YAML + "  openedx-im:mysqlServer: mysql-a\n"), [
      'openedx-im:mysqlServer: unknown key (did you mean "mysqlServers"?)',
    ]);
    assert.deepEqual(problemsOfFile(dir, "dev", SANDBOX_STACK_YAML + "  openedx-im:credentials:\n    mysq:\n      mysql-a:\n        secure: v1:x\n"), [
      'openedx-im:credentials.mysq: unknown key (did you mean "mysql"?)',
    ]);
  });

  it("lists the known keys when nothing is close", () => {
    const [problem] = problemsOfFile(dir, "dev", SANDBOX_STACK_YAML + "    services:\n      wordpress: true\n");
    assert.equal(problem, "openedx-im:instance.services.wordpress: unknown key (known: xqueue, notes, ecommerce, discovery)");
  });

  it("lists the supported releases for any invalid release, and the nearest one", () => {
    const releases = /\(supported: ([a-z, .0-9-]+)\)/;
    const [misspelt] = problemsOfFile(dir, "prod", PRODUCTION_STACK_YAML.replace("release: quince", "release: quinse"));
    assert.match(misspelt, /^openedx-im:instance\.appServers\[0\]\.release: "quinse" is not a supported release \(did you mean "quince"\?\)/);
    assert.match(misspelt, releases);
    const [capitalised] = problemsOfFile(dir, "prod", PRODUCTION_STACK_YAML.replace("release: quince", "release: Quince"));
    assert.match(capitalised, /^openedx-im:instance\.appServers\[0\]\.release: /);
    assert.ok(releases.exec(capitalised)?.[1].split(", ").includes("quince"), capitalised);
  });

  it("reports a YAML syntax error with its line and column, ending cleanly, through the plan", () => {
    dir.write("broken", SANDBOX_STACK_YAML.replace("    name: A sandbox\n", "    name: A: sandbox: [\n"));
    const run = planCli(dir, "broken");
    assert.equal(run.status, 1);
    const [first, ...excerpt] = run.stderr.trimEnd().split("\n");
    assert.equal(first, "Pulumi.broken.yaml line 3, column 11: not valid YAML: Nested mappings are not allowed in compact mappings");
    assert.ok(excerpt.some((line) => line.includes("name: A: sandbox: [")), run.stderr);
    assert.doesNotMatch(run.stderr, /:\)|\bat .*\.ts:\d+/);
  });

  it("prints the same lines through the plan, one per problem", () => {
    dir.write("typo", PRODUCTION_STACK_YAML.replace("subDomain: courses", "subdomain: courses"));
    const run = planCli(dir, "typo");
    assert.equal(run.status, 1);
    assert.equal(run.stderr, 'openedx-im:instance.subdomain: unknown key (did you mean "subDomain"?)\n1 configuration problem(s)\n');
  });

  describe("an external LMS domain and the MFEs' session cookie", () => {
    const withDomains = (domains: string) => SANDBOX_STACK_YAML + `    domains:\n${domains}`;

    it("refuses an LMS outside baseDomain with the MFEs still under it, and says what to set", () => {
      assert.deepEqual(problemsOfFile(dir, "dev", withDomains("      external:\n        lms: learn.customer.example\n")), [
        "openedx-im:instance.domains.external.lms: the LMS (learn.customer.example) is outside baseDomain sandbox.example.org, " +
          "where the MFEs are (apps.pr42.sandbox.example.org): they cannot share the LMS's session cookie, so sign-in on the MFEs fails; " +
          "set domains.external.mfe to a name under learn.customer.example (e.g. apps.learn.customer.example) and point its DNS at the load balancer, " +
          "or put the LMS under sandbox.example.org",
      ]);
    });

    it("accepts the combinations where the MFEs can read the LMS's cookie", () => {
      for (const domains of [
        "      external:\n        lms: learn.customer.example\n        mfe: apps.learn.customer.example\n",
        "      external:\n        studio: cms.customer.example\n",
      ])
        assert.deepEqual(problemsOfFile(dir, "dev", withDomains(domains)), [], domains);
    });
  });
});
