/**
 * The provisioning wrapper: turns a fresh VM into an Open edX appserver by running
 * the configuration repository's playbook against it.
 *
 *   node --import tsx scripts/provision/provision.ts < request.json
 *
 * Standard input: `{ "variables": {...}, "trustedPaths": [["EDXAPP_FEATURES", "X"], ...],
 * "sshPrivateKey": "-----BEGIN ..." }` (trustedPaths and the key are optional).
 * Every string in the variables reaches Ansible marked unsafe (never templated)
 * unless it lies at or under a trusted path (the operator's own extraSettings).
 * Everything else comes from the environment (see docs/provisioning.md and
 * `readSettings` below); nothing is ever taken from the command line, and nothing
 * is run through a shell, so a value is data wherever it came from.
 *
 * Steps: start the guard (a watchdog that stops everything and removes the
 * private directory if the wrapper is killed, even with SIGKILL) → load the SSH
 * key into a private ssh-agent → wait for SSH (bounded; the VM's host key is
 * pinned) → check out the configuration repository at the ref (or use
 * OPENEDX_IM_CONFIGURATION_DIR) → install its requirements in a virtualenv
 * (unless OPENEDX_IM_SKIP_REQUIREMENTS=1) → run `ansible-playbook -i '<host>,'
 * -e @<fifo> <playbook>`, the variables written into a named pipe (never onto a
 * disk), with a line timeout and a total timeout. Children get an allowlisted
 * environment, never the deploy credentials. The full output of every step goes
 * to a log file per appserver; the wrapper's own stderr carries only progress
 * (each task as it starts, counts, elapsed time, the log's path; see
 * progress.ts), with every variable value masked (8 characters or more, 4 under
 * a key that names a secret), which the command provider streams to the console.
 *
 * Exit status: 0 success; the playbook's own status when it fails; 64 bad input;
 * 69 SSH never answered; 124 a timeout; 1 any other failure.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  closeSync,
  constants as fsConstants,
  createWriteStream,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
  writeSync,
  readFileSync,
  type WriteStream,
} from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, isAbsolute, join, normalize, resolve } from "node:path";
import { childEnvironment, pipEnvironment } from "./environment";
import { guardLine, type GuardMessage } from "./guard";
import { AnsibleProgress, formatCounts, formatElapsed, printable } from "./progress";
import { type HostPublicKey, knownHostsLine, parseHostPublicKey } from "./host-key";
import { markUntrusted, variableProblems, type VariablePath } from "./variables";

export const EXIT_USAGE = 64;
export const EXIT_SSH_UNAVAILABLE = 69;
export const EXIT_TIMEOUT = 124;

export interface Settings {
  host: string;
  appServerId: string;
  connection: "ssh" | "local";
  sshUser: string;
  sshPort: number;
  /** The VM's SSH host key, pinned (required with the ssh connection). */
  hostPublicKey?: HostPublicKey;
  configurationDir?: string;
  configurationRepository?: string;
  configurationRef?: string;
  playbook: string;
  skipRequirements: boolean;
  ansiblePlaybook: string;
  python: string;
  venvCacheDir: string;
  logDir: string;
  lineTimeoutSeconds: number;
  totalTimeoutSeconds: number;
  sshWaitSeconds: number;
  sshRetryIntervalSeconds: number;
  killGraceSeconds: number;
  keepWorkDir: boolean;
  /** A "still running" line after this long without one, so a long task never looks like a hang. */
  progressIntervalSeconds: number;
}

export class UsageError extends Error {}

type Env = Record<string, string | undefined>;

/** Reads and checks the OPENEDX_IM_* environment; every message names the variable and what it accepts. */
export function readSettings(env: Env): Settings {
  const problems: string[] = [];
  const text = (name: string, fallback?: string): string | undefined => {
    const value = env[name];
    return value === undefined || value === "" ? fallback : value;
  };
  const seconds = (name: string, fallback: number): number => {
    const raw = text(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0) {
      problems.push(`${name}: "${raw}" is not a positive number of seconds`);
      return fallback;
    }
    return value;
  };
  const matching = (name: string, pattern: RegExp, what: string, fallback?: string): string | undefined => {
    const value = text(name, fallback);
    if (value === undefined) return undefined;
    if (!pattern.test(value)) problems.push(`${name}: ${JSON.stringify(value)} is not ${what}`);
    return value;
  };

  const connection = text("OPENEDX_IM_CONNECTION", "ssh");
  if (connection !== "ssh" && connection !== "local") problems.push(`OPENEDX_IM_CONNECTION: "${connection}" must be ssh or local`);
  const host = matching("OPENEDX_IM_HOST", /^[A-Za-z0-9][A-Za-z0-9.:-]*$/, "an IP address or a host name");
  if (host === undefined) problems.push("OPENEDX_IM_HOST: required (the VM's address)");
  const appServerId = matching("OPENEDX_IM_APPSERVER_ID", /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, "an appserver id (letters, digits, . _ -)");
  if (appServerId === undefined) problems.push("OPENEDX_IM_APPSERVER_ID: required (names the log directory)");
  const sshUser = matching("OPENEDX_IM_SSH_USER", /^[a-z_][a-z0-9_-]{0,31}$/, "a user name", "ubuntu") ?? "ubuntu";
  const sshPort = Number(matching("OPENEDX_IM_SSH_PORT", /^[0-9]{1,5}$/, "a port number", "22"));
  const hostKeyText = text("OPENEDX_IM_HOST_PUBLIC_KEY");
  const hostPublicKey = hostKeyText === undefined ? undefined : parseHostPublicKey(hostKeyText);
  if (hostKeyText !== undefined && hostPublicKey === undefined)
    problems.push("OPENEDX_IM_HOST_PUBLIC_KEY: not an OpenSSH public key line (\"ssh-ed25519 AAAA...\")");
  else if (hostKeyText === undefined && connection !== "local")
    problems.push("OPENEDX_IM_HOST_PUBLIC_KEY: required with the ssh connection (the VM's host public key, pinned; the Provisioning component sets it)");

  const configurationDir = text("OPENEDX_IM_CONFIGURATION_DIR");
  const configurationRepository = text("OPENEDX_IM_CONFIGURATION_REPOSITORY");
  const configurationRef = text("OPENEDX_IM_CONFIGURATION_REF");
  if (configurationDir === undefined) {
    if (configurationRepository === undefined)
      problems.push("OPENEDX_IM_CONFIGURATION_REPOSITORY: required (or OPENEDX_IM_CONFIGURATION_DIR for an existing checkout)");
    else if (!isRepositoryLocation(configurationRepository))
      problems.push(
        "OPENEDX_IM_CONFIGURATION_REPOSITORY: must be an https:// or ssh:// URL, user@host:path, or an absolute path to a local repository",
      );
    if (configurationRef === undefined) problems.push("OPENEDX_IM_CONFIGURATION_REF: required (the branch, tag or commit to check out)");
    // git fetch reads its argument as a refspec: a leading + (force) or ^ (negative), or a :, would
    // make it fetch or write something other than the named branch, tag or commit.
    else if (/^[-+^]/.test(configurationRef) || /[\0-\x20\x7f:]/.test(configurationRef))
      problems.push(`OPENEDX_IM_CONFIGURATION_REF: ${JSON.stringify(configurationRef)} is not a git ref`);
  }
  const playbook = text("OPENEDX_IM_PLAYBOOK", "openedx_native.yml") ?? "openedx_native.yml";
  if (isAbsolute(playbook) || normalize(playbook).startsWith("..") || playbook.startsWith("-") || !/^[A-Za-z0-9._/-]+$/.test(playbook))
    problems.push(`OPENEDX_IM_PLAYBOOK: ${JSON.stringify(playbook)} must be a path inside the configuration repository`);

  const stateHome = text("XDG_STATE_HOME", join(homedir(), ".local", "state")) ?? "";
  const cacheHome = text("XDG_CACHE_HOME", join(homedir(), ".cache")) ?? "";
  const settings: Settings = {
    host: host ?? "",
    appServerId: appServerId ?? "",
    connection: connection === "local" ? "local" : "ssh",
    sshUser,
    sshPort,
    ...(hostPublicKey ? { hostPublicKey } : {}),
    configurationDir: configurationDir === undefined ? undefined : resolve(configurationDir),
    configurationRepository,
    configurationRef,
    playbook,
    skipRequirements: text("OPENEDX_IM_SKIP_REQUIREMENTS") === "1",
    ansiblePlaybook: text("OPENEDX_IM_ANSIBLE_PLAYBOOK", "ansible-playbook") ?? "ansible-playbook",
    python: text("OPENEDX_IM_PYTHON", "python3") ?? "python3",
    venvCacheDir: resolve(text("OPENEDX_IM_VENV_CACHE", join(cacheHome, "openedx-im", "venvs")) ?? ""),
    logDir: resolve(text("OPENEDX_IM_LOG_DIR", join(stateHome, "openedx-im", "provision")) ?? ""),
    lineTimeoutSeconds: seconds("OPENEDX_IM_LINE_TIMEOUT", 7200),
    totalTimeoutSeconds: seconds("OPENEDX_IM_TOTAL_TIMEOUT", 9000),
    sshWaitSeconds: seconds("OPENEDX_IM_SSH_WAIT_TIMEOUT", 900),
    sshRetryIntervalSeconds: seconds("OPENEDX_IM_SSH_RETRY_INTERVAL", 5),
    killGraceSeconds: seconds("OPENEDX_IM_KILL_GRACE", 10),
    keepWorkDir: text("OPENEDX_IM_KEEP_WORK_DIR") === "1",
    progressIntervalSeconds: seconds("OPENEDX_IM_PROGRESS_INTERVAL", 60),
  };
  if (problems.length > 0) throw new UsageError(problems.join("\n"));
  return settings;
}

/** Only transports that cannot run a local command (no ext::, no options); defence in depth behind the program's allowlist. */
export function isRepositoryLocation(value: string): boolean {
  if (/[\0-\x20\x7f]/.test(value) || value.startsWith("-")) return false;
  if (/^(https|ssh):\/\/[A-Za-z0-9._~%@:[\]-]+\/./.test(value)) return true;
  if (/^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[A-Za-z0-9._~/-]+$/.test(value)) return true;
  return isAbsolute(value);
}

export interface Request {
  variables: Record<string, unknown>;
  /** Paths into `variables` that the operator wrote: those stay Jinja templates. */
  trustedPaths: VariablePath[];
  sshPrivateKey?: string;
}

export function parseRequest(text: string): Request {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The parser's message quotes the input, which may hold secrets: say only where to look.
    throw new UsageError("standard input: not JSON; expected {\"variables\": {...}, \"sshPrivateKey\": \"...\"}");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new UsageError("standard input: expected a JSON object with a \"variables\" mapping");
  const { variables, sshPrivateKey, trustedPaths } = parsed as Record<string, unknown>;
  if (typeof variables !== "object" || variables === null || Array.isArray(variables))
    throw new UsageError("standard input: \"variables\" must be a mapping of Ansible variable names to values");
  if (sshPrivateKey !== undefined && typeof sshPrivateKey !== "string")
    throw new UsageError("standard input: \"sshPrivateKey\" must be a string (the PEM/OpenSSH private key)");
  if (
    trustedPaths !== undefined &&
    !(Array.isArray(trustedPaths) && trustedPaths.every((path) => Array.isArray(path) && path.length > 0 && path.every((key) => typeof key === "string")))
  )
    throw new UsageError("standard input: \"trustedPaths\" must be a list of non-empty lists of keys, e.g. [[\"EDXAPP_FEATURES\", \"ENABLE_X\"]]");
  const problems = variableProblems(variables as Record<string, unknown>);
  if (problems.length > 0) throw new UsageError(problems.join("\n"));
  return {
    variables: variables as Record<string, unknown>,
    trustedPaths: (trustedPaths as VariablePath[] | undefined) ?? [],
    ...(sshPrivateKey ? { sshPrivateKey } : {}),
  };
}

/** A key that names a secret: its value is masked however short it is (down to 4 characters). */
const SECRET_KEY = /pass|secret|token|key|credential|private|auth/i;

/**
 * Every string (and number) in the variables long enough to be worth hiding,
 * longest first: 8 characters or more anywhere, 4 or more under a key that
 * names a secret (`..._PASSWORD`, `..._SECRET_KEY`, `..._TOKEN`).
 */
export function secretsToMask(request: Request): string[] {
  const found = new Set<string>();
  const walk = (value: unknown, secretKey: boolean) => {
    const minimum = secretKey ? 4 : 8;
    if (typeof value === "string") {
      if (value.length >= minimum) found.add(value);
      // A multi-line value (a key, a certificate) may be printed one line at a time.
      for (const line of value.split("\n")) if (line.trim().length >= minimum) found.add(line.trim());
    } else if (typeof value === "number" && String(value).length >= minimum) found.add(String(value));
    else if (Array.isArray(value)) value.forEach((item) => walk(item, secretKey));
    else if (typeof value === "object" && value !== null)
      for (const [key, item] of Object.entries(value)) walk(item, secretKey || SECRET_KEY.test(key));
  };
  walk(request.variables, false);
  walk(request.sshPrivateKey, true);
  return [...found].sort((a, b) => b.length - a.length);
}

export function mask(line: string, secrets: string[]): string {
  let out = line;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join("[masked]");
  return out;
}

class TimeoutError extends Error {}
class StepFailed extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

interface RunOptions {
  cwd?: string;
  env: Env;
  /** Fail when the process prints no line for this long. */
  lineTimeoutSeconds?: number;
  /** Absolute deadline (ms since epoch). */
  deadline: number;
  /** Called with each output line after it has gone to the log. */
  onLine?: (line: string) => void;
  /** Written to the program's standard input (e.g. a key for `ssh-add -`); never logged. */
  input?: string;
  /** Called once the program runs, with its process. */
  onSpawn?: (child: ChildProcess) => void;
}

/**
 * The wrapper's side of the guard (scripts/provision/guard.ts): tells it what
 * to stop and remove should the wrapper die without cleaning up.
 */
class Guard {
  private constructor(private readonly process: ChildProcess | undefined) {}

  static start(killGraceSeconds: number, log: WriteStream): Guard {
    const guard = spawn(process.execPath, [...process.execArgv, join(__dirname, "guard.ts"), String(killGraceSeconds)], {
      // Its own session: a signal to the wrapper's process group leaves it to do its work.
      detached: true,
      stdio: ["pipe", "ignore", "ignore"],
      // No tsx cache on disk: the guard outlives the wrapper, and a cache it wrote after removing the
      // run's directories would re-create them (or litter a TMPDIR that was removed meanwhile).
      env: { ...childEnvironment(process.env, { operatorSshAgent: false }), TSX_DISABLE_CACHE: "1" },
    });
    guard.on("error", (error) => log.write(`[openedx-im] the guard could not start: ${error.message}\n`));
    guard.stdin?.on("error", () => undefined);
    guard.unref();
    return new Guard(guard);
  }

  tell(message: GuardMessage): void {
    this.process?.stdin?.write(guardLine(message));
  }

  /** Normal end: everything is cleaned up already; the guard finds nothing left to do. */
  close(): void {
    this.process?.stdin?.end();
  }
}

/**
 * One step of the run: a program with an argument vector (no shell), its whole
 * output in the log, killed with its process group when a timeout passes.
 */
class Runner {
  private readonly children = new Set<number>();

  constructor(
    private readonly log: WriteStream,
    private readonly killGraceSeconds: number,
    private readonly guard: Guard,
    /** The log outlives the run (and a hard kill): each line reaches it masked, like the progress lines. */
    private readonly maskLine: (line: string) => string,
  ) {}

  run(program: string, args: string[], options: RunOptions): Promise<number> {
    return new Promise((resolvePromise, reject) => {
      const remaining = options.deadline - Date.now();
      if (remaining <= 0) return reject(new TimeoutError("the total timeout passed before this step began"));
      this.log.write(`\n$ ${program} ${args.map((a) => (a.startsWith("@") ? "@<variables file>" : a)).join(" ")}\n`);
      const child = spawn(program, args, {
        cwd: options.cwd,
        env: options.env as NodeJS.ProcessEnv,
        stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
        // Its own process group, so a timeout ends everything it started (ssh, forks of ansible).
        detached: true,
      });
      if (child.pid !== undefined) {
        this.children.add(child.pid);
        this.guard.tell({ kind: "group", pid: child.pid });
      }
      if (options.input !== undefined && child.stdin) {
        child.stdin.on("error", () => undefined);
        child.stdin.end(options.input);
      }
      options.onSpawn?.(child);
      let timedOut: string | undefined;
      const kill = (reason: string) => {
        if (timedOut !== undefined) return;
        timedOut = reason;
        this.log.write(`\n[openedx-im] ${reason}; stopping it\n`);
        this.killGroup(child.pid, "SIGTERM");
        setTimeout(() => this.killGroup(child.pid, "SIGKILL"), this.killGraceSeconds * 1000).unref();
      };
      const totalTimer = setTimeout(() => kill("the total timeout passed"), remaining);
      let lineTimer: NodeJS.Timeout | undefined;
      const armLineTimer = () => {
        if (options.lineTimeoutSeconds === undefined) return;
        if (lineTimer) clearTimeout(lineTimer);
        lineTimer = setTimeout(
          () => kill(`no output for ${options.lineTimeoutSeconds} s (the line timeout)`),
          options.lineTimeoutSeconds * 1000,
        );
      };
      armLineTimer();
      const pending: Record<"stdout" | "stderr", string> = { stdout: "", stderr: "" };
      const onData = (stream: "stdout" | "stderr") => (chunk: Buffer) => {
        armLineTimer();
        pending[stream] += chunk.toString("utf8");
        const lines = pending[stream].split("\n");
        pending[stream] = lines.pop() ?? "";
        for (const line of lines) {
          this.log.write(`${this.maskLine(line)}\n`);
          options.onLine?.(line);
        }
      };
      child.stdout?.on("data", onData("stdout"));
      child.stderr?.on("data", onData("stderr"));
      child.on("error", (error) => {
        clearTimeout(totalTimer);
        if (lineTimer) clearTimeout(lineTimer);
        if (child.pid !== undefined) {
          this.children.delete(child.pid);
          this.guard.tell({ kind: "done", pid: child.pid });
        }
        reject(new StepFailed(`cannot run ${program}: ${error.message}`, 1));
      });
      child.on("close", (code, signal) => {
        clearTimeout(totalTimer);
        if (lineTimer) clearTimeout(lineTimer);
        if (child.pid !== undefined) {
          // Whatever the step left behind in its group goes with it.
          this.killGroup(child.pid, "SIGKILL");
          this.children.delete(child.pid);
          this.guard.tell({ kind: "done", pid: child.pid });
        }
        for (const stream of ["stdout", "stderr"] as const)
          if (pending[stream]) {
            this.log.write(`${this.maskLine(pending[stream])}\n`);
            options.onLine?.(pending[stream]);
          }
        this.log.write(`[openedx-im] ${program} exited ${code ?? `on ${signal}`}\n`);
        if (timedOut !== undefined) reject(new TimeoutError(`${program}: ${timedOut}`));
        else resolvePromise(code ?? 1);
      });
    });
  }

  stopAll(): void {
    for (const pid of this.children) this.killGroup(pid, "SIGKILL");
  }

  killGroup(pid: number | undefined, signal: NodeJS.Signals) {
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // Already gone.
    }
  }
}

function timestamp(): string {
  return new Date().toISOString().replace(/[:.]/g, "-");
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Runs the whole provisioning; returns the exit status. `say` prints progress (already masked). */
export async function provision(settings: Settings, request: Request, env: Env, say: (line: string) => void): Promise<number> {
  const startedAt = Date.now();
  const deadline = startedAt + settings.totalTimeoutSeconds * 1000;
  const secrets = secretsToMask(request);
  // Every line: the elapsed time, masked, free of control characters, bounded in length.
  let lastSaid = startedAt;
  // What the run is doing, for the "still ..." line.
  let phase: () => string = () => "starting";
  const tell = (line: string) => {
    lastSaid = Date.now();
    say(printable(`provision [${formatElapsed(lastSaid - startedAt)}]: ${line}`, (text) => mask(text, secrets)));
  };
  // A long step (a pip install, a slow task) prints nothing for a while: say that it still runs.
  const heartbeat = setInterval(() => {
    if (Date.now() - lastSaid >= settings.progressIntervalSeconds * 1000) tell(`still ${phase()}`);
  }, Math.min(settings.progressIntervalSeconds * 1000, 5000));
  heartbeat.unref();

  const appLogDir = join(settings.logDir, settings.appServerId);
  mkdirSync(appLogDir, { recursive: true, mode: 0o700 });
  const logPath = join(appLogDir, `${timestamp()}.log`);
  closeSync(openSync(logPath, "wx", 0o600));
  const log = createWriteStream(logPath, { flags: "a" });
  const latest = join(appLogDir, "latest.log");
  try {
    if (existsSync(latest) || isSymlink(latest)) unlinkSync(latest);
    symlinkSync(logPath, latest);
  } catch {
    // The pointer is a convenience only.
  }
  const shownLog = logPath.startsWith(`${homedir()}/`) ? `~${logPath.slice(homedir().length)}` : logPath;
  tell(`appserver ${settings.appServerId} on ${settings.host}; full log: ${logPath}`);

  // The guard first: from here on, even a SIGKILL of the wrapper leaves no child and no private directory.
  const guard = Guard.start(settings.killGraceSeconds, log);
  // Private (0700), removed whatever happens: the variables pipe, the agent's socket, known_hosts,
  // and Ansible's temporary files (rendered templates hold secrets while a task runs).
  const privateDir = mkdtempSync(join(tmpdir(), "openedx-im-provision-"));
  guard.tell({ kind: "path", path: privateDir });
  let workDir: string | undefined;
  const runner = new Runner(log, settings.killGraceSeconds, guard, (line) => mask(line, secrets));
  let agent: ChildProcess | undefined;
  const varsPipe = join(privateDir, "variables.fifo");
  let feeding: WriteStream | undefined;
  const cleanUp = () => {
    runner.stopAll();
    releaseWriter(varsPipe, feeding);
    if (agent?.pid !== undefined) runner.killGroup(agent.pid, "SIGKILL");
    rmSync(privateDir, { recursive: true, force: true });
    if (workDir && !settings.keepWorkDir) rmSync(workDir, { recursive: true, force: true });
    guard.close();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    log.write(`\n[openedx-im] stopped by ${signal}\n`);
    cleanUp();
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  // @pulumi/command runs `sh -c <command>` and, on a cancel or a timeout, SIGKILLs that shell
  // alone; the wrapper (its child: dash does not exec) would run on as an orphan. A new parent
  // means the old one died: stop everything as for a signal.
  const parent = process.ppid;
  const orphanWatch = setInterval(() => {
    if (process.ppid === parent) return;
    log.write(`\n[openedx-im] the parent process ${parent} is gone; stopping\n`);
    cleanUp();
    process.exit(143);
  }, 500);
  orphanWatch.unref();

  // With a key, the wrapper's own agent holds it (and nothing else); without one, the operator's agent is used.
  const useOwnAgent = request.sshPrivateKey !== undefined;
  const baseEnv: Env = childEnvironment(env, { operatorSshAgent: request.sshPrivateKey === undefined });

  try {
    const knownHosts = join(privateDir, "known_hosts");
    if (settings.hostPublicKey) writePrivateFile(knownHosts, knownHostsLine(settings.host, settings.sshPort, settings.hostPublicKey));
    const hostKeyOptions = [
      "-o", "StrictHostKeyChecking=yes",
      "-o", `UserKnownHostsFile=${knownHosts}`,
      "-o", "GlobalKnownHostsFile=/dev/null",
      ...(settings.hostPublicKey ? ["-o", `HostKeyAlgorithms=${settings.hostPublicKey.type}`] : []),
    ];

    if (useOwnAgent) {
      const socket = join(privateDir, "agent.sock");
      agent = spawn("ssh-agent", ["-D", "-a", socket], { env: baseEnv as NodeJS.ProcessEnv, stdio: "ignore", detached: true });
      agent.on("error", (error) => log.write(`[openedx-im] ssh-agent: ${error.message}\n`));
      if (agent.pid !== undefined) guard.tell({ kind: "group", pid: agent.pid });
      const until = Date.now() + 10_000;
      while (!existsSync(socket) && Date.now() < until && agent.exitCode === null) await sleep(50);
      if (!existsSync(socket)) throw new StepFailed("ssh-agent did not start (is the OpenSSH client installed?); see the log", 1);
      baseEnv.SSH_AUTH_SOCK = socket;
      const key = request.sshPrivateKey ?? "";
      // The key goes over a pipe into the agent's memory, for no longer than the run may take.
      const lifetime = String(Math.ceil(settings.totalTimeoutSeconds) + 60);
      const added = await runner.run("ssh-add", ["-q", "-t", lifetime, "-"], {
        env: baseEnv,
        deadline,
        input: key.endsWith("\n") ? key : `${key}\n`,
      });
      if (added !== 0) throw new StepFailed("ssh-add refused the SSH private key (sshPrivateKey); see the log", 1);
    }

    if (settings.connection === "ssh") {
      phase = () => `waiting for SSH on ${settings.host}:${settings.sshPort}`;
      tell(`waiting for SSH on ${settings.host}:${settings.sshPort} (up to ${settings.sshWaitSeconds} s)`);
      const until = Math.min(deadline, Date.now() + settings.sshWaitSeconds * 1000);
      const args = ["-o", "BatchMode=yes", "-o", "ConnectTimeout=10", ...hostKeyOptions, "-p", String(settings.sshPort), "-l", settings.sshUser, "--", settings.host, "true"];
      for (;;) {
        const status = await runner.run("ssh", args, { env: baseEnv, deadline: Math.max(until, Date.now() + 1000) }).catch(() => 255);
        if (status === 0) break;
        if (Date.now() + settings.sshRetryIntervalSeconds * 1000 >= until)
          throw new StepFailed(
            `SSH on ${settings.host}:${settings.sshPort} did not answer within ${settings.sshWaitSeconds} s (OPENEDX_IM_SSH_WAIT_TIMEOUT), or not with the pinned host key (OPENEDX_IM_HOST_PUBLIC_KEY); see the log`,
            EXIT_SSH_UNAVAILABLE,
          );
        await sleep(settings.sshRetryIntervalSeconds * 1000);
      }
    }

    let checkout: string;
    if (settings.configurationDir !== undefined) {
      checkout = settings.configurationDir;
      tell(`using the configuration checkout in ${checkout}`);
    } else {
      workDir = mkdtempSync(join(tmpdir(), "openedx-im-configuration-"));
      if (!settings.keepWorkDir) guard.tell({ kind: "path", path: workDir });
      checkout = join(workDir, "configuration");
      phase = () => "checking out the configuration repository";
      tell(`checking out the configuration repository at ${settings.configurationRef}`);
      // Only transports that cannot run a local command (no ext::).
      const gitEnv: Env = { ...baseEnv, GIT_ALLOW_PROTOCOL: "file:git:http:https:ssh" };
      const git = (args: string[]) => runner.run("git", args, { env: gitEnv, deadline, lineTimeoutSeconds: settings.lineTimeoutSeconds });
      if ((await git(["init", "-q", "--", checkout])) !== 0) throw new StepFailed("git init failed; see the log", 1);
      const repository = settings.configurationRepository ?? "";
      if ((await git(["-C", checkout, "fetch", "-q", "--depth", "1", "--", repository, settings.configurationRef ?? ""])) !== 0)
        throw new StepFailed(
          `git could not fetch ${JSON.stringify(settings.configurationRef)} from the configuration repository (check OPENEDX_IM_CONFIGURATION_REF and OPENEDX_IM_CONFIGURATION_REPOSITORY); see the log`,
          1,
        );
      if ((await git(["-C", checkout, "checkout", "-q", "--detach", "FETCH_HEAD"])) !== 0) throw new StepFailed("git checkout failed; see the log", 1);
    }

    const playbookPath = [join(checkout, "playbooks", settings.playbook), join(checkout, settings.playbook)].find((p) => existsSync(p));
    if (playbookPath === undefined)
      throw new StepFailed(`the playbook ${settings.playbook} is neither in playbooks/ nor at the top of the configuration checkout (OPENEDX_IM_PLAYBOOK)`, 1);

    let ansiblePlaybook = settings.ansiblePlaybook;
    if (!settings.skipRequirements)
      ansiblePlaybook = await installRequirements(settings, checkout, runner, baseEnv, env, deadline, tell, (text) => (phase = () => text));

    // A named pipe, not a file: the variables (secrets among them) never touch a disk. Ansible reads it once.
    if ((await runner.run("mkfifo", ["-m", "600", "--", varsPipe], { env: baseEnv, deadline })) !== 0)
      throw new StepFailed("mkfifo failed; see the log", 1);
    const ansibleTemp = join(privateDir, "ansible");
    mkdirSync(ansibleTemp, { mode: 0o700 });

    const args = ["-i", `${settings.host},`, "-e", `@${varsPipe}`];
    if (settings.connection === "local") args.push("-c", "local");
    else args.push("-u", settings.sshUser);
    // After the variables: the last -e wins, so the wrapper's own connection settings stand.
    args.push("-e", JSON.stringify({ ansible_port: settings.sshPort }));
    args.push(playbookPath);
    const ansibleEnv: Env = {
      ...baseEnv,
      ANSIBLE_NOCOLOR: "1",
      ANSIBLE_FORCE_COLOR: "0",
      ANSIBLE_RETRY_FILES_ENABLED: "0",
      // Beats the configuration repository's ansible.cfg, which may turn host key checking off.
      ANSIBLE_HOST_KEY_CHECKING: "True",
      ANSIBLE_SSH_COMMON_ARGS: hostKeyOptions.filter((option) => option !== "-o").map((option) => `-o ${quoteSshOption(option)}`).join(" "),
      // Rendered templates and module files wait here while a task runs; the guard removes them after a kill.
      ANSIBLE_LOCAL_TEMP: ansibleTemp,
      ...(settings.connection === "local" ? { ANSIBLE_REMOTE_TEMP: ansibleTemp } : {}),
      PYTHONUNBUFFERED: "1",
    };
    tell(`running ${settings.playbook} (line timeout ${settings.lineTimeoutSeconds} s, total ${settings.totalTimeoutSeconds} s)`);
    phase = () => `running ${settings.playbook}`;
    let finishing = false;
    const progress = new AnsibleProgress();
    let lastPlay = "";
    const taskLine = () =>
      `task ${progress.counts.started} started: ${progress.currentTask} · ${formatCounts(progress.counts)} · log ${shownLog}`;
    const status = await runner.run(ansiblePlaybook, args, {
      // The configuration repository's ansible.cfg (roles path, ssh settings) sits beside its playbooks.
      cwd: dirname(playbookPath),
      env: ansibleEnv,
      deadline,
      lineTimeoutSeconds: settings.lineTimeoutSeconds,
      onSpawn: () => {
        // Opening a pipe for writing waits for its reader: Ansible, once it loads its extra variables.
        feeding = createWriteStream(varsPipe, { flags: "w" });
        feeding.on("error", () => undefined);
        feeding.end(JSON.stringify(markUntrusted(request.variables, request.trustedPaths)));
      },
      onLine: (line) => {
        const event = progress.read(line, Date.now());
        // Task and play headers (masked) and the recap carry no value; results stay in the log, counted only.
        if (event === "task") {
          phase = () =>
            `at task ${progress.counts.started} (for ${formatElapsed(Date.now() - progress.currentTaskStartedAt)}): ${progress.currentTask} · ${formatCounts(progress.counts)} · log ${shownLog}`;
          tell(taskLine());
        } else if (event === "play") {
          lastPlay = line.replace(/\s*\*+\s*$/, "");
          tell(lastPlay);
        } else if (event === "recap") {
          finishing = true;
          phase = () => "finishing the playbook";
          tell(`PLAY RECAP · ${formatCounts(progress.counts)}`);
        } else if (finishing && line.trim() !== "") tell(line);
      },
    });
    progress.finishTask();
    const lastTask = progress.currentTask || lastPlay;
    if (status !== 0)
      throw new StepFailed(
        `ansible-playbook failed (exit ${status}) at ${lastTask || "its start"} (${formatCounts(progress.counts)}); see the log`,
        status,
      );
    tell(`appserver ${settings.appServerId} provisioned; log: ${logPath}`);
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    tell(`FAILED: ${message}`);
    tell(`full log: ${logPath}`);
    log.write(`\n[openedx-im] FAILED: ${message}\n`);
    if (error instanceof TimeoutError) return EXIT_TIMEOUT;
    if (error instanceof StepFailed) return error.exitCode === 0 ? 1 : error.exitCode;
    return 1;
  } finally {
    clearInterval(heartbeat);
    clearInterval(orphanWatch);
    cleanUp();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await new Promise<void>((r) => log.end(r));
  }
}

/**
 * When Ansible ended without reading the variables (it failed first), the
 * writer still waits in open(): give it a reader for a moment so it finishes,
 * its data discarded with the pipe.
 */
function releaseWriter(pipe: string, writer: WriteStream | undefined) {
  if (writer === undefined || writer.writableFinished) return;
  try {
    closeSync(openSync(pipe, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK));
  } catch {
    // Gone already.
  }
  writer.destroy();
}

/** ssh's own quoting, for Ansible's ssh_common_args (split with shlex): a path with a space stays one word. */
function quoteSshOption(option: string): string {
  return /^[A-Za-z0-9=/._:-]+$/.test(option) ? option : `"${option.replace(/(["\\])/g, "\\$1")}"`;
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

function writePrivateFile(path: string, content: string) {
  // Created 0600 with O_EXCL: never readable by others, never an existing file or link.
  const fd = openSync(path, "wx", 0o600);
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
}

/**
 * The configuration repository's Python requirements (its pinned Ansible among
 * them) in a virtualenv cached by the requirements' digest, so runs of the same
 * release share one and different releases never mix.
 */
async function installRequirements(
  settings: Settings,
  checkout: string,
  runner: Runner,
  env: Env,
  operatorEnv: Env,
  deadline: number,
  tell: (line: string) => void,
  setPhase: (text: string) => void,
): Promise<string> {
  const requirements = join(checkout, "requirements.txt");
  if (!existsSync(requirements))
    throw new StepFailed("the configuration checkout has no requirements.txt; set OPENEDX_IM_SKIP_REQUIREMENTS=1 to use the ansible-playbook on PATH", 1);
  const digest = createHash("sha256").update(settings.python).update("\0").update(readFileSync(requirements)).digest("hex").slice(0, 16);
  const venv = join(settings.venvCacheDir, digest);
  const ansible = join(venv, "bin", "ansible-playbook");
  if (existsSync(join(venv, ".complete")) && existsSync(ansible)) {
    tell(`using the virtualenv ${venv}`);
    return ansible;
  }
  tell(`installing the configuration requirements into ${venv}`);
  setPhase("installing the configuration requirements");
  mkdirSync(settings.venvCacheDir, { recursive: true, mode: 0o700 });
  const building = mkdtempSync(join(settings.venvCacheDir, `${digest}.building-`));
  const step = { env, deadline, lineTimeoutSeconds: settings.lineTimeoutSeconds };
  try {
    if ((await runner.run(settings.python, ["-m", "venv", building], step)) !== 0)
      throw new StepFailed(`${settings.python} -m venv failed (OPENEDX_IM_PYTHON); see the log`, 1);
    const pip = join(building, "bin", "pip");
    const pipStep = { ...step, env: { ...env, ...pipEnvironment(operatorEnv) }, cwd: checkout };
    if ((await runner.run(pip, ["install", "--disable-pip-version-check", "-r", requirements], pipStep)) !== 0)
      throw new StepFailed("pip could not install the configuration requirements (no package index? set OPENEDX_IM_SKIP_REQUIREMENTS=1); see the log", 1);
    if (!existsSync(join(building, "bin", "ansible-playbook")))
      throw new StepFailed("the configuration requirements installed no ansible-playbook; check the repository's requirements.txt", 1);
    writeFileSync(join(building, ".complete"), `${new Date().toISOString()}\n`);
    // A venv's scripts name its own path, so it is built in place of a sibling and renamed only if nobody won the race.
    try {
      renameSync(building, venv);
    } catch {
      rmSync(building, { recursive: true, force: true });
    }
  } catch (error) {
    rmSync(building, { recursive: true, force: true });
    throw error;
  }
  return ansible;
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new UsageError("standard input: pass the request as JSON ({\"variables\": {...}}), not a terminal");
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function main(): Promise<number> {
  const say = (line: string) => process.stderr.write(`${line}\n`);
  let settings: Settings;
  let request: Request;
  try {
    settings = readSettings(process.env);
    request = parseRequest(await readStdin());
  } catch (error) {
    if (error instanceof UsageError) {
      say(`provision: ${error.message.split("\n").join("\nprovision: ")}`);
      return EXIT_USAGE;
    }
    throw error;
  }
  return provision(settings, request, process.env, say);
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
