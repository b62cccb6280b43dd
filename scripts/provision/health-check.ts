/**
 * Waits, bounded, until an appserver answers `GET /heartbeat` with 200 for the
 * instance's LMS name, and fails otherwise. Run by the HealthCheck component
 * after provisioning; the load balancer sends nothing to the appserver before
 * this succeeds.
 *
 *   node --import tsx scripts/provision/health-check.ts
 *
 * Environment: OPENEDX_IM_HEALTH_ADDRESS (required), OPENEDX_IM_HEALTH_HOST (the
 * Host header, required), OPENEDX_IM_HEALTH_PORT (80), OPENEDX_IM_HEALTH_PATH
 * (/heartbeat), OPENEDX_IM_HEALTH_TIMEOUT (seconds, 900), OPENEDX_IM_HEALTH_INTERVAL
 * (seconds between tries, 10), OPENEDX_IM_HEALTH_REQUEST_TIMEOUT (seconds per try, 10).
 * Exit status: 0 healthy; 1 not healthy in time; 64 bad settings.
 */
import { request } from "node:http";
import { formatElapsed } from "./progress";

export interface HealthSettings {
  address: string;
  host: string;
  port: number;
  path: string;
  timeoutSeconds: number;
  intervalSeconds: number;
  requestTimeoutSeconds: number;
}

export function readHealthSettings(env: Record<string, string | undefined>): HealthSettings | { problems: string[] } {
  const problems: string[] = [];
  const get = (name: string) => (env[name] === "" ? undefined : env[name]);
  const number = (name: string, fallback: number) => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0) problems.push(`${name}: "${raw}" is not a positive number`);
    return value;
  };
  const address = get("OPENEDX_IM_HEALTH_ADDRESS");
  if (address === undefined || !/^[A-Za-z0-9][A-Za-z0-9.:-]*$/.test(address))
    problems.push("OPENEDX_IM_HEALTH_ADDRESS: required, the appserver's IP address or host name");
  const host = get("OPENEDX_IM_HEALTH_HOST");
  if (host === undefined || !/^[A-Za-z0-9.-]+$/.test(host)) problems.push("OPENEDX_IM_HEALTH_HOST: required, the LMS domain");
  const path = get("OPENEDX_IM_HEALTH_PATH") ?? "/heartbeat";
  if (!path.startsWith("/") || /[\s\0-\x1f]/.test(path)) problems.push(`OPENEDX_IM_HEALTH_PATH: ${JSON.stringify(path)} must be a URL path`);
  const settings: HealthSettings = {
    address: address ?? "",
    host: host ?? "",
    port: number("OPENEDX_IM_HEALTH_PORT", 80),
    path,
    timeoutSeconds: number("OPENEDX_IM_HEALTH_TIMEOUT", 900),
    intervalSeconds: number("OPENEDX_IM_HEALTH_INTERVAL", 10),
    requestTimeoutSeconds: number("OPENEDX_IM_HEALTH_REQUEST_TIMEOUT", 10),
  };
  return problems.length > 0 ? { problems } : settings;
}

/** One try: the status code, or the error's message. */
export function probe(settings: HealthSettings): Promise<number | string> {
  return new Promise((resolvePromise) => {
    const req = request(
      {
        host: settings.address,
        port: settings.port,
        path: settings.path,
        method: "GET",
        headers: { Host: settings.host, "User-Agent": "openedx-im-health-check" },
        timeout: settings.requestTimeoutSeconds * 1000,
      },
      (res) => {
        res.resume();
        resolvePromise(res.statusCode ?? 0);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${settings.requestTimeoutSeconds} s`)));
    req.on("error", (error) => resolvePromise(error.message));
    req.end();
  });
}

/**
 * Tries until the answer is 200 or the timeout passes. Each try that fails
 * prints a line (attempt, elapsed time, the answer), so the console of
 * `pulumi up` shows the wait moving and why it has not ended.
 */
export async function waitHealthy(settings: HealthSettings, say: (line: string) => void): Promise<boolean> {
  const startedAt = Date.now();
  const deadline = startedAt + settings.timeoutSeconds * 1000;
  const target = `http://${settings.address}:${settings.port}${settings.path} (Host: ${settings.host})`;
  const elapsed = () => formatElapsed(Date.now() - startedAt);
  say(`health-check [${elapsed()}]: waiting up to ${settings.timeoutSeconds} s for 200 from ${target}`);
  let last: number | string = "not tried";
  for (let attempt = 1; ; attempt++) {
    last = await probe(settings);
    if (last === 200) {
      say(`health-check [${elapsed()}]: healthy after ${attempt} tr${attempt === 1 ? "y" : "ies"}`);
      return true;
    }
    if (Date.now() + settings.intervalSeconds * 1000 >= deadline) break;
    say(`health-check [${elapsed()}]: attempt ${attempt}: ${describe(last)}; next try in ${settings.intervalSeconds} s (gives up after ${settings.timeoutSeconds} s)`);
    await new Promise((r) => setTimeout(r, settings.intervalSeconds * 1000));
  }
  say(`health-check [${elapsed()}]: FAILED: ${target} did not answer 200 within ${settings.timeoutSeconds} s (last: ${describe(last)})`);
  return false;
}

function describe(answer: number | string): string {
  // An error message is the client's own (no value of the run); bounded and on one line all the same.
  return typeof answer === "number" ? `HTTP ${answer}` : answer.replace(/[\u0000-\u001f\u007f]/g, " ").slice(0, 200);
}

if (require.main === module) {
  const settings = readHealthSettings(process.env);
  const say = (line: string) => process.stderr.write(`${line}\n`);
  if ("problems" in settings) {
    for (const problem of settings.problems) say(`health-check: ${problem}`);
    process.exit(64);
  }
  waitHealthy(settings, say).then((healthy) => process.exit(healthy ? 0 : 1));
}
