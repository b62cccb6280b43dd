/**
 * The Tutor provisioning wrapper: turns a fresh VM into an Open edX appserver with
 * Tutor, the way scripts/provision/provision.ts does with Ansible, and with the
 * same guarantees.
 *
 *   node --import tsx scripts/provision/tutor.ts < request.json
 *
 * Standard input (secret, from the command resource): `{ "tutor": {version, plugins},
 * "config": {...config.yml...}, "pluginData": {...}, "image": {...}, "port": 80,
 * "sshPrivateKey"?: "..." }`. Everything else comes from OPENEDX_IM_* environment
 * values (`readTutorSettings`).
 *
 * - Values are data: config.yml travels inside a JSON document on the SSH
 *   connection's standard input and is written by tutor_remote.py, whose command
 *   line is a constant; Tutor's own templating is kept off values by the config
 *   validation (config/tutor/settings.ts) and the renderer.
 * - No secret on a command line or on disk here: the private key goes to a
 *   private ssh-agent through `ssh-add -`'s standard input; its socket lives in a
 *   0700 directory removed afterwards.
 * - Children get an allowlisted environment (never the deploy credentials, never
 *   TUTOR_* overrides); ssh pins the VM's host key when OPENEDX_IM_HOST_PUBLIC_KEY is given.
 * - Stopping the wrapper, even with kill -9, stops the run: the remote program
 *   ends when its standard input (this process's pipe) closes, and the agent's
 *   watchdog ends the agent the same way.
 *
 * Exit status: 0 success; 64 bad input; 69 SSH never answered; 124 a timeout;
 * otherwise the remote step's status (65 wrong port, 70 unsupported VM image).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, createWriteStream, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { EXIT_SSH_UNAVAILABLE, EXIT_TIMEOUT, EXIT_USAGE, UsageError, mask } from "./provision";

export const REMOTE_BOOTSTRAP = "import json,sys;exec(json.loads(sys.stdin.readline()))";
/** What ssh runs on the VM: constant; as root directly, otherwise through sudo (the cloud image's user). */
export const REMOTE_COMMAND = `if [ "$(id -u)" = 0 ]; then exec /usr/bin/python3 -u -c '${REMOTE_BOOTSTRAP}'; else exec sudo -n /usr/bin/python3 -u -c '${REMOTE_BOOTSTRAP}'; fi`;
const REMOTE_PROGRAM = join(__dirname, "tutor_remote.py");
const PLUGIN_CODE = join(__dirname, "../../components/provisioners/tutor/openedx_im.py");

/** The only environment children get, besides what the wrapper sets itself. */
export const ALLOWED_ENVIRONMENT = ["PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "LOGNAME"] as const;

type Env = Record<string, string | undefined>;

export interface TutorSettings {
  host: string;
  appServerId: string;
  connection: "ssh" | "local";
  sshUser: string;
  sshPort: number;
  /** The VM's SSH host public key (`ssh-ed25519 AAAA...`); absent = learnt on first contact. */
  hostKey?: string;
  logDir: string;
  totalTimeoutSeconds: number;
  sshWaitSeconds: number;
  /** Tests only: a tutor command already installed (no Docker or Tutor installation), whether to launch, the project root. */
  local: { tutorCommand?: string[]; root?: string; launch: boolean };
}

export function readTutorSettings(env: Env): TutorSettings {
  const problems: string[] = [];
  const text = (name: string) => (env[name] === undefined || env[name] === "" ? undefined : env[name]);
  const seconds = (name: string, fallback: number) => {
    const raw = text(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0) problems.push(`${name}: "${raw}" is not a positive number of seconds`);
    return value > 0 ? value : fallback;
  };
  const connection = text("OPENEDX_IM_CONNECTION") ?? "ssh";
  if (connection !== "ssh" && connection !== "local") problems.push(`OPENEDX_IM_CONNECTION: "${connection}" must be ssh or local`);
  const host = text("OPENEDX_IM_HOST");
  if (host === undefined || !/^[A-Za-z0-9][A-Za-z0-9.:-]*$/.test(host)) problems.push("OPENEDX_IM_HOST: required, an IP address or a host name");
  const appServerId = text("OPENEDX_IM_APPSERVER_ID");
  if (appServerId === undefined || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(appServerId))
    problems.push("OPENEDX_IM_APPSERVER_ID: required, letters, digits, . _ - (names the log directory)");
  const sshUser = text("OPENEDX_IM_SSH_USER") ?? "ubuntu";
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(sshUser)) problems.push(`OPENEDX_IM_SSH_USER: ${JSON.stringify(sshUser)} is not a user name`);
  const sshPort = Number(text("OPENEDX_IM_SSH_PORT") ?? "22");
  if (!Number.isInteger(sshPort) || sshPort < 1 || sshPort > 65535) problems.push("OPENEDX_IM_SSH_PORT: must be a port number");
  const hostKey = text("OPENEDX_IM_HOST_PUBLIC_KEY");
  if (hostKey !== undefined && !/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256) [A-Za-z0-9+/=]+$/.test(hostKey.trim()))
    problems.push("OPENEDX_IM_HOST_PUBLIC_KEY: must be one SSH public key (type and base64), the VM's host key");
  let tutorCommand: string[] | undefined;
  const rawCommand = text("OPENEDX_IM_TUTOR_COMMAND");
  if (rawCommand !== undefined) {
    try {
      tutorCommand = JSON.parse(rawCommand) as string[];
      if (!Array.isArray(tutorCommand) || !tutorCommand.every((part) => typeof part === "string")) throw new Error();
    } catch {
      problems.push("OPENEDX_IM_TUTOR_COMMAND: must be a JSON array of strings");
    }
  }
  const stateHome = text("XDG_STATE_HOME") ?? join(homedir(), ".local", "state");
  const settings: TutorSettings = {
    host: host ?? "",
    appServerId: appServerId ?? "",
    connection: connection === "local" ? "local" : "ssh",
    sshUser,
    sshPort,
    ...(hostKey !== undefined ? { hostKey: hostKey.trim() } : {}),
    logDir: resolve(text("OPENEDX_IM_LOG_DIR") ?? join(stateHome, "openedx-im", "provision")),
    totalTimeoutSeconds: seconds("OPENEDX_IM_TOTAL_TIMEOUT", 9000),
    sshWaitSeconds: seconds("OPENEDX_IM_SSH_WAIT_TIMEOUT", 900),
    local: {
      ...(tutorCommand ? { tutorCommand } : {}),
      ...(text("OPENEDX_IM_TUTOR_ROOT") ? { root: resolve(text("OPENEDX_IM_TUTOR_ROOT") as string) } : {}),
      launch: text("OPENEDX_IM_TUTOR_LAUNCH") !== "0",
    },
  };
  if (problems.length > 0) throw new UsageError(problems.join("\n"));
  return settings;
}

export interface TutorRequest {
  tutor: { version: string; plugins: Record<string, string> };
  config: Record<string, unknown>;
  pluginData: { patches: Record<string, string>; skipInitTasks: string[] };
  image: { build: boolean; repository?: string; ref?: string; tag?: string };
  port: number;
  sshPrivateKey?: string;
}

export function parseTutorRequest(text: string): TutorRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The parser's message quotes the input, which holds secrets: say only what was expected.
    throw new UsageError('standard input: not JSON; expected {"tutor": {...}, "config": {...}, "pluginData": {...}, "image": {...}, "port": 80}');
  }
  const request = parsed as Partial<TutorRequest> | null;
  const isMapping = (value: unknown) => typeof value === "object" && value !== null && !Array.isArray(value);
  if (!isMapping(request)) throw new UsageError("standard input: expected a JSON object");
  const problems: string[] = [];
  if (!isMapping(request?.tutor) || typeof request?.tutor?.version !== "string" || !isMapping(request.tutor.plugins))
    problems.push('"tutor" must be {version, plugins}');
  if (!isMapping(request?.config)) problems.push('"config" must be the mapping of Tutor config keys');
  if (!isMapping(request?.pluginData)) problems.push('"pluginData" must be the openedx_im plugin\'s data');
  if (!isMapping(request?.image)) problems.push('"image" must say whether to build');
  if (!Number.isInteger(request?.port)) problems.push('"port" must be the port the load balancer uses');
  if (request?.sshPrivateKey !== undefined && typeof request.sshPrivateKey !== "string") problems.push('"sshPrivateKey" must be a string');
  if (problems.length > 0) throw new UsageError(`standard input: ${problems.join("; ")}`);
  return request as TutorRequest;
}

/** Values worth masking in progress lines: every string of 8 characters or more in the config, and the key. */
export function tutorSecrets(request: TutorRequest): string[] {
  const found = new Set<string>();
  const walk = (value: unknown) => {
    if (typeof value === "string") {
      if (value.length >= 8) found.add(value);
      for (const line of value.split("\n")) if (line.trim().length >= 8) found.add(line.trim());
    } else if (Array.isArray(value)) value.forEach(walk);
    else if (typeof value === "object" && value !== null) Object.values(value).forEach(walk);
  };
  walk(request.config);
  walk(request.sshPrivateKey);
  return [...found].sort((a, b) => b.length - a.length);
}

export function allowedEnvironment(env: Env): Env {
  const out: Env = {};
  for (const name of ALLOWED_ENVIRONMENT) if (env[name] !== undefined) out[name] = env[name];
  return out;
}

/** A small process that runs ssh-agent and ends it when our end of its standard input closes (we exited or were killed). */
const AGENT_WATCHDOG = `
const { spawn } = require("node:child_process");
const agent = spawn("ssh-agent", ["-D", "-a", process.argv[1]], { stdio: "ignore" });
const stop = () => { try { agent.kill("SIGKILL"); } catch {} process.exit(0); };
process.stdin.on("end", stop); process.stdin.on("close", stop); process.stdin.resume();
agent.on("exit", () => process.exit(0));
`;

function waitForExit(child: ChildProcess): Promise<number> {
  return new Promise((done) => {
    child.on("error", () => done(127));
    child.on("close", (code) => done(code ?? 1));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Runs the whole Tutor provisioning; returns the exit status. `say` prints progress (already masked). */
export async function provisionWithTutor(settings: TutorSettings, request: TutorRequest, env: Env, say: (line: string) => void): Promise<number> {
  const secrets = tutorSecrets(request);
  const tell = (line: string) => say(mask(line, secrets));
  const deadline = Date.now() + settings.totalTimeoutSeconds * 1000;
  const logDir = join(settings.logDir, settings.appServerId);
  mkdirSync(logDir, { recursive: true, mode: 0o700 });
  const logPath = join(logDir, `tutor-${new Date().toISOString().replace(/[:.]/g, "-")}.log`);
  closeSync(openSync(logPath, "wx", 0o600));
  const log = createWriteStream(logPath, { flags: "a" });
  const privateDir = mkdtempSync(join(tmpdir(), "openedx-im-tutor-"));
  const children: ChildProcess[] = [];
  const childEnv: Env = { ...allowedEnvironment(env), GIT_TERMINAL_PROMPT: "0" };
  tell(`provision: appserver ${settings.appServerId} on ${settings.host} with Tutor ${request.tutor.version}; full log: ${logPath}`);

  const cleanUp = () => {
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
    rmSync(privateDir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    cleanUp();
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    let sshArgs: string[] = [];
    if (settings.connection === "ssh") {
      if (request.sshPrivateKey) {
        const socket = join(privateDir, "agent.sock");
        const watchdog = spawn(process.execPath, ["-e", AGENT_WATCHDOG, socket], { stdio: ["pipe", "ignore", "ignore"], env: childEnv });
        children.push(watchdog);
        for (let i = 0; i < 50 && !existsSocket(socket); i++) await sleep(100);
        const add = spawn("ssh-add", ["-q", "-"], { env: { ...childEnv, SSH_AUTH_SOCK: socket }, stdio: ["pipe", "ignore", "pipe"] });
        add.stdin.end(request.sshPrivateKey.endsWith("\n") ? request.sshPrivateKey : `${request.sshPrivateKey}\n`);
        if ((await waitForExit(add)) !== 0) throw new StepFailed("ssh-add refused the private key (is it an OpenSSH/PEM private key without a passphrase?)", EXIT_USAGE);
        childEnv.SSH_AUTH_SOCK = socket;
      }
      const knownHosts = join(privateDir, "known_hosts");
      if (settings.hostKey) writeFileSync(knownHosts, `${settings.sshPort === 22 ? settings.host : `[${settings.host}]:${settings.sshPort}`} ${settings.hostKey}\n`, { mode: 0o600 });
      sshArgs = [
        "-o", "BatchMode=yes",
        "-o", "ConnectTimeout=10",
        "-o", "ServerAliveInterval=30",
        "-o", `StrictHostKeyChecking=${settings.hostKey ? "yes" : "accept-new"}`,
        "-o", `UserKnownHostsFile=${knownHosts}`,
        "-o", "IdentitiesOnly=no",
        "-p", String(settings.sshPort),
        "-l", settings.sshUser,
        "--", settings.host,
      ];
      tell(`provision: waiting for SSH on ${settings.host}:${settings.sshPort} (up to ${settings.sshWaitSeconds} s)`);
      const until = Math.min(deadline, Date.now() + settings.sshWaitSeconds * 1000);
      for (;;) {
        const probe = spawn("ssh", [...sshArgs, "true"], { env: childEnv, stdio: ["ignore", "ignore", "pipe"] });
        probe.stderr?.on("data", (chunk: Buffer) => log.write(chunk));
        if ((await waitForExit(probe)) === 0) break;
        if (Date.now() + 5000 >= until) throw new StepFailed(`SSH on ${settings.host}:${settings.sshPort} did not answer within ${settings.sshWaitSeconds} s`, EXIT_SSH_UNAVAILABLE);
        await sleep(5000);
      }
    }

    const remoteRequest = {
      tutor: request.tutor,
      config: request.config,
      pluginData: request.pluginData,
      pluginCode: readFileSync(PLUGIN_CODE, "utf8"),
      image: request.image,
      port: request.port,
      ...(settings.local.tutorCommand ? { skipInstall: true, tutorCommand: settings.local.tutorCommand } : {}),
      ...(settings.local.root ? { root: settings.local.root } : {}),
      launch: settings.local.launch,
    };
    const [program, args] =
      settings.connection === "ssh"
        ? ["ssh", [...sshArgs, REMOTE_COMMAND]]
        : ["/usr/bin/python3", ["-u", "-c", REMOTE_BOOTSTRAP]];
    log.write(`$ ${program} ${args.join(" ")}\n`);
    const remote = spawn(program, args, { env: childEnv, stdio: ["pipe", "pipe", "pipe"] });
    children.push(remote);
    // Line 1: the program; line 2: the request. Standard input then stays open: closing it stops the run.
    remote.stdin.write(`${JSON.stringify(readFileSync(REMOTE_PROGRAM, "utf8"))}\n${JSON.stringify(remoteRequest)}\n`);
    const onOutput = (chunk: Buffer) => {
      log.write(chunk);
      for (const line of chunk.toString("utf8").split("\n")) if (line.startsWith("[openedx-im] ")) tell(`provision: ${line.slice(13)}`);
    };
    remote.stdout.on("data", onOutput);
    remote.stderr.on("data", (chunk: Buffer) => log.write(chunk));
    const timer = setTimeout(() => {
      log.write("\n[openedx-im] the total timeout passed; stopping the run\n");
      remote.stdin.end();
      setTimeout(() => remote.kill("SIGKILL"), 10_000).unref();
    }, Math.max(1, deadline - Date.now()));
    const status = await waitForExit(remote);
    clearTimeout(timer);
    if (Date.now() >= deadline) throw new StepFailed("the total timeout passed (OPENEDX_IM_TOTAL_TIMEOUT)", EXIT_TIMEOUT);
    if (status !== 0) throw new StepFailed(`the remote step failed (exit ${status}); see the log`, status);
    tell(`provision: appserver ${settings.appServerId} provisioned with Tutor; log: ${logPath}`);
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    tell(`provision: FAILED: ${message}`);
    tell(`provision: full log: ${logPath}`);
    return error instanceof StepFailed ? error.exitCode : 1;
  } finally {
    cleanUp();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await new Promise<void>((r) => log.end(r));
  }
}

class StepFailed extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

function existsSocket(path: string): boolean {
  try {
    readFileSync(path);
    return true;
  } catch (error) {
    // A socket cannot be read as a file: ENXIO / EOPNOTSUPP mean it is there.
    return (error as NodeJS.ErrnoException).code !== "ENOENT";
  }
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new UsageError("standard input: pass the request as JSON, not a terminal");
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function main(): Promise<number> {
  const say = (line: string) => process.stderr.write(`${line}\n`);
  try {
    const settings = readTutorSettings(process.env);
    const request = parseTutorRequest(await readStdin());
    return await provisionWithTutor(settings, request, process.env, say);
  } catch (error) {
    if (error instanceof UsageError) {
      say(`provision: ${error.message.split("\n").join("\nprovision: ")}`);
      return EXIT_USAGE;
    }
    throw error;
  }
}

if (require.main === module) {
  main().then(
    (status) => process.exit(status),
    (error: unknown) => {
      process.stderr.write(`provision: unexpected failure: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}

export { EXIT_TIMEOUT };
