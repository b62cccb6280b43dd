/**
 * Which certificates an instance's domains are served with, as the request
 * scripts/lb/openedx-im-certs reads on the load balancer. Pure: names only —
 * keys are made on the load balancer and never leave it.
 *
 * - `shared-wildcard` (the sandbox default): one certificate for the base domain and
 *   `*.<baseDomain>`, named after the base domain, shared by every instance whose
 *   names are one label under it (domains.style: dash). A new sandbox needs no new
 *   certificate: Let's Encrypt's 50 certificates per registered domain per week
 *   are never approached by sandboxes, however many there are.
 * - `instance` (the production default): one certificate for the instance's names in
 *   its zone, plus `*.candidate.<LMS domain>` when candidate names are on (so any
 *   future candidate appserver needs no new certificate).
 * Both are obtained with DNS-01 in the base domain's zone at Gandi, so they exist
 * before any of the names points at the load balancer. External domains (not in the
 * zone) get one more certificate, validated over HTTP-01 once their owner points them
 * here.
 */
import type { InstanceDomain } from "./domains";

export type CertificateMode = "shared-wildcard" | "instance";
export type AcmeChallenge = "dns-01" | "http-01";

export interface CertificateSpec {
  /** The certificate's file name on the load balancer; instances that name the same one share it. */
  name: string;
  /** The names it covers (sorted). */
  names: string[];
  challenge: AcmeChallenge;
  /** DNS-01: the zone whose `_acme-challenge` TXT records prove the names. */
  zone?: string;
}

/** stdin of `openedx-im-certs ensure` (format 1); `release` reads its instanceId. */
export interface CertificateRequest {
  format: 1;
  instanceId: string;
  /** Every domain of the instance: those a certificate covers are redirected to HTTPS. */
  domains: string[];
  certificates: CertificateSpec[];
}

export interface CertificatePlanInput {
  instanceId: string;
  baseDomain: string;
  domains: InstanceDomain[];
  mode: CertificateMode;
  /** Production: `*.candidate.<LMS domain>` for candidate appservers' names (docs/load-balancer.md). */
  candidateWildcard?: boolean;
}

/** The label under which candidate appservers' names live: `<id>.candidate.<LMS domain>`. */
export const CANDIDATE_LABEL = "candidate";

/** Names in the zone that the shared wildcard cannot cover (more than one label under the base domain). */
export function namesOutsideWildcard(domains: InstanceDomain[]): InstanceDomain[] {
  return domains.filter((domain) => domain.recordName !== undefined && domain.recordName !== "@" && domain.recordName.includes("."));
}

export function planCertificates(input: CertificatePlanInput): CertificateRequest {
  const { instanceId, baseDomain, domains, mode } = input;
  const inZone = domains.filter((domain) => domain.recordName !== undefined);
  const external = domains.filter((domain) => domain.recordName === undefined);
  const certificates: CertificateSpec[] = [];

  if (mode === "shared-wildcard") {
    const deep = namesOutsideWildcard(domains);
    if (deep.length > 0)
      throw new Error(
        `tls.certificate: shared-wildcard covers names one label under ${baseDomain}, not ${deep.map((d) => d.fqdn).join(", ")}; ` +
          `set domains.style: dash (studio-<subDomain>.<baseDomain>), or tls.certificate: instance`,
      );
    if (inZone.length > 0)
      certificates.push({ name: `wildcard.${baseDomain}`, names: sorted([baseDomain, `*.${baseDomain}`]), challenge: "dns-01", zone: baseDomain });
  } else if (inZone.length > 0) {
    const lms = inZone.find((domain) => domain.role === "lms");
    const candidates = input.candidateWildcard && lms ? [`*.${CANDIDATE_LABEL}.${lms.fqdn}`] : [];
    certificates.push({
      name: `instance.${instanceId}`,
      names: sorted([...inZone.map((domain) => domain.fqdn), ...candidates]),
      challenge: "dns-01",
      zone: baseDomain,
    });
  }
  if (external.length > 0)
    certificates.push({ name: `external.${instanceId}`, names: sorted(external.map((domain) => domain.fqdn)), challenge: "http-01" });

  return { format: 1, instanceId, domains: sorted(domains.map((domain) => domain.fqdn)), certificates };
}

/** The stdin text: fixed key order, so the same plan gives the same text (no spurious update). */
export function certificateRequestText(request: CertificateRequest): string {
  return JSON.stringify({
    format: request.format,
    instanceId: request.instanceId,
    domains: request.domains,
    certificates: request.certificates.map((cert) => ({
      name: cert.name,
      names: cert.names,
      challenge: cert.challenge,
      ...(cert.zone !== undefined ? { zone: cert.zone } : {}),
    })),
  });
}

export interface HstsSettings {
  maxAge: number;
  includeSubDomains?: boolean;
  preload?: boolean;
}

/**
 * The Strict-Transport-Security header value. Directives are joined by ";" without a space
 * (RFC 6797 allows it), so the HAProxy line needs no quoting and the apply script's
 * whitelist can match it exactly.
 */
export function hstsHeader(hsts: HstsSettings): string {
  if (!Number.isInteger(hsts.maxAge) || hsts.maxAge < 0)
    throw new Error(`tls.hsts.maxAge ${JSON.stringify(hsts.maxAge)} must be a whole number of seconds`);
  return [`max-age=${hsts.maxAge}`, ...(hsts.includeSubDomains ? ["includeSubDomains"] : []), ...(hsts.preload ? ["preload"] : [])].join(";");
}

function sorted(values: string[]): string[] {
  return [...new Set(values)].sort();
}
