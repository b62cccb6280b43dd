/**
 * Which rendered Ansible values the operator wrote (trusted: Ansible may template
 * them) and which are data. A pull request's settings, the instance's name and
 * domains, repositories and secrets are never trusted, whatever they overlap.
 */
import { strict as assert } from "node:assert";
import {
  type AnsibleVariablesInput,
  leafPaths,
  renderAnsibleVars,
  trustedVariablePaths,
} from "../components/provisioners/ansible/vars";
import { deriveDomains } from "../config/domains";
import { versionMatrix } from "../config/matrix/data";
import { resolveRelease } from "../config/matrix/resolve";

const JWT = { EDXAPP_JWT_PRIVATE_SIGNING_JWK: "k", COMMON_JWT_PUBLIC_SIGNING_JWK_SET: "s" };

function input(overrides: Partial<AnsibleVariablesInput<unknown>> = {}): AnsibleVariablesInput<unknown> {
  return {
    instance: {
      id: "pr-7",
      name: "PR#7: {{ lookup('pipe', 'id') }}",
      domains: deriveDomains({ subDomain: "pr7", baseDomain: "sandbox.example.com", enabled: { ecommerce: false, discovery: false } }),
      services: { xqueue: true, notes: true, ecommerce: false, discovery: false, forum: true },
    },
    lifecycle: "sandbox",
    release: resolveRelease(versionMatrix, { release: "redwood" }),
    serviceVars: JWT,
    extraSettings: {},
    ...overrides,
  };
}

describe("trusted variable paths", () => {
  it("trusts each leaf of the operator's extraSettings and the release's templated git_clone lists, nothing else", () => {
    const paths = trustedVariablePaths(input({ extraSettings: { EDXAPP_FEATURES: { A: true, B: "{{ x }}" }, LIST: [1, "{{ y }}"], EMPTY: {} } }));
    assert.deepEqual(paths, [["EDXAPP_FEATURES", "A"], ["EDXAPP_FEATURES", "B"], ["EDX_NOTES_API_REPOS"], ["LIST"], ["XQUEUE_REPOS"]]);
    // The name (a pull request's title), domains, repositories: none of it.
    for (const name of ["EDXAPP_PLATFORM_NAME", "edx_platform_repo", "EDXAPP_LMS_BASE", "EDXAPP_JWT_PRIVATE_SIGNING_JWK"])
      assert.ok(!paths.some((path) => path[0] === name), name);
  });

  it("drops an operator path a pull request replaced, extended or cut short", () => {
    const paths = trustedVariablePaths(
      input({
        extraSettings: { SAME: "op", SCALAR: "op", DEEP: { KEEP: 1, CUT: { X: 1 } }, OTHER: { KEEP: true } },
        pullRequestSettings: { SAME: "pr", SCALAR: { ADDED: "{{ evil }}" }, DEEP: { CUT: "pr" }, OTHER: { NEW: 1 }, XQUEUE_REPOS: [] },
      }),
    );
    assert.deepEqual(paths, [["DEEP", "KEEP"], ["EDX_NOTES_API_REPOS"], ["OTHER", "KEEP"]]);
  });

  it("an empty mapping trusts nothing below it, even where a lower layer puts the instance's name", () => {
    const vars = input({ extraSettings: { EDXAPP_LMS_ENV_EXTRA: {} } });
    assert.ok(!trustedVariablePaths(vars).some((path) => path[0] === "EDXAPP_LMS_ENV_EXTRA"));
    assert.deepEqual(leafPaths({ A: {}, B: { C: {} } }), []);
  });

  it("renders the pull request's settings above the operator's, key by key, as the generator used to merge them", () => {
    const vars = renderAnsibleVars(
      input({ extraSettings: { EDXAPP_FEATURES: { A: 1, B: 1 } }, pullRequestSettings: { EDXAPP_FEATURES: { B: 2 }, constructor: "c" } }),
    ) as Record<string, unknown>;
    assert.deepEqual((vars.EDXAPP_FEATURES as Record<string, unknown>).A, 1);
    assert.deepEqual((vars.EDXAPP_FEATURES as Record<string, unknown>).B, 2);
    assert.ok(Object.hasOwn(vars, "constructor"));
    assert.equal(vars.constructor, "c");
  });

  it("merges keys named like Object.prototype's members as ordinary variables", () => {
    const keys = ["constructor", "toString", "hasOwnProperty", "valueOf", "isPrototypeOf", "__defineGetter__"];
    const settings = Object.fromEntries(keys.map((key) => [key, { nested: key }]));
    const vars = renderAnsibleVars(input({ pullRequestSettings: settings, extraSettings: { toString: { other: 1 } } })) as Record<string, unknown>;
    for (const key of keys) assert.equal((vars[key] as Record<string, unknown>).nested, key);
    assert.equal((vars.toString as unknown as Record<string, unknown>).other, 1);
    assert.equal(({} as Record<string, unknown>).nested, undefined);
  });
});
