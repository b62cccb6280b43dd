/**
 * The provisioning wrapper's watchdog: a separate process (its own session)
 * that outlives the wrapper. The wrapper tells it, one line at a time on its
 * standard input, which process groups it started and which directories it
 * made; when that input ends — the wrapper finished, or was killed with
 * SIGKILL, which no handler of the wrapper can catch — the guard stops every
 * group still registered (SIGTERM, then SIGKILL after the grace) and removes
 * the directories, so a hard kill leaves no playbook, no ssh-agent and no
 * private file behind.
 *
 *   node --import tsx scripts/provision/guard.ts <grace seconds>
 *
 * Lines: `group <pid>` (watch the process group led by pid), `done <pid>` (it
 * ended; forget it), `path <absolute dir>` (remove it at the end).
 */
import { rmSync } from "node:fs";
import { isAbsolute } from "node:path";
import { createInterface } from "node:readline";

export type GuardMessage = { kind: "group" | "done"; pid: number } | { kind: "path"; path: string };

export function guardLine(message: GuardMessage): string {
  return message.kind === "path" ? `path ${message.path}\n` : `${message.kind} ${message.pid}\n`;
}

export function parseGuardLine(line: string): GuardMessage | undefined {
  const match = /^(group|done|path) (.+)$/.exec(line);
  if (!match) return undefined;
  if (match[1] === "path") return isAbsolute(match[2]) ? { kind: "path", path: match[2] } : undefined;
  const pid = Number(match[2]);
  return Number.isInteger(pid) && pid > 1 ? { kind: match[1] as "group" | "done", pid } : undefined;
}

function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false; // the group is gone
  }
}

function main() {
  const graceSeconds = Number(process.argv[2] ?? "5");
  const groups = new Set<number>();
  const paths: string[] = [];
  // Terminal signals meant for the wrapper's job must not stop the guard before its work is done.
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => undefined);
  const lines = createInterface({ input: process.stdin });
  lines.on("line", (line) => {
    const message = parseGuardLine(line);
    if (message === undefined) return;
    if (message.kind === "path") paths.push(message.path);
    else if (message.kind === "group") groups.add(message.pid);
    else groups.delete(message.pid);
  });
  lines.on("close", () => {
    const alive = [...groups].filter((pid) => signalGroup(pid, "SIGTERM"));
    const removePaths = () => {
      for (const path of paths) rmSync(path, { recursive: true, force: true });
    };
    removePaths();
    const finish = () => {
      for (const pid of alive) signalGroup(pid, "SIGKILL");
      // Again: a process stopping may have written there meanwhile.
      removePaths();
      process.exit(0);
    };
    if (alive.length === 0) finish();
    else setTimeout(finish, Math.max(0, Math.min(graceSeconds, 30)) * 1000);
  });
}

if (require.main === module) main();
