/**
 * The HAProxy fragment of one instance: a backend section (a file of its own in
 * the load balancer's conf.d) and the map lines that route each of the
 * instance's domains to it. Pure: the same input gives byte-identical text, so
 * the plan can show it and two renders can be diffed.
 *
 * The backend keeps what the old instance manager did right: cookie
 * stickiness (a learner stays on one appserver while several serve), health
 * checks on `/heartbeat`, and a "preliminary page" backend while no appserver
 * is active. The routing itself lives in the load balancer's main config:
 * `use_backend %[req.hdr(host),host_only,lower,map(<combined map>)]`.
 */
import { isIP } from "node:net";
import { INSTANCE_ID_PATTERN, INSTANCE_ID_RULE, lbBackendName } from "../config/instance-id";

export interface HaproxyServer {
  /** Unique within the instance; also the stickiness cookie's value. */
  name: string;
  /** IPv4, IPv6 or a host name the load balancer resolves at start. */
  address: string;
  port: number;
}

export interface HaproxyFragmentInput {
  /** DNS-safe slug [a-z0-9-], unique per instance on the load balancer (the Pulumi stack name). */
  instanceId: string;
  /** Every domain of the instance (LMS, Studio, preview, MFE, ...). */
  domains: string[];
  /** The active appserver VMs; [] while none is active. */
  servers: HaproxyServer[];
  /** A backend defined in the load balancer's main config, used while `servers` is []. */
  preliminaryBackend: string;
  /** Default "/heartbeat". */
  healthCheckPath?: string;
  /** Host header of the health check; default the first domain (the LMS). */
  healthCheckHost?: string;
  /** Name of the stickiness cookie; default "openedx-im-server". */
  cookieName?: string;
  /** Seconds between health checks when they run (more than one server); default 5. */
  healthCheckIntervalSeconds?: number;
  /** `timeout server` of this backend in seconds (course imports and exports are slow); default: the main config's. */
  serverTimeoutSeconds?: number;
  /** Strict-Transport-Security value sent on HTTPS answers (certificate-plan.ts `hstsHeader`); none when absent. */
  hsts?: string;
  /**
   * Candidate appservers (production, not active): reachable only by a browser pinned to one
   * at `https://<id>.candidate.<LMS domain>/`, under the instance's real names (docs/load-balancer.md).
   */
  candidates?: HaproxyCandidate[];
  /** Needed with candidates: the LMS domain (the entry names live under it) and the pin cookie's domain. */
  candidateSite?: { lmsDomain: string; cookieDomain: string };
}

export interface HaproxyCandidate {
  /** The appserver id (1-16 of a-z, 0-9). */
  id: string;
  /** Its VMs; the pin sends a browser to the first. */
  servers: HaproxyServer[];
}

/** The name that pins a browser to a candidate appserver: `<id>.candidate.<LMS domain>`. */
export function candidateEntryDomain(appServerId: string, lmsDomain: string): string {
  return `${appServerId}.candidate.${lmsDomain}`;
}

/** The candidate entry names a rendered backend answers (they pin a browser; they are not the site's domains). */
export function candidateEntryDomains(config: string): string[] {
  return [...config.matchAll(/^    http-request redirect scheme https code 301 if !\{ ssl_fc \} \{ req\.hdr\(host\),host_only,lower -m str (\S+) \}$/gm)].map((m) => m[1]);
}

/** The cookie that pins a browser to one of an instance's candidates; its value is the appserver id. */
export function candidateCookieName(instanceId: string): string {
  return `openedx-im-candidate-${instanceId}`;
}

export interface HaproxyFragment {
  /** The backend the instance's domains map to while an appserver is active. */
  backendName: string;
  /** The backend section(s), as haproxy.cfg text. */
  config: string;
  /** The domain-to-backend map lines. */
  map: string;
}

const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** HAProxy's identifier characters (backend and server names). */
const HAPROXY_NAME = /^[A-Za-z0-9_.:-]+$/;
/**
 * An absolute path made of URL-safe characters: it is written into the config
 * unquoted, so no quote (HAProxy would join words), backslash or '#'. The apply
 * script accepts exactly this set.
 */
const URL_PATH = /^\/[A-Za-z0-9._~!$&()*+,;=:@%/?-]*$/;

/** The backend name of an instance: also the name other tools can look for. */
export function haproxyBackendName(instanceId: string): string {
  checkInstanceId(instanceId);
  return lbBackendName(instanceId);
}

export function renderHaproxyFragment(input: HaproxyFragmentInput): HaproxyFragment {
  const backendName = haproxyBackendName(input.instanceId);
  const domains = normaliseDomains(input.domains);
  checkName("preliminaryBackend", input.preliminaryBackend, "the name of a backend section in the load balancer's main config (e.g. \"openedx-im-preliminary\")");
  const servers = input.servers.map((server, index) => checkServer(server, index));
  const names = new Set<string>();
  for (const server of servers) {
    if (names.has(server.name))
      throw new Error(`haproxy fragment: servers has two entries named "${server.name}"; give each appserver a unique name`);
    names.add(server.name);
  }

  const healthCheckPath = input.healthCheckPath ?? "/heartbeat";
  if (!URL_PATH.test(healthCheckPath))
    throw new Error(`haproxy fragment: healthCheckPath "${healthCheckPath}" must be an absolute URL path without spaces or quotes, e.g. "/heartbeat"`);
  const healthCheckHost = input.healthCheckHost === undefined ? domains[0] : normaliseDomain("healthCheckHost", input.healthCheckHost);
  const cookieName = input.cookieName ?? "openedx-im-server";
  if (!/^[A-Za-z0-9_-]+$/.test(cookieName))
    throw new Error(`haproxy fragment: cookieName "${cookieName}" may hold only letters, digits, "_" and "-"`);
  const interval = positiveInteger("healthCheckIntervalSeconds", input.healthCheckIntervalSeconds ?? 5);
  const serverTimeout = input.serverTimeoutSeconds === undefined ? undefined : positiveInteger("serverTimeoutSeconds", input.serverTimeoutSeconds);
  if (input.hsts !== undefined && !/^max-age=\d{1,9}(;includeSubDomains)?(;preload)?$/.test(input.hsts))
    throw new Error(`haproxy fragment: hsts ${JSON.stringify(input.hsts)} must be a Strict-Transport-Security value such as "max-age=31536000;includeSubDomains"`);

  const candidates = (input.candidates ?? []).filter((candidate) => candidate.servers.length > 0);
  const site = candidates.length > 0 ? checkCandidateSite(input.candidateSite) : undefined;
  for (const candidate of candidates) {
    if (!/^[a-z0-9]{1,16}$/.test(candidate.id))
      throw new Error(`haproxy fragment: candidate id ${JSON.stringify(candidate.id)} must be an appserver id (1-16 of a-z, 0-9)`);
    candidate.servers.forEach((server, index) => {
      checkServer(server, index);
      if (names.has(server.name)) throw new Error(`haproxy fragment: server name "${server.name}" is used twice; give each appserver VM a unique name`);
      names.add(server.name);
    });
  }

  // Health checks run only when there is a choice: with a single appserver a
  // failed check would turn a slow answer into a 503 for everyone.
  const checked = servers.length > 1;
  const lines = [
    `# openedx-im instance ${input.instanceId}: ${servers.length === 0 ? "no active appserver (domains go to the preliminary page)" : `${servers.length} active appserver(s)`}`,
    `backend ${backendName}`,
    "    mode http",
    "    balance roundrobin",
    // postonly: GET responses stay cacheable; a session (login is a POST) sticks to its appserver.
    `    cookie ${cookieName} insert postonly indirect`,
    "    option httpchk",
    `    http-check send meth GET uri ${healthCheckPath} ver HTTP/1.1 hdr Host ${healthCheckHost}`,
    "    http-check expect status 200",
    `    default-server inter ${interval}s fall 3 rise 2`,
    ...(serverTimeout === undefined ? [] : [`    timeout server ${serverTimeout}s`]),
    // Only over HTTPS: a browser must learn it from a connection it trusts.
    ...(input.hsts === undefined ? [] : [`    http-response set-header Strict-Transport-Security ${input.hsts} if { ssl_fc }`]),
    ...servers.map((server) => `    server ${server.name} ${hostPort(server)} cookie ${server.name}${checked ? " check" : ""}`),
    ...candidates.flatMap((candidate) => candidateLines(input.instanceId, cookieName, candidate, site!)),
  ];
  const target = servers.length === 0 ? input.preliminaryBackend : backendName;
  const entries = site ? candidates.map((candidate) => candidateEntryDomain(candidate.id, site.lmsDomain)) : [];
  return {
    backendName,
    config: lines.join("\n") + "\n",
    map: [...domains.map((domain) => `${domain} ${target}\n`), ...entries.map((entry) => `${entry} ${backendName}\n`)].join(""),
  };
}

/**
 * A candidate's lines: its entry name sets the pin cookie (HTTPS only, HttpOnly, the instance's
 * cookie domain) and redirects to the LMS, `/leave` clears it; requests carrying it go to the
 * candidate's first VM; its VMs take no other traffic (weight 0), and a stickiness cookie naming
 * one of them counts only while the pin is there. No quote, backslash or '#': the apply script
 * matches these lines exactly.
 */
function candidateLines(instanceId: string, stickiness: string, candidate: HaproxyCandidate, site: { lmsDomain: string; cookieDomain: string }): string[] {
  const entry = candidateEntryDomain(candidate.id, site.lmsDomain);
  const pin = candidateCookieName(instanceId);
  const atEntry = `{ req.hdr(host),host_only,lower -m str ${entry} }`;
  const pinned = `{ req.cook(${pin}) -m str ${candidate.id} }`;
  const back = `hdr Location https://${site.lmsDomain}/ hdr Cache-Control no-store`;
  return [
    `# candidate appserver ${candidate.id}: pinned at its entry name ${entry}`,
    `    http-request redirect scheme https code 301 if !{ ssl_fc } ${atEntry}`,
    `    http-request return status 302 ${back} hdr Set-Cookie ${pin}=;Domain=${site.cookieDomain};Path=/;Max-Age=0;Secure if ${atEntry} { path /leave }`,
    `    http-request return status 302 ${back} hdr Set-Cookie ${pin}=${candidate.id};Domain=${site.cookieDomain};Path=/;Secure;HttpOnly;SameSite=Lax if ${atEntry}`,
    `    use-server ${candidate.servers[0].name} if ${pinned}`,
    `    ignore-persist if { req.cook(${stickiness}) -m beg ${candidate.id}- } !${pinned}`,
    ...candidate.servers.map((server) => `    server ${server.name} ${hostPort(server)} cookie ${server.name} weight 0`),
  ];
}

function checkCandidateSite(site: HaproxyFragmentInput["candidateSite"]): { lmsDomain: string; cookieDomain: string } {
  if (!site) throw new Error("haproxy fragment: candidates need candidateSite (the LMS domain and the pin cookie's domain)");
  const lmsDomain = normaliseDomain("candidateSite.lmsDomain", site.lmsDomain);
  const cookieDomain = normaliseDomain("candidateSite.cookieDomain", site.cookieDomain);
  if (!(lmsDomain === cookieDomain || lmsDomain.endsWith(`.${cookieDomain}`)))
    throw new Error(`haproxy fragment: candidateSite.cookieDomain ${cookieDomain} must be the LMS domain ${lmsDomain} or one of its parents`);
  return { lmsDomain, cookieDomain };
}

function checkInstanceId(instanceId: string): void {
  if (typeof instanceId !== "string" || !INSTANCE_ID_PATTERN.test(instanceId))
    throw new Error(
      `haproxy fragment: instanceId ${JSON.stringify(instanceId)} must be a DNS-safe slug: ${INSTANCE_ID_RULE} (use the Pulumi stack name, lower-cased)`,
    );
}

function checkName(field: string, value: string, what: string): void {
  if (typeof value !== "string" || !HAPROXY_NAME.test(value))
    throw new Error(`haproxy fragment: ${field} ${JSON.stringify(value)} must be ${what}, made of letters, digits, "_", ".", ":" and "-"`);
}

function normaliseDomain(field: string, domain: string): string {
  const lowered = typeof domain === "string" ? domain.toLowerCase() : "";
  const labels = lowered.split(".");
  if (lowered.length === 0 || lowered.length > 253 || !labels.every((label) => DNS_LABEL.test(label)))
    throw new Error(
      `haproxy fragment: ${field} ${JSON.stringify(domain)} is not a host name: dot-separated labels of letters, digits and "-" (IDN as punycode "xn--..."), no trailing dot, no port, at most 253 characters`,
    );
  return lowered;
}

/** Lower-cased (HAProxy lower-cases the Host before the map lookup), duplicates dropped, order kept. */
function normaliseDomains(domains: string[]): string[] {
  if (!Array.isArray(domains) || domains.length === 0)
    throw new Error("haproxy fragment: domains is empty; give every domain of the instance (at least the LMS domain)");
  const seen = new Set<string>();
  const result: string[] = [];
  domains.forEach((domain, index) => {
    const normal = normaliseDomain(`domains[${index}]`, domain);
    if (!seen.has(normal)) {
      seen.add(normal);
      result.push(normal);
    }
  });
  return result;
}

function checkServer(server: HaproxyServer, index: number): HaproxyServer {
  const at = `servers[${index}]`;
  checkName(`${at}.name`, server.name, "a server name");
  const address = server.address;
  const isHostName = typeof address === "string" && address.split(".").every((label) => DNS_LABEL.test(label.toLowerCase())) && address.length <= 253;
  if (!(typeof address === "string" && (isIP(address) !== 0 || isHostName)))
    throw new Error(`haproxy fragment: ${at}.address ${JSON.stringify(address)} must be an IPv4 or IPv6 address (no brackets, no port) or a host name`);
  if (!Number.isInteger(server.port) || server.port < 1 || server.port > 65535)
    throw new Error(`haproxy fragment: ${at}.port ${JSON.stringify(server.port)} must be an integer from 1 to 65535`);
  return server;
}

function hostPort(server: HaproxyServer): string {
  return server.address.includes(":") ? `[${server.address}]:${server.port}` : `${server.address}:${server.port}`;
}

function positiveInteger(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`haproxy fragment: ${field} ${JSON.stringify(value)} must be a positive whole number of seconds`);
  return value;
}
