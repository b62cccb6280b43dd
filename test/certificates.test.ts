/**
 * Certificates in the program: the plan of which certificate covers which name
 * (pure), the config rules, and the offline plans of the example stacks (the real
 * program under the SDK's mocks): the certificate step comes before any domain
 * record, holds no key, and releases on delete. The load-balancer side runs for real
 * in test/tls-certs.test.ts.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { localMainConfig } from "../bench/local-haproxy";
import { hstsHeader, planCertificates } from "../config/certificate-plan";
import { CERTS_SCRIPT_SOURCE, ENSURE_COMMAND, RELEASE_COMMAND } from "../components/certificates";
import { APPLY_SCRIPT_SOURCE } from "../components/load-balancer";
import { deriveDomains, type DomainOptions } from "../config/domains";
import { renderHaproxyFragment } from "../components/haproxy";
import { readStackFile } from "../config/stack-file";
import { INSTANCE_KEY, validateStackConfig } from "../config/stack-config";
import type { Plan } from "../stacks/plan/render";
import { renderStack } from "../stacks/plan/stack";
import { FIXTURE_STACKS } from "./support/stacks";

const none = { ecommerce: false, discovery: false };
const domainsOf = (subDomain: string, baseDomain: string, options: DomainOptions = {}) =>
  deriveDomains({ subDomain, baseDomain, options, enabled: none });

describe("certificate plan", () => {
  it("gives every dash-style sandbox of a base domain the same wildcard certificate", () => {
    const plans = ["pr1", "pr2", "pr999"].map((sub) =>
      planCertificates({ instanceId: sub, baseDomain: "sandbox.example.org", domains: domainsOf(sub, "sandbox.example.org", { style: "dash" }), mode: "shared-wildcard" }),
    );
    for (const plan of plans)
      assert.deepEqual(plan.certificates, [
        { name: "wildcard.sandbox.example.org", names: ["*.sandbox.example.org", "sandbox.example.org"], challenge: "dns-01", zone: "sandbox.example.org" },
      ]);
    assert.deepEqual(plans[1].domains, ["apps-pr2.sandbox.example.org", "pr2.sandbox.example.org", "preview-pr2.sandbox.example.org", "studio-pr2.sandbox.example.org"]);
  });

  it("refuses the shared wildcard for names two labels under the base domain, naming the setting to change", () => {
    assert.throws(
      () => planCertificates({ instanceId: "pr1", baseDomain: "sandbox.example.org", domains: domainsOf("pr1", "sandbox.example.org"), mode: "shared-wildcard" }),
      /studio\.pr1\.sandbox\.example\.org.*domains\.style: dash/,
    );
  });

  it("gives a production instance its own DNS-01 certificate with its candidates' wildcard, and external names an HTTP-01 one", () => {
    const plan = planCertificates({
      instanceId: "mitx",
      baseDomain: "example.org",
      domains: domainsOf("courses", "example.org", { external: { mfe: "learn.mitx.test" } }),
      mode: "instance",
      candidateWildcard: true,
    });
    assert.deepEqual(plan.certificates, [
      {
        name: "instance.mitx",
        names: ["*.candidate.courses.example.org", "courses.example.org", "preview.courses.example.org", "studio.courses.example.org"],
        challenge: "dns-01",
        zone: "example.org",
      },
      { name: "external.mitx", names: ["learn.mitx.test"], challenge: "http-01" },
    ]);
  });

  it("writes HSTS as a header value, and only over HTTPS in the backend", () => {
    assert.equal(hstsHeader({ maxAge: 31536000, includeSubDomains: true, preload: true }), "max-age=31536000;includeSubDomains;preload");
    assert.equal(hstsHeader({ maxAge: 300 }), "max-age=300");
    const fragment = renderHaproxyFragment({
      instanceId: "mitx",
      domains: ["courses.example.org"],
      servers: [{ name: "a-0", address: "192.0.2.1", port: 80 }],
      preliminaryBackend: "openedx-im-preliminary",
      hsts: hstsHeader({ maxAge: 300, includeSubDomains: true }),
    });
    assert.match(fragment.config, /^    http-response set-header Strict-Transport-Security max-age=300;includeSubDomains if \{ ssl_fc \}$/m);
    assert.throws(
      () => renderHaproxyFragment({ instanceId: "x", domains: ["a.example.org"], servers: [], preliminaryBackend: "p", hsts: 'max-age=1" if TRUE' }),
      /hsts .* must be a Strict-Transport-Security value/,
    );

    // HAProxy itself accepts the line, with the TLS main configuration.
    const dir = mkdtempSync(join(tmpdir(), "openedx-im-hsts-"));
    try {
      const files = { crtList: join(dir, "crt-list"), httpsMap: join(dir, "https.map"), defaultCert: join(dir, "default.pem"), mapFile: join(dir, "domains.map") };
      for (const file of [files.crtList, files.httpsMap, files.mapFile]) writeFileSync(file, "");
      spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=t", "-keyout", files.defaultCert, "-out", `${files.defaultCert}.crt`]);
      writeFileSync(files.defaultCert, readFileSync(`${files.defaultCert}.crt`, "utf8") + readFileSync(files.defaultCert, "utf8"));
      writeFileSync(join(dir, "haproxy.cfg"), localMainConfig({ port: 1, mapFile: files.mapFile, tls: { port: 2, ...files } }));
      writeFileSync(join(dir, "instance.cfg"), fragment.config);
      const checked = spawnSync("haproxy", ["-c", "-f", join(dir, "haproxy.cfg"), "-f", join(dir, "instance.cfg")], { encoding: "utf8" });
      assert.equal(checked.status, 0, checked.stdout + checked.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("candidate appservers in the fragment", () => {
  const base = {
    instanceId: "mitx",
    domains: ["courses.example.org", "studio.courses.example.org"],
    servers: [{ name: "a1-0", address: "192.0.2.1", port: 80 }],
    preliminaryBackend: "openedx-im-preliminary",
  };

  it("routes the entry name to the instance's backend and takes the candidate's VMs out of the rotation", () => {
    const fragment = renderHaproxyFragment({
      ...base,
      candidates: [{ id: "a2", servers: [{ name: "a2-0", address: "192.0.2.2", port: 80 }, { name: "a2-1", address: "192.0.2.3", port: 80 }] }],
      candidateSite: { lmsDomain: "courses.example.org", cookieDomain: "courses.example.org" },
    });
    assert.match(fragment.map, /^a2\.candidate\.courses\.example\.org openedx-im-mitx$/m);
    assert.match(fragment.config, /^    server a2-0 192\.0\.2\.2:80 cookie a2-0 weight 0$/m);
    assert.match(fragment.config, /^    server a2-1 192\.0\.2\.3:80 cookie a2-1 weight 0$/m);
    assert.match(fragment.config, /^    use-server a2-0 if \{ req\.cook\(openedx-im-candidate-mitx\) -m str a2 \}$/m);
    assert.doesNotMatch(fragment.config, /["'\\]/);
  });

  it("refuses a cookie domain the LMS is not under, a bad id, and a server name used twice", () => {
    const one = [{ id: "a2", servers: [{ name: "a2-0", address: "192.0.2.2", port: 80 }] }];
    assert.throws(() => renderHaproxyFragment({ ...base, candidates: one, candidateSite: { lmsDomain: "courses.example.org", cookieDomain: "example.net" } }), /cookieDomain example\.net must be the LMS domain/);
    assert.throws(() => renderHaproxyFragment({ ...base, candidates: one }), /candidates need candidateSite/);
    assert.throws(
      () => renderHaproxyFragment({ ...base, candidates: [{ id: "A 2", servers: one[0].servers }], candidateSite: { lmsDomain: "courses.example.org", cookieDomain: "example.org" } }),
      /candidate id "A 2"/,
    );
    assert.throws(
      () => renderHaproxyFragment({ ...base, candidates: [{ id: "a1", servers: [{ name: "a1-0", address: "192.0.2.2", port: 80 }] }], candidateSite: { lmsDomain: "courses.example.org", cookieDomain: "example.org" } }),
      /"a1-0" is used twice/,
    );
  });
});

describe("certificate config", () => {
  const { [INSTANCE_KEY]: _dev, ...fleet } = readStackFile("dev", FIXTURE_STACKS).values;
  const problemsOf = (instance: Record<string, unknown>) => {
    const result = validateStackConfig({ ...fleet, [INSTANCE_KEY]: instance });
    return result.ok ? [] : result.problems;
  };
  const resolved = (instance: Record<string, unknown>) => {
    const result = validateStackConfig({ ...fleet, [INSTANCE_KEY]: instance });
    assert.ok(result.ok, result.ok ? "" : result.problems.join("\n"));
    return result.config.instance.tls;
  };
  const sandbox = { name: "s", subDomain: "pr7", baseDomain: "sandbox.example.org", lifecycle: "sandbox" };

  it("shares the wildcard for dash-style sandboxes, gives subdomain-style ones and production their own", () => {
    assert.deepEqual(resolved({ ...sandbox, domains: { style: "dash" } }), { certificate: "shared-wildcard" });
    assert.deepEqual(resolved(sandbox), { certificate: "instance" });
    assert.deepEqual(
      resolved({ name: "p", subDomain: "courses", baseDomain: "example.org", lifecycle: "production", mysqlServer: "mysql-a", tls: { hsts: { maxAge: 600 } } }),
      { certificate: "instance", hsts: { maxAge: 600 } },
    );
  });

  it("refuses an explicit shared wildcard that cannot cover the names, and HSTS preload without its conditions", () => {
    const wildcard = problemsOf({ ...sandbox, tls: { certificate: "shared-wildcard" } });
    assert.ok(wildcard.some((p) => p.startsWith(`${INSTANCE_KEY}.tls.certificate:`) && p.includes("domains.style: dash")), wildcard.join("\n"));
    const preload = problemsOf({ ...sandbox, tls: { hsts: { maxAge: 600, preload: true } } });
    assert.ok(preload.some((p) => p.startsWith(`${INSTANCE_KEY}.tls.hsts:`) && p.includes("includeSubDomains")), preload.join("\n"));
    const unknown = problemsOf({ ...sandbox, tls: { certificate: "self-signed" } });
    assert.ok(unknown.some((p) => p.startsWith(`${INSTANCE_KEY}.tls.certificate:`) && p.includes("shared-wildcard or instance")), unknown.join("\n"));
  });
});

describe("certificates in the offline plans", function () {
  this.timeout(120_000);
  let plans: Plan[];
  before(async () => {
    plans = [await renderStack("dev", FIXTURE_STACKS), await renderStack("prod", FIXTURE_STACKS)];
  });

  it("obtains the certificate before any of the instance's names points at the load balancer", () => {
    for (const plan of plans) {
      const ensure = plan.resources.find((r) => r.name === "certificates-ensure");
      assert.ok(ensure, `${plan.stack}: no certificates-ensure`);
      const domainRecords = plan.resources.filter((r) => r.type === "gandi:livedns/record:Record" && !/-vm\d+-/.test(r.name));
      assert.ok(domainRecords.length >= 4, plan.stack);
      for (const record of domainRecords) assert.ok(record.dependsOn.includes(ensure.urn), `${plan.stack}: ${record.name} does not wait for the certificate`);
    }
  });

  it("sends names only, by a constant command; the delete releases the instance's use", () => {
    for (const plan of plans) {
      const ensure = plan.resources.find((r) => r.name === "certificates-ensure")!;
      assert.equal(ensure.inputs.create, ENSURE_COMMAND);
      assert.equal(ensure.inputs.update, ENSURE_COMMAND);
      assert.equal(ensure.inputs.delete, RELEASE_COMMAND);
      assert.equal(ensure.deleteBeforeReplace, true);
      const stdin = String(ensure.inputs.stdin);
      assert.doesNotMatch(stdin, /PRIVATE KEY|BEGIN|token|password/i);
      const request = JSON.parse(stdin) as { instanceId: string; certificates: { name: string; challenge: string }[] };
      assert.equal(request.instanceId, plan.stack);
      assert.ok(request.certificates.every((cert) => cert.challenge === "dns-01"));
    }
    const [dev, prod] = plans.map((plan) => JSON.parse(String(plan.resources.find((r) => r.name === "certificates-ensure")!.inputs.stdin)));
    // The fixture sandbox has subdomain-style names (studio.dev.<base>): a certificate of its own.
    assert.deepEqual(dev.certificates.map((c: { name: string }) => c.name), ["instance.dev"]);
    assert.deepEqual(prod.certificates.map((c: { name: string }) => c.name), ["instance.prod"]);
  });

  it("installs the apply script beside the certs script before the first ensure: the certs script reloads through it", () => {
    for (const plan of plans) {
      const ensure = plan.resources.find((r) => r.name === "certificates-ensure")!;
      for (const [name, source] of [["certificates-script", CERTS_SCRIPT_SOURCE], ["certificates-apply-script", APPLY_SCRIPT_SOURCE]]) {
        const install = plan.resources.find((r) => r.name === name);
        assert.ok(install, `${plan.stack}: no ${name}`);
        assert.equal(install.inputs.stdin, readFileSync(source, "utf8"), `${plan.stack}: ${name}`);
        assert.equal(install.inputs.delete, undefined, `${plan.stack}: ${name} is shared by every instance on the host`);
        assert.ok(ensure.dependsOn.includes(install.urn), `${plan.stack}: the ensure does not wait for ${name}`);
      }
    }
  });

  it("prod: the non-active appserver is a candidate at a20261120.candidate.<LMS>, whose wildcard record waits for the certificate too", () => {
    const [dev, prod] = plans;
    const haproxyOf = (plan: Plan) => plan.artifacts.haproxy as { config: string; map: string };
    const map = haproxyOf(prod).map;
    assert.match(map, /^a20261120\.candidate\.courses\.mitx\.opencraft\.example openedx-im-prod$/m);
    assert.doesNotMatch(map, /a20261101\.candidate/);
    const record = prod.resources.find((r) => r.name === "instance-dns-candidates-cname");
    assert.equal(record?.inputs.name, "*.candidate.courses");
    assert.ok(record?.dependsOn.includes(prod.resources.find((r) => r.name === "certificates-ensure")!.urn));
    assert.equal(dev.resources.some((r) => r.name.startsWith("instance-dns-candidates")), false);
    assert.doesNotMatch(haproxyOf(dev).config, /candidate/);
  });
});
