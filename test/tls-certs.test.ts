/**
 * scripts/lb/openedx-im-certs against the real tools: HAProxy 2.6 in master-worker
 * mode (TLS on a loopback port, the example main config), pebble as the ACME CA,
 * pebble-challtestsrv as the DNS the DNS-01 challenges are written to, and lego.
 * Requests are made by the program's own planner (components/certificate-plan.ts).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer, type Server } from "node:http";
import { dirname, join } from "node:path";
import { hstsHeader, planCertificates, type CertificateMode, type CertificateRequest } from "../config/certificate-plan";
import { deriveDomains, type DomainOptions } from "../config/domains";
import { renderHaproxyFragment } from "../components/haproxy";
import { applyRequest } from "../components/load-balancer";
import { CERTS_SCRIPT, LocalAcme, httpsGet, peerCertificate, runCertsScript } from "../bench/local-acme";
import { freePort, httpGet, LocalHaproxy, runApplyScript, startNamedBackend, type NamedBackend } from "../bench/local-haproxy";

const SANDBOX_BASE = "sandbox.tls.test";

function request(instanceId: string, subDomain: string, baseDomain: string, mode: CertificateMode, options: DomainOptions = {}): CertificateRequest {
  const domains = deriveDomains({ subDomain, baseDomain, options, enabled: { ecommerce: false, discovery: false } });
  return planCertificates({ instanceId, baseDomain, domains, mode, candidateWildcard: mode === "instance" });
}

describe("openedx-im-certs (real HAProxy, pebble, challtestsrv, lego)", function () {
  this.timeout(180_000);
  let lb: LocalHaproxy;
  let acme: LocalAcme;
  let root: string;
  let backend: NamedBackend;
  const env = () => lb.env({ OPENEDX_IM_CERTS_CONFIG: acme.configFile });
  const certs = (command: string, body?: unknown) => runCertsScript(command, body, env());
  const route = async (instanceId: string, domains: string[], hsts?: string) => {
    const fragment = renderHaproxyFragment({
      instanceId,
      domains,
      servers: [{ name: "a-0", address: "127.0.0.1", port: backend.port }],
      preliminaryBackend: "openedx-im-preliminary",
      ...(hsts ? { hsts } : {}),
    });
    const applied = await runApplyScript("apply", applyRequest(instanceId, fragment), lb.env());
    assert.equal(applied.status, 0, applied.stderr);
  };
  const crtList = () => readFileSync(lb.paths.crtList, "utf8");

  before(async () => {
    const http01Port = await freePort();
    lb = await LocalHaproxy.start({ hardStopAfterSeconds: 20, tls: { http01Port } });
    acme = await LocalAcme.start({ httpPort: lb.port, http01Port });
    root = await acme.root();
    backend = await startNamedBackend("appserver");
  });

  after(async () => {
    await lb?.stop();
    await acme?.stop();
    await backend?.close();
  });

  it("obtains a new production instance's certificate over DNS-01 and serves every domain with it over HTTPS", async () => {
    const prod = request("prod", "courses", "mitx.tls.test", "instance");
    const ensured = await certs("ensure", prod);
    assert.equal(ensured.status, 0, ensured.stderr);
    assert.match(ensured.stderr, /newly obtained: instance\.prod/);
    await route("prod", prod.domains);

    for (const domain of prod.domains) {
      const peer = await peerCertificate(lb.tlsPort!, domain, root);
      assert.ok(peer.authorized, `${domain}: ${peer.authorizationError}`);
      assert.ok(peer.names.includes(domain), `${domain} not in ${peer.names.join(" ")}`);
      const answer = await httpsGet(lb.tlsPort!, domain, root);
      assert.equal(answer.status, 200);
      assert.equal(answer.body, "appserver");
    }
    // Candidate appservers' names are covered already: no certificate per candidate.
    assert.ok((await peerCertificate(lb.tlsPort!, "a20261201.candidate.courses.mitx.tls.test", root)).authorized);
    // Plain HTTP is redirected; a name without a certificate gets the default one, not an error page of someone else's.
    const plain = await httpGet(`${lb.url}/dashboard?x=1`, "courses.mitx.tls.test");
    assert.equal(plain.status, 301);
    const unknown = await peerCertificate(lb.tlsPort!, "nobody.elsewhere.test", root);
    assert.equal(unknown.authorized, false);
    assert.deepEqual(unknown.names, []);
    // The private key stays in a file only its owner reads.
    assert.equal(readFileSync(join(lb.paths.certsDir, "instance.prod.pem"), "utf8").includes("PRIVATE KEY"), true);
    assert.match(ensured.stderr + ensured.stdout, /^(?![\s\S]*PRIVATE KEY)/);
  });

  it("redirects plain HTTP with the path and query, but lets ACME HTTP-01 challenges through", async () => {
    const answer = await new Promise<{ status: number; location: string }>((done, fail) => {
      import("node:http").then(({ request: httpRequest }) => {
        const sent = httpRequest(`${lb.url}/courses?page=2`, { headers: { host: "studio.courses.mitx.tls.test" } }, (response) => {
          response.resume();
          done({ status: response.statusCode ?? 0, location: String(response.headers.location) });
        });
        sent.on("error", fail);
        sent.end();
      }, fail);
    });
    assert.deepEqual(answer, { status: 301, location: "https://studio.courses.mitx.tls.test/courses?page=2" });
    const challenge = await httpGet(`${lb.url}/.well-known/acme-challenge/x`, "courses.mitx.tls.test");
    assert.equal(challenge.status, 503); // lego is not listening now: the challenge backend answers, not a redirect
  });

  it("sends the instance's HSTS header on HTTPS answers once the apply script has installed it", async () => {
    const prod = request("prod", "courses", "mitx.tls.test", "instance");
    assert.equal((await httpsGet(lb.tlsPort!, "courses.mitx.tls.test", root)).headers["strict-transport-security"], undefined);
    await route("prod", prod.domains, hstsHeader({ maxAge: 300, includeSubDomains: true }));
    const answer = await httpsGet(lb.tlsPort!, "studio.courses.mitx.tls.test", root);
    assert.equal(answer.headers["strict-transport-security"], "max-age=300;includeSubDomains");
    await route("prod", prod.domains);
  });

  it("pins a browser to a candidate appserver at its entry name, then serves it under the instance's real names over HTTPS", async () => {
    const candidate = await startNamedBackend("candidate");
    const prod = request("prod", "courses", "mitx.tls.test", "instance");
    const lms = "courses.mitx.tls.test";
    try {
      const fragment = renderHaproxyFragment({
        instanceId: "prod",
        domains: prod.domains,
        servers: [{ name: "a1-0", address: "127.0.0.1", port: backend.port }],
        preliminaryBackend: "openedx-im-preliminary",
        candidates: [{ id: "a2", servers: [{ name: "a2-0", address: "127.0.0.1", port: candidate.port }] }],
        candidateSite: { lmsDomain: lms, cookieDomain: lms },
      });
      const applied = await runApplyScript("apply", applyRequest("prod", fragment), lb.env());
      assert.equal(applied.status, 0, applied.stderr);

      const entry = "a2.candidate.courses.mitx.tls.test";
      const pinning = await httpsGet(lb.tlsPort!, entry, root);
      assert.equal(pinning.status, 302);
      assert.equal(pinning.headers.location, `https://${lms}/`);
      assert.deepEqual(pinning.headers["set-cookie"], [`openedx-im-candidate-prod=a2;Domain=${lms};Path=/;Secure;HttpOnly;SameSite=Lax`]);
      const pin = { cookie: "openedx-im-candidate-prod=a2" };
      for (const domain of prod.domains) {
        assert.equal((await httpsGet(lb.tlsPort!, domain, root, { headers: pin })).body, "candidate", domain);
        assert.equal((await httpsGet(lb.tlsPort!, domain, root)).body, "appserver", domain);
      }
      // The pin wins over the active appserver's stickiness; a candidate's stickiness without the pin counts for nothing.
      assert.equal((await httpsGet(lb.tlsPort!, lms, root, { headers: { cookie: "openedx-im-server=a1-0; openedx-im-candidate-prod=a2" } })).body, "candidate");
      assert.equal((await httpsGet(lb.tlsPort!, lms, root, { headers: { cookie: "openedx-im-server=a2-0" } })).body, "appserver");
      assert.equal((await httpsGet(lb.tlsPort!, lms, root, { headers: { cookie: "openedx-im-candidate-prod=a9" } })).body, "appserver");
      const leaving = await httpsGet(lb.tlsPort!, entry, root, { path: "/leave", headers: pin });
      assert.equal(leaving.status, 302);
      assert.match(String(leaving.headers["set-cookie"]), /^openedx-im-candidate-prod=;.*Max-Age=0/);
      assert.equal((await httpGet(`${lb.url}/`, entry)).status, 301);
    } finally {
      await route("prod", prod.domains);
      await candidate.close();
    }
  });

  it("gives a second sandbox the shared wildcard without obtaining another certificate", async () => {
    const first = request("pr1", "pr1", SANDBOX_BASE, "shared-wildcard", { style: "dash" });
    const second = request("pr2", "pr2", SANDBOX_BASE, "shared-wildcard", { style: "dash" });
    assert.deepEqual(first.certificates, second.certificates);

    const one = await certs("ensure", first);
    assert.equal(one.status, 0, one.stderr);
    assert.match(one.stderr, /newly obtained: wildcard\.sandbox\.tls\.test/);
    const servedFirst = await peerCertificate(lb.tlsPort!, "studio-pr1.sandbox.tls.test", root);

    const two = await certs("ensure", second);
    assert.equal(two.status, 0, two.stderr);
    assert.match(two.stderr, /newly obtained: none/);
    await route("pr2", second.domains);
    const servedSecond = await peerCertificate(lb.tlsPort!, "apps-pr2.sandbox.tls.test", root);
    assert.ok(servedSecond.authorized, servedSecond.authorizationError);
    assert.equal(servedSecond.serial, servedFirst.serial);
    assert.equal((await httpsGet(lb.tlsPort!, "pr2.sandbox.tls.test", root)).body, "appserver");
    assert.equal(crtList().split("\n").filter((line) => line.endsWith("wildcard.sandbox.tls.test.pem")).length, 1);

    const listed = await certs("list");
    assert.equal(listed.status, 0, listed.stderr);
    const line = listed.stdout.split("\n").find((row) => row.startsWith("wildcard.sandbox.tls.test"));
    assert.ok(line, listed.stdout);
    assert.match(line, /pr1,pr2/);
    assert.match(line, /\*\.sandbox\.tls\.test sandbox\.tls\.test/);
    assert.match(line, / \d{4}-\d\d-\d\d \d\d:\d\d /);
  });

  it("renews every certificate due with one seamless reload: clients on HTTPS see no failure", async () => {
    const before = await peerCertificate(lb.tlsPort!, "pr2.sandbox.tls.test", root);
    const nothingDue = await certs("renew");
    assert.equal(nothingDue.status, 0, nothingDue.stderr);
    assert.match(nothingDue.stderr, /0 installed \(none due\)/);

    let running = true;
    let requests = 0;
    const failures: string[] = [];
    const hammer = async (host: string) => {
      while (running) {
        requests += 1;
        try {
          const answer = await httpsGet(lb.tlsPort!, host, root);
          if (answer.status !== 200 || answer.body !== "appserver") failures.push(`${host}: ${answer.status}`);
        } catch (error) {
          failures.push(`${host}: ${(error as Error).message}`);
        }
      }
    };
    const clients = ["pr2.sandbox.tls.test", "studio-pr2.sandbox.tls.test", "courses.mitx.tls.test", "apps.courses.mitx.tls.test"].map(hammer);
    acme.writeConfig({ renewDays: 365 * 10 }); // pebble's certificates last 5 years: every one is due
    const renewed = await certs("renew");
    await new Promise((done) => setTimeout(done, 300));
    running = false;
    await Promise.all(clients);
    acme.writeConfig({ renewDays: 30 });

    assert.equal(renewed.status, 0, renewed.stderr);
    assert.match(renewed.stderr, /2 installed \(instance\.prod, wildcard\.sandbox\.tls\.test\)/);
    const after = await peerCertificate(lb.tlsPort!, "pr2.sandbox.tls.test", root);
    assert.ok(after.authorized);
    assert.notEqual(after.serial, before.serial);
    assert.deepEqual(failures, []);
    assert.ok(requests > 20, `only ${requests} requests during the renewal`);
  });

  it("reports a failed renewal with a log line and a non-zero exit, and keeps serving the installed certificate", async () => {
    const before = await peerCertificate(lb.tlsPort!, "courses.mitx.tls.test", root);
    acme.breakDns();
    acme.writeConfig({ renewDays: 365 * 10, dnsApiUrl: "http://127.0.0.1:1" });
    const renewed = await certs("renew");
    acme.writeConfig({ renewDays: 30 });
    assert.equal(renewed.status, 6, renewed.stderr);
    assert.match(renewed.stderr, /RENEWAL FAILED: instance\.prod \(.*courses\.mitx\.tls\.test.*\) for prod: \d+ days left/);
    const after = await peerCertificate(lb.tlsPort!, "courses.mitx.tls.test", root);
    assert.equal(after.serial, before.serial);
    assert.ok(after.authorized);
  });

  it("a failed issuance for a new instance changes nothing: no use recorded, the previous configuration serves", async () => {
    const listBefore = crtList();
    const mapBefore = readFileSync(lb.paths.httpsMap, "utf8");
    acme.breakDns();
    const newcomer = request("neo", "learn", "neo.tls.test", "instance");
    const failed = await certs("ensure", newcomer);
    acme.writeConfig();
    assert.equal(failed.status, 5, failed.stderr);
    assert.match(failed.stderr, /certificate instance\.neo \(.*learn\.neo\.tls\.test.*\) could not be obtained \(dns-01\)/);
    assert.equal(existsSync(join(lb.paths.usesDir, "neo.json")), false);
    assert.equal(crtList(), listBefore);
    assert.equal(readFileSync(lb.paths.httpsMap, "utf8"), mapBefore);
    assert.equal((await httpsGet(lb.tlsPort!, "courses.mitx.tls.test", root)).body, "appserver");
  });

  it("refuses a request whose wildcard names disagree with the instances already sharing it", async () => {
    const odd = request("pr3", "pr3", SANDBOX_BASE, "shared-wildcard", { style: "dash" });
    odd.certificates[0].names = ["*.sandbox.tls.test"];
    const refused = await certs("ensure", odd);
    assert.equal(refused.status, 1, refused.stderr);
    assert.match(refused.stderr, /certificate wildcard\.sandbox\.tls\.test is used by instance pr1/);
  });

  it("removing an instance keeps a certificate another instance uses and removes one nobody uses", async () => {
    const servedBefore = await peerCertificate(lb.tlsPort!, "pr2.sandbox.tls.test", root);
    const first = await certs("release", { instanceId: "pr1" });
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stderr, /kept wildcard\.sandbox\.tls\.test \(still used by pr2\)/);
    assert.equal((await peerCertificate(lb.tlsPort!, "pr2.sandbox.tls.test", root)).serial, servedBefore.serial);
    assert.ok(existsSync(join(lb.paths.certsDir, "wildcard.sandbox.tls.test.pem")));

    const second = await certs("release", { instanceId: "pr2" });
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stderr, /removed wildcard\.sandbox\.tls\.test/);
    assert.equal(existsSync(join(lb.paths.certsDir, "wildcard.sandbox.tls.test.pem")), false);
    assert.doesNotMatch(crtList(), /wildcard/);
    assert.doesNotMatch(readFileSync(lb.paths.httpsMap, "utf8"), /sandbox/);
    const gone = await peerCertificate(lb.tlsPort!, "pr2.sandbox.tls.test", root);
    assert.equal(gone.authorized, false);
    // Its plain-HTTP domains are no longer redirected to a certificate that is gone.
    assert.notEqual((await httpGet(`${lb.url}/`, "pr2.sandbox.tls.test")).status, 301);
    // The other instance is untouched.
    assert.ok((await peerCertificate(lb.tlsPort!, "courses.mitx.tls.test", root)).authorized);
    const again = await certs("release", { instanceId: "pr2" });
    assert.equal(again.status, 0, again.stderr);
  });

  it("an external domain is pending (plain HTTP) until its owner points it here, then the timer's run obtains it over HTTP-01 through HAProxy", async () => {
    const external = request("ext", "ext", "ext.tls.test", "instance", { external: { lms: "learn.external-school.test" } });
    assert.deepEqual(
      external.certificates.map((c) => [c.name, c.challenge]),
      [["instance.ext", "dns-01"], ["external.ext", "http-01"]],
    );
    await route("ext", external.domains);
    await acme.pointNamesAt("127.0.0.2"); // the external name still points elsewhere
    const ensured = await certs("ensure", external);
    assert.equal(ensured.status, 0, ensured.stderr);
    assert.match(ensured.stderr, /external\.ext: pending until learn\.external-school\.test point\(s\) at this load balancer/);
    assert.match(ensured.stderr, /newly obtained: instance\.ext; pending: external\.ext/);
    assert.equal((await httpGet(`${lb.url}/`, "learn.external-school.test")).body, "appserver"); // served, not redirected
    assert.equal((await httpGet(`${lb.url}/`, "studio.ext.ext.tls.test")).status, 301);
    assert.match((await certs("list")).stdout, /^external\.ext +pending +- +http-01 +ext +learn\.external-school\.test$/m);

    const stillPending = await certs("renew");
    assert.equal(stillPending.status, 0, stillPending.stderr); // waiting for the owner is not a renewal failure
    assert.match(stillPending.stderr, /pending: external\.ext/);

    await acme.pointNamesAt("127.0.0.1");
    const renewed = await certs("renew");
    assert.equal(renewed.status, 0, renewed.stderr);
    assert.match(renewed.stderr, /1 installed \(external\.ext\)/);
    const peer = await peerCertificate(lb.tlsPort!, "learn.external-school.test", root);
    assert.ok(peer.authorized, peer.authorizationError);
    assert.equal((await httpsGet(lb.tlsPort!, "learn.external-school.test", root)).body, "appserver");
    assert.equal((await httpGet(`${lb.url}/`, "learn.external-school.test")).status, 301);
  });
});

describe("openedx-im-certs: the Gandi LiveDNS adapter (a local server speaking LiveDNS)", function () {
  this.timeout(30_000);
  let server: Server;
  let port: number;
  const calls: { method: string; url: string; authorization: string; body: string }[] = [];
  let records: Record<string, string[]> = {};
  let refuse = false;
  let dir: LocalAcme | undefined;

  before(async () => {
    port = await freePort();
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => {
        calls.push({ method: req.method ?? "", url: req.url ?? "", authorization: String(req.headers.authorization), body });
        if (refuse) return res.writeHead(403, { "content-type": "application/json" }).end(JSON.stringify({ message: "Bearer token-secret-123 forbidden" }));
        const key = req.url ?? "";
        if (req.method === "GET") {
          if (!records[key]) return res.writeHead(404).end(JSON.stringify({ code: 404 }));
          return res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ rrset_values: records[key] }));
        }
        if (req.method === "PUT") records[key] = (JSON.parse(body) as { rrset_values: string[] }).rrset_values;
        if (req.method === "DELETE") delete records[key];
        res.writeHead(req.method === "PUT" ? 201 : 204).end();
      });
    });
    await new Promise<void>((done) => server.listen(port, "127.0.0.1", done));
  });

  after(async () => {
    await new Promise<void>((done) => server.close(() => done()));
    await dir?.stop();
  });

  it("adds and removes one TXT value per call with the personal access token, keeping the other value of the name", async () => {
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const work = mkdtempSync(join(tmpdir(), "openedx-im-gandi-"));
    writeFileSync(join(work, "token"), "token-secret-123\n", { mode: 0o600 });
    writeFileSync(
      join(work, "certs.json"),
      JSON.stringify({ acme: { email: "ops@example.org" }, dns: { provider: "gandi", apiUrl: `http://127.0.0.1:${port}/v5/livedns`, tokenFile: join(work, "token") } }),
    );
    const env = { ...process.env, OPENEDX_IM_CERTS_CONFIG: join(work, "certs.json"), OPENEDX_IM_DNS_ZONE: "sandbox.example.org" };
    const { spawn } = await import("node:child_process");
    // Asynchronous: the LiveDNS stand-in answers from this very process.
    const hook = (...args: string[]) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((done, fail) => {
        const child = spawn(join(__dirname, "..", "scripts/lb/openedx-im-certs"), args, { env, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        child.on("error", fail);
        child.on("close", (status) => done({ status, stdout, stderr }));
      });
    const ok = async (...args: string[]) => {
      const result = await hook(...args);
      assert.equal(result.status, 0, result.stderr);
    };

    const path = "/v5/livedns/domains/sandbox.example.org/records/_acme-challenge/TXT";
    await ok("present", "_acme-challenge.sandbox.example.org.", "first");
    await ok("present", "_acme-challenge.sandbox.example.org.", "second");
    assert.deepEqual(records[path], ['"first"', '"second"']);
    assert.ok(calls.every((call) => call.authorization === "Bearer token-secret-123"));
    await ok("cleanup", "_acme-challenge.sandbox.example.org.", "first");
    assert.deepEqual(records[path], ['"second"']);
    await ok("cleanup", "_acme-challenge.sandbox.example.org.", "second");
    assert.equal(records[path], undefined);
    assert.equal(calls.at(-1)?.method, "DELETE");

    const outside = await hook("present", "_acme-challenge.other.example.net.", "x");
    assert.equal(outside.status, 5);
    assert.match(outside.stderr, /not in the zone 'sandbox\.example\.org'/);

    refuse = true;
    const refused = await hook("present", "_acme-challenge.pr9.sandbox.example.org.", "x");
    assert.equal(refused.status, 5);
    assert.match(refused.stderr, /HTTP 403/);
    assert.doesNotMatch(refused.stderr + refused.stdout, /token-secret-123/);
    records = {};
    refuse = false;
  });
});

describe("openedx-im-certs: one copy of the lock and reload, the apply script's", function () {
  it("imports them from openedx-im-lb-apply beside it, as installed on the host, and names the file when it is missing", () => {
    const dir = mkdtempSync(join(tmpdir(), "openedx-im-certs-alone-"));
    try {
      copyFileSync(CERTS_SCRIPT, join(dir, "openedx-im-certs"));
      const alone = spawnSync(join(dir, "openedx-im-certs"), ["list"], { encoding: "utf8", env: { PATH: process.env.PATH } });
      assert.equal(alone.status, 7, alone.stderr);
      assert.match(alone.stderr, /openedx-im-lb-apply is missing; it is installed beside this script/);
      // An apply script from another version (another stack's older `up`): one line, no traceback.
      const applyText = readFileSync(join(dirname(CERTS_SCRIPT), "openedx-im-lb-apply"), "utf8");
      writeFileSync(join(dir, "openedx-im-lb-apply"), applyText.replace(/^SHARED_INTERFACE = \d+$/m, "SHARED_INTERFACE = 0"));
      const older = spawnSync(join(dir, "openedx-im-certs"), ["list"], { encoding: "utf8", env: { PATH: process.env.PATH } });
      assert.equal(older.status, 7, older.stderr);
      assert.match(older.stderr, /from another version of openedx-im .*install both scripts/);
      assert.doesNotMatch(older.stderr, /Traceback/);
      copyFileSync(join(dirname(CERTS_SCRIPT), "openedx-im-lb-apply"), join(dir, "openedx-im-lb-apply"));
      const uses = join(dir, "tls.d");
      const beside = spawnSync(join(dir, "openedx-im-certs"), ["list"], { encoding: "utf8", env: { PATH: process.env.PATH, OPENEDX_IM_CERTS_USES_DIR: uses } });
      assert.equal(beside.status, 0, beside.stderr);
      assert.match(beside.stdout, /^certificate/);
      assert.deepEqual(readdirSync(dir).sort(), ["openedx-im-certs", "openedx-im-lb-apply"], "no bytecode cache beside the scripts");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("openedx-im-certs: hostile requests (real HAProxy with TLS)", function () {
  this.timeout(60_000);
  let lb: LocalHaproxy;
  let env: NodeJS.ProcessEnv;
  const ok = { name: "ok", names: ["ok.hostile.test"], challenge: "dns-01", zone: "hostile.test" };
  const state = () =>
    [lb.paths.crtList, lb.paths.httpsMap, lb.paths.usesDir, lb.paths.certsDir].map((path) =>
      existsSync(path) ? (path.endsWith("list") || path.endsWith("map") ? readFileSync(path, "utf8") : readdirSync(path).sort().join(",")) : null,
    );

  before(async () => {
    lb = await LocalHaproxy.start({ hardStopAfterSeconds: 20, tls: {} });
    const config = join(lb.paths.dir, "certs.json");
    writeFileSync(config, JSON.stringify({ acme: { email: "ops@hostile.test" }, dataDir: join(lb.paths.dir, "acme") }));
    env = lb.env({ OPENEDX_IM_CERTS_CONFIG: config });
  });
  after(async () => lb?.stop());

  it("refuses names that would add crt-list options, lines or paths, and wildcards out of place: exit 1, nothing written", async () => {
    const cert = (patch: Record<string, unknown>) => ({ instanceId: "evil", domains: ["ok.hostile.test"], certificates: [{ ...ok, ...patch }] });
    const hostile: [string, unknown][] = [
      ["instance id with a path", { instanceId: "../../haproxy/conf.d/x", domains: ["ok.hostile.test"], certificates: [] }],
      ["instance id with a slash", { instanceId: "a/b", domains: ["ok.hostile.test"], certificates: [] }],
      ["crt-list options after the name", cert({ name: "ok.pem [ocsp-update on]" })],
      ["verify none after the name", cert({ name: "ok verify none" })],
      ["a second crt-list line", cert({ name: "ok\n/etc/ssl/private/other.pem" })],
      ["a name going up", cert({ name: "../ok" })],
      ["a name of two dots", cert({ name: ".." })],
      ["a path in the name", cert({ name: "a/b" })],
      ["a comment", cert({ name: "ok#x" })],
      ["a negation", cert({ name: "!ok" })],
      ["a host name with a crt-list filter", cert({ names: ["ok.hostile.test [verify none]"] })],
      ["a host name with a line feed", cert({ names: ["ok.hostile.test\n!x.hostile.test"] })],
      ["a negative SNI filter", cert({ names: ["!ok.hostile.test"] })],
      ["a wildcard inside", cert({ names: ["a.*.hostile.test"] })],
      ["two wildcards", cert({ names: ["*.*.hostile.test"] })],
      ["a wildcard glued to a label", cert({ names: ["*ok.hostile.test"] })],
      ["a bare wildcard", cert({ names: ["*"] })],
      ["a wildcard over HTTP-01", cert({ names: ["*.hostile.test"], challenge: "http-01", zone: undefined })],
      ["a name outside the zone", cert({ names: ["ok.elsewhere.test"] })],
      ["a zone with a path", cert({ zone: "../hostile.test" })],
      ["a domain with a map option", { instanceId: "evil", domains: ["ok.hostile.test evil"], certificates: [ok] }],
      ["a domain with a line feed", { instanceId: "evil", domains: ["ok.hostile.test\nx.test openedx-im-x"], certificates: [ok] }],
    ];
    const before = state();
    for (const [what, request] of hostile) {
      const result = await runCertsScript("ensure", request, env);
      assert.equal(result.status, 1, `${what}: ${result.stderr}`);
      assert.match(result.stderr, /refused: /, what);
      assert.deepEqual(state(), before, `${what}: files changed`);
    }
    const release = await runCertsScript("release", { instanceId: "../tls.d/ok" }, env);
    assert.equal(release.status, 1, release.stderr);
  });

  it("ignores a tampered use file: its names never reach the crt-list or the HTTPS map, HAProxy keeps its configuration", async () => {
    mkdirSync(lb.paths.usesDir, { recursive: true });
    const tampered = { format: 1, instanceId: "evil", domains: ["ok.hostile.test"], certificates: [{ ...ok, name: "ok [verify none]" }] };
    writeFileSync(join(lb.paths.usesDir, "evil.json"), JSON.stringify(tampered));
    const ensured = await runCertsScript("ensure", { instanceId: "plain", domains: ["plain.hostile.test"], certificates: [] }, env);
    assert.equal(ensured.status, 0, ensured.stderr);
    assert.match(ensured.stderr, /ignoring evil\.json: .*name/);
    assert.doesNotMatch(readFileSync(lb.paths.crtList, "utf8"), /verify|\[/);
    assert.doesNotMatch(readFileSync(lb.paths.httpsMap, "utf8"), /verify|\[/);
    const check = spawnSync("haproxy", ["-c", "-f", lb.paths.mainConfig, "-f", lb.paths.confDir], { encoding: "utf8" });
    assert.equal(check.status, 0, check.stdout + check.stderr);
  });
});
