/**
 * Live progress of a provisioning run, read from Ansible's default output and
 * printed one line at a time on the wrapper's standard error, which the command
 * provider streams to the console of `pulumi up` (`logging: "stderr"`).
 *
 * What is printed carries no value the run was handed: task names are rendered
 * by Ansible (`TASK [create user {{ name }}]` shows the name), so they are masked
 * like every other line; results (`ok: [host] => {...}`) are only counted, never
 * printed; control characters are dropped and every line is cut to a bounded
 * length after masking (the provider reads lines with a 64 KiB scanner, and a
 * cut through a value must not leave half of it unmasked).
 */

/** Longer lines are cut: the provider's line scanner stops (and stalls the command) beyond 64 KiB. */
export const MAX_PROGRESS_LINE = 400;

export interface TaskCounts {
  started: number;
  ok: number;
  changed: number;
  failed: number;
  skipped: number;
}

type Outcome = "ok" | "changed" | "failed" | "skipped" | "ignored";

/** Follows Ansible's output line by line: which task runs, and how the finished ones ended. */
export class AnsibleProgress {
  readonly counts: TaskCounts = { started: 0, ok: 0, changed: 0, failed: 0, skipped: 0 };
  /** The header of the task running now, or of the last one (`TASK [role : name]`), unmasked: mask before printing. */
  currentTask = "";
  currentTaskStartedAt = 0;
  private outcome: Outcome | undefined;
  private inRecap = false;

  /**
   * Reads one line of Ansible's output. Returns what happened that is worth a
   * progress line: a task or play started, the recap began, or nothing.
   */
  read(line: string, now: number): "task" | "play" | "recap" | undefined {
    if (line.startsWith("TASK [") || line.startsWith("RUNNING HANDLER [")) {
      this.finishTask();
      this.counts.started++;
      this.currentTask = line.replace(/\s*\*+\s*$/, "");
      this.currentTaskStartedAt = now;
      this.inRecap = false;
      return "task";
    }
    if (line.startsWith("PLAY [")) {
      this.finishTask();
      this.inRecap = false;
      return "play";
    }
    if (line.startsWith("PLAY RECAP")) {
      this.finishTask();
      this.inRecap = true;
      return "recap";
    }
    if (this.inRecap) return undefined;
    // Per-host (and per-item) results; a task's outcome is the worst of them.
    const result = /^(ok|changed|fatal|failed|skipping): \[/.exec(line);
    if (result) {
      const seen: Outcome = result[1] === "fatal" || result[1] === "failed" ? "failed" : result[1] === "skipping" ? "skipped" : (result[1] as Outcome);
      this.outcome = worse(this.outcome, seen);
    } else if (line.trim() === "...ignoring" && this.outcome === "failed") this.outcome = "ignored";
    return undefined;
  }

  /** Counts the running task by its outcome so far (at the end of the run, or when it is cut short). */
  finishTask(): void {
    if (this.outcome === undefined) return;
    if (this.outcome === "ignored") this.counts.ok++;
    else this.counts[this.outcome]++;
    this.outcome = undefined;
  }
}

const SEVERITY: Record<Outcome, number> = { skipped: 0, ok: 1, ignored: 2, changed: 3, failed: 4 };

function worse(a: Outcome | undefined, b: Outcome): Outcome {
  return a === undefined || SEVERITY[b] > SEVERITY[a] ? b : a;
}

/** `1:02:03` or `2:03`: elapsed time at a glance. */
export function formatElapsed(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const two = (n: number) => String(n).padStart(2, "0");
  return hours > 0 ? `${hours}:${two(minutes)}:${two(seconds)}` : `${minutes}:${two(seconds)}`;
}

export function formatCounts(counts: TaskCounts): string {
  return `${counts.started} started, ${counts.ok} ok, ${counts.changed} changed, ${counts.failed} failed, ${counts.skipped} skipped`;
}

/**
 * Makes a line safe to print: values masked first, then control characters
 * (terminal escapes, carriage returns) replaced, then the length bounded, so a
 * cut never exposes the start of a value the mask would have caught.
 */
export function printable(line: string, mask: (text: string) => string, max = MAX_PROGRESS_LINE): string {
  const clean = mask(line).replace(/[\u0000-\u001f\u007f-\u009f]/g, "?");
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}
