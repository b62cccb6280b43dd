/**
 * A real HAProxy in master-worker mode in a temporary directory, started from
 * scripts/lb/haproxy.cfg.example with only what a local run must change
 * (loopback port, paths, no chroot or user switch), and the apply script
 * pointed at that directory. Shared by test/lb-apply.test.ts and bench/lb-switch.ts.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent as HttpAgent, createServer as createHttpServer, request as httpRequest } from "node:http";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const REPO_ROOT = resolve(__dirname, "..");
export const APPLY_SCRIPT = join(REPO_ROOT, "scripts/lb/openedx-im-lb-apply");
export const MAIN_CONFIG_EXAMPLE = join(REPO_ROOT, "scripts/lb/haproxy.cfg.example");
const EXAMPLE_MAP_PATH = "/etc/haproxy/openedx-im/domains.map";
const EXAMPLE_HTTPS_MAP_PATH = "/etc/haproxy/openedx-im/https.map";

export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

export interface LocalLbPaths {
  dir: string;
  mainConfig: string;
  confDir: string;
  mapDir: string;
  mapFile: string;
  masterSocket: string;
  lockFile: string;
  /** TLS (openedx-im-certs): certificates, the instances' uses, the crt-list, the HTTPS map, the default certificate. */
  certsDir: string;
  usesDir: string;
  crtList: string;
  httpsMap: string;
  defaultCert: string;
  acmeLock: string;
}

export interface LocalTlsOptions {
  /** Loopback port of `bind ... ssl`. */
  port: number;
  crtList: string;
  httpsMap: string;
  defaultCert: string;
  /** Where lego answers HTTP-01 challenges (the acme-http01 backend's server). */
  http01Port?: number;
}

/**
 * The example main config with the local port, map path and hard-stop-after; root-only lines dropped.
 * Without `tls`, the HTTPS bind and the redirect to it are dropped too (plain HTTP, as before TLS).
 */
export function localMainConfig(options: { port: number; mapFile: string; hardStopAfterSeconds?: number; tls?: LocalTlsOptions }): string {
  const example = readFileSync(MAIN_CONFIG_EXAMPLE, "utf8");
  if (!example.includes("    bind :80\n") || !example.includes(EXAMPLE_MAP_PATH))
    throw new Error(`${MAIN_CONFIG_EXAMPLE} no longer has "bind :80" or ${EXAMPLE_MAP_PATH}; update bench/local-haproxy.ts`);
  const tlsBind = /^    bind :443 ssl crt \S+ crt-list \S+( .*)?$/m;
  if (!tlsBind.test(example) || !example.includes(EXAMPLE_HTTPS_MAP_PATH))
    throw new Error(`${MAIN_CONFIG_EXAMPLE} no longer has "bind :443 ssl crt <default> crt-list <file>" or ${EXAMPLE_HTTPS_MAP_PATH}; update bench/local-haproxy.ts`);
  const tls = options.tls;
  return example
    .split("\n")
    .filter((line) => !/^\s*(chroot|user|group|stats socket|log \/dev\/log)\b/.test(line))
    .filter((line) => tls !== undefined || !(tlsBind.test(line) || line.includes(EXAMPLE_HTTPS_MAP_PATH)))
    .join("\n")
    .replace("    bind :80\n", `    bind 127.0.0.1:${options.port}\n`)
    .replace(tlsBind, (line, rest: string | undefined) =>
      tls ? `    bind 127.0.0.1:${tls.port} ssl crt ${tls.defaultCert} crt-list ${tls.crtList}${rest ?? ""}` : line,
    )
    .replaceAll(EXAMPLE_MAP_PATH, options.mapFile)
    .replaceAll(EXAMPLE_HTTPS_MAP_PATH, tls?.httpsMap ?? "")
    .replace(/server lego 127\.0\.0\.1:\d+/, `server lego 127.0.0.1:${tls?.http01Port ?? 1}`)
    .replace(/hard-stop-after \S+/, `hard-stop-after ${options.hardStopAfterSeconds ?? 30}s`);
}

export function makeLocalLbDir(prefix = "openedx-im-lb-"): LocalLbPaths {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const paths: LocalLbPaths = {
    dir,
    mainConfig: join(dir, "haproxy.cfg"),
    confDir: join(dir, "conf.d"),
    mapDir: join(dir, "openedx-im.maps.d"),
    mapFile: join(dir, "openedx-im.map"),
    masterSocket: join(dir, "master.sock"),
    lockFile: join(dir, "apply.lock"),
    certsDir: join(dir, "certs"),
    usesDir: join(dir, "tls.d"),
    crtList: join(dir, "crt-list"),
    httpsMap: join(dir, "https.map"),
    defaultCert: join(dir, "default.pem"),
    acmeLock: join(dir, "acme.lock"),
  };
  mkdirSync(paths.confDir);
  mkdirSync(paths.mapDir);
  writeFileSync(paths.mapFile, "");
  return paths;
}

/** Environment that points the apply script (and openedx-im-certs) at a local directory. */
export function applyEnvironment(paths: LocalLbPaths, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    OPENEDX_IM_LB_MAIN_CFG: paths.mainConfig,
    OPENEDX_IM_LB_CONF_DIR: paths.confDir,
    OPENEDX_IM_LB_MAP_DIR: paths.mapDir,
    OPENEDX_IM_LB_MAP_FILE: paths.mapFile,
    OPENEDX_IM_LB_MASTER_SOCKET: paths.masterSocket,
    OPENEDX_IM_LB_LOCK_FILE: paths.lockFile,
    OPENEDX_IM_CERTS_DIR: paths.certsDir,
    OPENEDX_IM_CERTS_USES_DIR: paths.usesDir,
    OPENEDX_IM_CERTS_CRT_LIST: paths.crtList,
    OPENEDX_IM_CERTS_HTTPS_MAP: paths.httpsMap,
    OPENEDX_IM_CERTS_ACME_LOCK: paths.acmeLock,
    ...extra,
  };
}

export interface ScriptResult {
  status: number | null;
  stdout: string;
  stderr: string;
  milliseconds: number;
}
export type ApplyResult = ScriptResult;

/** Runs a load-balancer script the way the remote command does: a constant command line, the request on stdin. */
export function runLbScript(script: string, subcommand: string, stdin: string, env: NodeJS.ProcessEnv): Promise<ScriptResult> {
  const started = Date.now();
  return new Promise((done, fail) => {
    const child = spawn(script, [subcommand], { env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", fail);
    child.on("close", (status) => done({ status, stdout, stderr, milliseconds: Date.now() - started }));
    child.stdin.end(stdin);
  });
}

export function runApplyScript(subcommand: "apply" | "remove" | string, request: unknown, env: NodeJS.ProcessEnv): Promise<ApplyResult> {
  return runLbScript(APPLY_SCRIPT, subcommand, typeof request === "string" ? request : JSON.stringify(request), env);
}

/** The benches' load options: --fresh <n> clients opening a connection per request, --keepalive <n> reusing one. */
export function loadOptions(fresh: number, keepAlive: number) {
  return {
    fresh: { type: "string", default: String(fresh) },
    keepalive: { type: "string", default: String(keepAlive) },
  } as const;
}

/**
 * Starts the benches' clients: `fresh` ones with no agent (a connection per request), then
 * `keepAlive` ones each with its own one-socket agent (collected in `agents`, for the caller to destroy).
 * Clients are numbered on from 0, so they spread over the hosts.
 */
export function startClients<A>(
  counts: { fresh: string; keepalive: string },
  newAgent: () => A,
  agents: A[],
  client: (index: number, agent: A | false) => Promise<void>,
): Promise<void>[] {
  const fresh = Number(counts.fresh);
  return [
    ...Array.from({ length: fresh }, (_, i) => client(i, false)),
    ...Array.from({ length: Number(counts.keepalive) }, (_, i) => {
      const agent = newAgent();
      agents.push(agent);
      return client(fresh + i, agent);
    }),
  ];
}

export class LocalHaproxy {
  private exited: Promise<void>;
  log = "";

  private constructor(
    readonly paths: LocalLbPaths,
    readonly port: number,
    private readonly master: ChildProcess,
    /** The HTTPS port when started with `tls`. */
    readonly tlsPort?: number,
  ) {
    this.exited = new Promise((done) => master.once("exit", () => done()));
    master.stdout?.on("data", (chunk: Buffer) => (this.log += chunk.toString()));
    master.stderr?.on("data", (chunk: Buffer) => (this.log += chunk.toString()));
  }

  /**
   * Starts `haproxy -W -S <sock> -f haproxy.cfg -f conf.d`, as the Debian unit with the drop-in does.
   * With `tls`, also the HTTPS bind on a second loopback port, a self-signed default certificate
   * (made here with openssl, as the preparation does) and an empty crt-list and HTTPS map.
   */
  static async start(options: { hardStopAfterSeconds?: number; prefix?: string; tls?: { http01Port?: number } } = {}): Promise<LocalHaproxy> {
    const paths = makeLocalLbDir(options.prefix);
    const port = await freePort();
    let tls: LocalTlsOptions | undefined;
    if (options.tls) {
      tls = { port: await freePort(), crtList: paths.crtList, httpsMap: paths.httpsMap, defaultCert: paths.defaultCert, ...(options.tls.http01Port ? { http01Port: options.tls.http01Port } : {}) };
      makeDefaultCertificate(paths.defaultCert);
      writeFileSync(paths.crtList, "");
      writeFileSync(paths.httpsMap, "");
    }
    writeFileSync(paths.mainConfig, localMainConfig({ port, mapFile: paths.mapFile, hardStopAfterSeconds: options.hardStopAfterSeconds, ...(tls ? { tls } : {}) }));
    const master = spawn("haproxy", ["-W", "-S", paths.masterSocket, "-f", paths.mainConfig, "-f", paths.confDir], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const haproxy = new LocalHaproxy(paths, port, master, tls?.port);
    try {
      await haproxy.waitUntilListening();
    } catch (error) {
      await haproxy.stop();
      throw error;
    }
    return haproxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return applyEnvironment(this.paths, extra);
  }

  private async waitUntilListening(): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (this.master.exitCode !== null) throw new Error(`haproxy exited at start:\n${this.log}`);
      const listening = await new Promise<boolean>((done) => {
        const socket = connect(this.port, "127.0.0.1");
        socket.once("connect", () => (socket.destroy(), done(true)));
        socket.once("error", () => done(false));
      });
      if (listening) return;
      await new Promise((done) => setTimeout(done, 50));
    }
    throw new Error(`haproxy did not listen on ${this.port} within 10 s:\n${this.log}`);
  }

  /** Stops the master (which stops its workers) and removes the directory. */
  async stop(): Promise<void> {
    if (this.master.exitCode === null && this.master.signalCode === null) {
      this.master.kill("SIGTERM");
      const killed = setTimeout(() => this.master.kill("SIGKILL"), 5000);
      await this.exited;
      clearTimeout(killed);
    }
    rmSync(this.paths.dir, { recursive: true, force: true });
  }
}

/** A self-signed certificate and key in one PEM file: what a name no certificate covers is answered with. */
export function makeDefaultCertificate(path: string): void {
  const made = spawnSync(
    "openssl",
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=openedx-im default", "-keyout", path, "-out", `${path}.crt`],
    { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" },
  );
  if (made.status !== 0) throw new Error(`openssl could not make the default certificate:\n${made.stderr}`);
  writeFileSync(path, readFileSync(`${path}.crt`, "utf8") + readFileSync(path, "utf8"), { mode: 0o600 });
  rmSync(`${path}.crt`);
}

export interface NamedBackend {
  name: string;
  port: number;
  /** Requests answered (not counting health checks). */
  served: number;
  close(): Promise<void>;
}

/**
 * A local HTTP server standing in for an appserver: answers its name, 200 on
 * /heartbeat, and on /slow?ms=N answers after N ms (a long request in flight).
 */
export async function startNamedBackend(name: string): Promise<NamedBackend> {
  const sockets = new Set<import("node:net").Socket>();
  const server = createHttpServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://backend");
    if (url.pathname === "/heartbeat") {
      response.writeHead(200, { "content-type": "text/plain" }).end("OK");
      return;
    }
    backend.served += 1;
    const delay = url.pathname === "/slow" ? Number(url.searchParams.get("ms") ?? "1000") : 0;
    setTimeout(() => response.writeHead(200, { "content-type": "text/plain", "content-length": String(name.length) }).end(name), delay);
  });
  server.keepAliveTimeout = 60_000;
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const address = server.address();
  const backend: NamedBackend = {
    name,
    port: typeof address === "object" && address !== null ? address.port : 0,
    served: 0,
    close: () =>
      new Promise<void>((done) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => done());
      }),
  };
  return backend;
}

export interface Answer {
  status: number;
  body: string;
}

/** One request with a given Host header (fetch cannot set Host). */
export function httpGet(url: string, host: string, options: { agent?: HttpAgent | false; timeoutMs?: number } = {}): Promise<Answer> {
  return new Promise((done, fail) => {
    const request = httpRequest(url, { headers: { host }, agent: options.agent ?? false, timeout: options.timeoutMs ?? 10_000 }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () => done({ status: response.statusCode ?? 0, body }));
      response.on("error", fail);
    });
    request.on("timeout", () => request.destroy(new Error(`no answer from ${url} within ${options.timeoutMs ?? 10_000} ms`)));
    request.on("error", fail);
    request.end();
  });
}
