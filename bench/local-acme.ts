/**
 * A real local ACME CA: pebble (Let's Encrypt's test CA) and pebble-challtestsrv (a
 * DNS server whose TXT records are set over HTTP), on loopback ports chosen at
 * random, in a temporary directory; and the certs.json that points
 * scripts/lb/openedx-im-certs (and so lego) at them. Shared by test/tls-*.test.ts and
 * bench/tls-cutover.ts.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { connect, type TLSSocket } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT, freePort, runLbScript, type ScriptResult } from "./local-haproxy";

export const CERTS_SCRIPT = join(REPO_ROOT, "scripts/lb/openedx-im-certs");

export interface LocalAcmeOptions {
  /** The port pebble validates HTTP-01 challenges on: the local HAProxy's plain HTTP port. */
  httpPort?: number;
  /** Where lego answers HTTP-01 challenges (the local HAProxy's acme-http01 backend); default a free port. */
  http01Port?: number;
  /** Days before expiry at which openedx-im-certs renews (pebble issues 5-year certificates). */
  renewDays?: number;
  prefix?: string;
}

export class LocalAcme {
  log = "";
  private readonly processes: ChildProcess[] = [];

  private constructor(
    readonly dir: string,
    readonly ports: { acme: number; management: number; dns: number; dnsManagement: number; http01: number },
  ) {}

  get directoryUrl(): string {
    return `https://127.0.0.1:${this.ports.acme}/dir`;
  }

  /** The CA that signed pebble's own HTTPS certificate (lego trusts it through LEGO_CA_CERTIFICATES). */
  get transportCa(): string {
    return join(this.dir, "transport-ca.pem");
  }

  get configFile(): string {
    return join(this.dir, "certs.json");
  }

  get dataDir(): string {
    return join(this.dir, "acme");
  }

  static async start(options: LocalAcmeOptions = {}): Promise<LocalAcme> {
    const dir = mkdtempSync(join(tmpdir(), options.prefix ?? "openedx-im-acme-"));
    const ports = {
      acme: await freePort(),
      management: await freePort(),
      dns: await freePort(),
      dnsManagement: await freePort(),
      http01: options.http01Port ?? (await freePort()),
    };
    const acme = new LocalAcme(dir, ports);
    try {
      acme.makeTransportCertificate();
      writeFileSync(
        join(dir, "pebble.json"),
        JSON.stringify({
          pebble: {
            listenAddress: `127.0.0.1:${ports.acme}`,
            managementListenAddress: `127.0.0.1:${ports.management}`,
            certificate: join(dir, "pebble.pem"),
            privateKey: join(dir, "pebble.key"),
            httpPort: options.httpPort ?? 1,
            tlsPort: 1,
            ocspResponderURL: "",
            externalAccountBindingRequired: false,
          },
        }),
      );
      acme.spawn("pebble-challtestsrv", [
        // Every name resolves to 127.0.0.1 (where HAProxy listens), IPv4 only.
        "-dns01", `127.0.0.1:${ports.dns}`, "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "", "-http01", "", "-https01", "", "-tlsalpn01", "",
        "-management", `127.0.0.1:${ports.dnsManagement}`,
      ], {});
      acme.spawn("pebble", ["-config", join(dir, "pebble.json"), "-dnsserver", `127.0.0.1:${ports.dns}`, "-strict=false"], {
        PEBBLE_VA_NOSLEEP: "1",
        PEBBLE_WFE_NONCEREJECT: "0",
        PEBBLE_AUTHZREUSE: "0",
      });
      await acme.waitFor(() => acme.log.includes("ACME directory available"), "pebble to listen");
      await acme.waitFor(() => acme.log.includes("Starting management server"), "challtestsrv to listen");
      acme.writeConfig({ renewDays: options.renewDays ?? 30 });
    } catch (error) {
      await acme.stop();
      throw error;
    }
    return acme;
  }

  /** certs.json for openedx-im-certs: the production layout, pointed at pebble and challtestsrv. */
  writeConfig(overrides: { renewDays?: number; dnsApiUrl?: string } = {}): void {
    writeFileSync(
      this.configFile,
      JSON.stringify(
        {
          acme: { server: this.directoryUrl, email: "ops@openedx-im.test", caCertificates: this.transportCa },
          dataDir: this.dataDir,
          renewDays: overrides.renewDays ?? 30,
          dns: {
            provider: "challtestsrv",
            apiUrl: overrides.dnsApiUrl ?? `http://127.0.0.1:${this.ports.dnsManagement}`,
            // challtestsrv answers no SOA, so lego cannot look for the authoritative servers.
            disablePropagationCheck: true,
            resolvers: [`127.0.0.1:${this.ports.dns}`],
            sequenceIntervalSeconds: 1,
            propagationTimeoutSeconds: 10,
          },
          http01: { listen: `127.0.0.1:${this.ports.http01}` },
        },
        null,
        1,
      ),
    );
  }

  /** Pebble's current root (regenerated at each start): what a client trusts the issued certificates with. */
  async root(): Promise<string> {
    return new Promise((done, fail) => {
      const request = httpsRequest(
        `https://127.0.0.1:${this.ports.management}/roots/0`,
        { ca: readFileSync(this.transportCa), timeout: 10_000 },
        (response) => {
          let body = "";
          response.setEncoding("utf8");
          response.on("data", (chunk: string) => (body += chunk));
          response.on("end", () => (response.statusCode === 200 ? done(body) : fail(new Error(`pebble roots: HTTP ${response.statusCode}`))));
        },
      );
      request.on("error", fail);
      request.end();
    });
  }

  /** Where every name resolves for pebble: 127.0.0.1 is "pointed at the load balancer", another loopback address is not. */
  async pointNamesAt(ipv4: string): Promise<void> {
    const { request } = await import("node:http");
    await new Promise<void>((done, fail) => {
      const sent = request(`http://127.0.0.1:${this.ports.dnsManagement}/set-default-ipv4`, { method: "POST" }, (response) => {
        response.resume();
        response.on("end", () => (response.statusCode === 200 ? done() : fail(new Error(`set-default-ipv4: HTTP ${response.statusCode}`))));
      });
      sent.on("error", fail);
      sent.end(JSON.stringify({ ip: ipv4 }));
    });
  }

  /** Makes challtestsrv's DNS-01 side refuse work (its management API gone), so issuance fails. */
  breakDns(): void {
    this.writeConfig({ dnsApiUrl: "http://127.0.0.1:1" });
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.processes.map(
        (child) =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            child.once("exit", () => done());
            child.kill("SIGTERM");
            setTimeout(() => child.kill("SIGKILL"), 3000).unref();
          }),
      ),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }

  private spawn(command: string, args: string[], env: Record<string, string>): void {
    const child = spawn(command, args, { cwd: this.dir, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.on("data", (chunk: Buffer) => (this.log += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (this.log += chunk.toString()));
    child.on("error", (error) => (this.log += `${command}: ${error.message}\n`));
    this.processes.push(child);
  }

  private async waitFor(ready: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (!ready()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${this.log}`);
      if (this.processes.some((child) => child.exitCode !== null)) throw new Error(`${what}: a process exited:\n${this.log}`);
      await new Promise((done) => setTimeout(done, 50));
    }
  }

  /** A throw-away CA and a 127.0.0.1 certificate for pebble's own HTTPS listener. */
  private makeTransportCertificate(): void {
    const run = (args: string[]) => {
      const result = spawnSync("openssl", args, { cwd: this.dir, encoding: "utf8" });
      if (result.status !== 0) throw new Error(`openssl ${args[0]}: ${result.stderr}`);
    };
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    run(["req", "-x509", ...ec, "-keyout", "transport-ca.key", "-out", "transport-ca.pem", "-days", "2", "-subj", "/CN=openedx-im test transport CA"]);
    run(["req", ...ec, "-keyout", "pebble.key", "-out", "pebble.csr", "-subj", "/CN=127.0.0.1"]);
    writeFileSync(join(this.dir, "san.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
    run(["x509", "-req", "-in", "pebble.csr", "-CA", "transport-ca.pem", "-CAkey", "transport-ca.key", "-CAcreateserial", "-out", "pebble.pem", "-days", "2", "-extfile", "san.cnf"]);
  }
}

export interface PeerCertificateSummary {
  /** DNS names of the certificate the server chose for this SNI. */
  names: string[];
  serial: string;
  validTo: string;
  /** Whether the chain verified against the given root and covers the name. */
  authorized: boolean;
  authorizationError?: string;
}

/** Connects with SNI `servername` and returns what certificate the server presented. */
export function peerCertificate(port: number, servername: string, ca: string): Promise<PeerCertificateSummary> {
  return new Promise((done, fail) => {
    const socket: TLSSocket = connect({ host: "127.0.0.1", port, servername, ca, rejectUnauthorized: false, timeout: 10_000 }, () => {
      const peer = socket.getPeerCertificate();
      const names = (peer.subjectaltname ?? "")
        .split(", ")
        .filter((entry) => entry.startsWith("DNS:"))
        .map((entry) => entry.slice(4));
      done({
        names,
        serial: peer.serialNumber,
        validTo: peer.valid_to,
        authorized: socket.authorized,
        ...(socket.authorizationError ? { authorizationError: String(socket.authorizationError) } : {}),
      });
      socket.end();
    });
    socket.on("error", fail);
    socket.on("timeout", () => socket.destroy(new Error(`no TLS handshake with ${servername} within 10 s`)));
  });
}

export interface HttpsAnswer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** One HTTPS request to a loopback port with SNI and Host set to `host`, verified against `ca`. */
export function httpsGet(
  port: number,
  host: string,
  ca: string,
  options: { path?: string; agent?: import("node:https").Agent | false; timeoutMs?: number; headers?: Record<string, string> } = {},
): Promise<HttpsAnswer> {
  return new Promise((done, fail) => {
    const request = httpsRequest(
      {
        host: "127.0.0.1",
        port,
        path: options.path ?? "/",
        servername: host,
        headers: { ...options.headers, host },
        ca,
        agent: options.agent ?? false,
        timeout: options.timeoutMs ?? 10_000,
      },
      (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (body += chunk));
        response.on("end", () => done({ status: response.statusCode ?? 0, body, headers: response.headers }));
        response.on("error", fail);
      },
    );
    request.on("timeout", () => request.destroy(new Error(`no answer from ${host} within ${options.timeoutMs ?? 10_000} ms`)));
    request.on("error", fail);
    request.end();
  });
}

export type CertsResult = ScriptResult;

/** Runs openedx-im-certs as the remote command and the timer do (the timer: no request, empty stdin). */
export function runCertsScript(subcommand: string, request: unknown, env: NodeJS.ProcessEnv): Promise<CertsResult> {
  return runLbScript(CERTS_SCRIPT, subcommand, request === undefined ? "" : typeof request === "string" ? request : JSON.stringify(request), env);
}
