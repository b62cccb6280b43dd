/**
 * HTTPS clients hammer two instances' domains (SNI, loopback) while one instance is
 * created and another is cut over from its old site to the load balancer, then while
 * both certificates are renewed; counts what the clients saw. Everything real: HAProxy
 * 2.6 in master-worker mode from the example configuration, pebble and
 * pebble-challtestsrv, lego, and the two scripts the stacks and the timer run
 * (openedx-im-certs, openedx-im-lb-apply), fed by the program's own renderers.
 *
 *   npx tsx bench/tls-cutover.ts                         the order the program enforces
 *   npx tsx bench/tls-cutover.ts --dns-before-certificate  the order it forbids (a control:
 *                                                        the clients must see TLS errors)
 * Options: --fresh <n> clients opening a connection per request (6), --keepalive <n>
 * clients reusing connections (6), --settle <s> seconds of load between steps (3).
 *
 * "DNS" is the clients' resolver: a name resolves to the old site (its own server and
 * certificate, as before a migration), to nothing (a new instance before its records
 * exist: no request is made), or to the load balancer. The steps follow the program's
 * dependencies: certificate (DNS-01, before any record) -> fragment (after the
 * appserver's health check) -> DNS records -> and later, the renewal timer's run.
 *
 * Ends with one line: `requests <n>, tls errors <n>, http errors <n>`. A TLS error is a
 * handshake the client refuses (untrusted chain, a certificate that does not cover the
 * name); an HTTP error is anything else that is not a 200 with the expected body
 * ("old-site" before the switch, "appserver" after it). Exit 0 when the run has
 * >= 5,000 requests and no error (with --dns-before-certificate: when TLS errors were seen).
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { Agent, createServer as createHttpsServer, type Server } from "node:https";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { planCertificates, type CertificateRequest } from "../config/certificate-plan";
import { deriveDomains, type DomainOptions } from "../config/domains";
import { renderHaproxyFragment } from "../components/haproxy";
import { applyRequest } from "../components/load-balancer";
import { LocalAcme, httpsGet, runCertsScript } from "./local-acme";
import { LocalHaproxy, freePort, loadOptions, runApplyScript, startClients, startNamedBackend, type NamedBackend } from "./local-haproxy";

interface Instance {
  id: string;
  request: CertificateRequest;
  domains: string[];
}

function instance(id: string, subDomain: string, baseDomain: string, options: DomainOptions, mode: "shared-wildcard" | "instance"): Instance {
  const domains = deriveDomains({ subDomain, baseDomain, options, enabled: { ecommerce: false, discovery: false } });
  const request = planCertificates({ instanceId: id, baseDomain, domains, mode, candidateWildcard: mode === "instance" });
  return { id, request, domains: request.domains };
}

type Target = { kind: "none" } | { kind: "old"; port: number } | { kind: "lb"; port: number };

const TLS_CODES = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|EPROTO$)/;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      "dns-before-certificate": { type: "boolean", default: false },
      ...loadOptions(6, 6),
      settle: { type: "string", default: "3" },
    },
  });
  const control = values["dns-before-certificate"] === true;
  const settleMs = Number(values.settle) * 1000;

  const http01Port = await freePort();
  const lb = await LocalHaproxy.start({ hardStopAfterSeconds: 30, prefix: "openedx-im-tls-bench-", tls: { http01Port } });
  const acme = await LocalAcme.start({ httpPort: lb.port, http01Port, prefix: "openedx-im-tls-bench-acme-" });
  const appserver = await startNamedBackend("appserver");
  const agents: Agent[] = [];
  let oldSite: { server: Server; port: number; ca: string } | undefined;
  try {
    const env = lb.env({ OPENEDX_IM_CERTS_CONFIG: acme.configFile });
    const moving = instance("mitx", "courses", "mitx.bench.test", {}, "instance");
    const fresh = instance("pr77", "pr77", "sandbox.bench.test", { style: "dash" }, "shared-wildcard");
    oldSite = await startOldSite(acme.dir, moving.domains);
    const ca = [await acme.root(), oldSite.ca].join("\n");

    const dns = new Map<string, Target>();
    for (const domain of moving.domains) dns.set(domain, { kind: "old", port: oldSite.port });
    for (const domain of fresh.domains) dns.set(domain, { kind: "none" });
    const pointAtLb = (target: Instance) => target.domains.forEach((domain) => dns.set(domain, { kind: "lb", port: lb.tlsPort! }));

    const tally = { requests: 0, tls: 0, http: 0, old: 0, lb: 0, errors: new Map<string, number>() };
    const count = (kind: "tls" | "http", why: string) => {
      tally[kind] += 1;
      tally.errors.set(`${kind}: ${why}`, (tally.errors.get(`${kind}: ${why}`) ?? 0) + 1);
    };
    let running = true;
    const hosts = [...moving.domains, ...fresh.domains];
    const client = async (index: number, agent: Agent | false) => {
      let turn = index;
      while (running) {
        const host = hosts[turn++ % hosts.length];
        const target = dns.get(host)!;
        if (target.kind === "none") {
          await new Promise((done) => setTimeout(done, 5)); // no record yet: nothing to connect to
          continue;
        }
        tally.requests += 1;
        try {
          const answer = await httpsGet(target.port, host, ca, { agent });
          const expected = target.kind === "old" ? "old-site" : "appserver";
          if (answer.status !== 200) count("http", `status ${answer.status} from ${target.kind}`);
          else if (answer.body !== expected && !(answer.body === "old-site" && target.kind === "lb")) count("http", `body ${answer.body.slice(0, 30)} from ${target.kind}`);
          else if (answer.body === "old-site") tally.old += 1;
          else tally.lb += 1;
        } catch (error) {
          const code = String((error as NodeJS.ErrnoException).code ?? "");
          const message = (error as Error).message;
          if (TLS_CODES.test(code) || /certificate|altnames|handshake/i.test(message)) count("tls", code || message);
          else count("http", code || message);
        }
      }
    };
    const workers = startClients(values, () => new Agent({ keepAlive: true, maxSockets: 1, ca }), agents, client);
    const started = Date.now();
    const step = async (what: string, run: () => Promise<{ status: number | null; stderr: string; milliseconds: number } | void>) => {
      const result = await run();
      const took = result ? ` (exit ${result.status}, ${result.milliseconds} ms)` : "";
      console.log(`${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s  ${what}${took}`);
      if (result && result.status !== 0) throw new Error(`${what} failed:\n${result.stderr}`);
      await new Promise((done) => setTimeout(done, settleMs));
    };

    await step("load on the old site of mitx (the new sandbox pr77 has no DNS yet)", async () => undefined);
    if (control) {
      // The order the program forbids: names point here before a certificate covers them.
      await step("fragments applied (mitx, pr77)", async () => {
        const first = await runApplyScript("apply", fragment(moving, appserver), lb.env());
        return first.status !== 0 ? first : runApplyScript("apply", fragment(fresh, appserver), lb.env());
      });
      await step("DNS of mitx and pr77 -> load balancer, before any certificate", async () => (pointAtLb(moving), pointAtLb(fresh)));
      await step("certificates obtained (too late)", async () => {
        const first = await runCertsScript("ensure", moving.request, env);
        return first.status !== 0 ? first : runCertsScript("ensure", fresh.request, env);
      });
    } else {
      await step("pr77: certificate (shared wildcard, DNS-01)", () => runCertsScript("ensure", fresh.request, env));
      await step("pr77: fragment (appserver healthy)", () => runApplyScript("apply", fragment(fresh, appserver), lb.env()));
      await step("pr77: DNS records created -> load balancer", async () => pointAtLb(fresh));
      await step("mitx: certificate (its own, DNS-01), while the old site serves", () => runCertsScript("ensure", moving.request, env));
      await step("mitx: fragment (activeAppServer set)", () => runApplyScript("apply", fragment(moving, appserver), lb.env()));
      await step("mitx: DNS cut over -> load balancer", async () => pointAtLb(moving));
      acme.writeConfig({ renewDays: 3650 }); // pebble's certificates last 5 years: both are due
      await step("renewal timer run: both certificates renewed, one reload", () => runCertsScript("renew", undefined, env));
    }
    running = false;
    await Promise.all(workers);

    for (const [why, n] of tally.errors) console.log(`  ${n} x ${why}`);
    console.log(`answers: ${tally.old} from the old site, ${tally.lb} through the load balancer; appserver served ${appserver.served}`);
    console.log(`requests ${tally.requests}, tls errors ${tally.tls}, http errors ${tally.http}`);
    if (control) return tally.tls > 0 ? 0 : 1;
    return tally.requests >= 5000 && tally.tls === 0 && tally.http === 0 ? 0 : 1;
  } finally {
    for (const agent of agents) agent.destroy();
    await lb.stop();
    await acme.stop();
    await appserver.close();
    if (oldSite) await new Promise<void>((done) => oldSite!.server.close(() => done()));
  }
}

function fragment(target: Instance, appserver: NamedBackend): string {
  return applyRequest(
    target.id,
    renderHaproxyFragment({
      instanceId: target.id,
      domains: target.domains,
      servers: [{ name: "a1-0", address: "127.0.0.1", port: appserver.port }],
      preliminaryBackend: "openedx-im-preliminary",
    }),
  );
}

/** The site before the migration: its own server and a certificate from its own CA, valid for its names. */
async function startOldSite(dir: string, names: string[]): Promise<{ server: Server; port: number; ca: string }> {
  const run = (args: string[]) => {
    const made = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
    if (made.status !== 0) throw new Error(`openssl: ${made.stderr}`);
  };
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  run(["req", "-x509", ...ec, "-keyout", "old-ca.key", "-out", "old-ca.pem", "-days", "2", "-subj", "/CN=old site CA"]);
  run(["req", ...ec, "-keyout", "old.key", "-out", "old.csr", "-subj", `/CN=${names[0]}`]);
  writeFileSync(join(dir, "old-san.cnf"), `subjectAltName=${names.map((n) => `DNS:${n}`).join(",")}\n`);
  run(["x509", "-req", "-in", "old.csr", "-CA", "old-ca.pem", "-CAkey", "old-ca.key", "-CAcreateserial", "-out", "old.pem", "-days", "2", "-extfile", "old-san.cnf"]);
  const server = createHttpsServer({ key: readFileSync(join(dir, "old.key")), cert: readFileSync(join(dir, "old.pem")) }, (_request, response) => {
    response.writeHead(200, { "content-type": "text/plain", "content-length": "8" }).end("old-site");
  });
  server.keepAliveTimeout = 60_000;
  const port = await freePort();
  await new Promise<void>((done) => server.listen(port, "127.0.0.1", done));
  return { server, port, ca: readFileSync(join(dir, "old-ca.pem"), "utf8") };
}

main().then(
  (status) => process.exit(status),
  (error: Error) => {
    console.error(`tls-cutover: ${error.stack ?? error.message}`);
    process.exit(2);
  },
);
