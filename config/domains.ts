/**
 * The instance's domain names, derived from its subdomain, base domain and the
 * domain options. Pure: used by DNS, the load-balancer fragment, the Ansible
 * variables and the stack outputs alike, so they can never disagree.
 */

export type DomainRole = "lms" | "studio" | "preview" | "mfe" | "ecommerce" | "discovery";

export interface DomainOptions {
  style?: "subdomain" | "dash";
  studioPrefix?: string;
  previewPrefix?: string;
  mfePrefix?: string;
  ecommercePrefix?: string;
  discoveryPrefix?: string;
  external?: Partial<Record<DomainRole, string>>;
}

export interface InstanceDomain {
  role: DomainRole;
  /** The fully qualified name. */
  fqdn: string;
  /** Set when the name lies under the base domain: the record name relative to the zone, which we manage. */
  recordName?: string;
}

const DEFAULT_PREFIXES: Record<Exclude<DomainRole, "lms">, string> = {
  studio: "studio",
  preview: "preview",
  mfe: "apps",
  ecommerce: "ecommerce",
  discovery: "discovery",
};

export function deriveDomains(args: {
  subDomain: string;
  baseDomain: string;
  options?: DomainOptions;
  enabled: { ecommerce: boolean; discovery: boolean };
}): InstanceDomain[] {
  const { subDomain, baseDomain, options = {} } = args;
  const style = options.style ?? "subdomain";
  const prefixOf: Record<Exclude<DomainRole, "lms">, string> = {
    studio: options.studioPrefix ?? DEFAULT_PREFIXES.studio,
    preview: options.previewPrefix ?? DEFAULT_PREFIXES.preview,
    mfe: options.mfePrefix ?? DEFAULT_PREFIXES.mfe,
    ecommerce: options.ecommercePrefix ?? DEFAULT_PREFIXES.ecommerce,
    discovery: options.discoveryPrefix ?? DEFAULT_PREFIXES.discovery,
  };
  const roles: DomainRole[] = ["lms", "studio", "preview", "mfe"];
  if (args.enabled.ecommerce) roles.push("ecommerce");
  if (args.enabled.discovery) roles.push("discovery");

  const roleOf = new Map<string, DomainRole>();
  return roles.map((role) => {
    const external = options.external?.[role];
    const relative =
      role === "lms" ? subDomain : style === "dash" ? `${prefixOf[role]}-${subDomain}` : `${prefixOf[role]}.${subDomain}`;
    const fqdn = external ?? `${relative}.${baseDomain}`;
    if (external === undefined) checkDerivedName(role, fqdn);
    // The appserver's web server tells LMS, Studio and the rest apart by host name alone.
    const taken = roleOf.get(fqdn);
    if (taken !== undefined)
      throw new Error(`domains: ${role} and ${taken} would both be ${fqdn}; give ${role} its own name (domains.external.${role} or its prefix)`);
    roleOf.set(fqdn, role);
    const recordName = relativeTo(fqdn, baseDomain);
    return { role, fqdn, ...(recordName !== undefined ? { recordName } : {}) };
  });
}

/** A prefix plus the subdomain in one label (dash style) can outgrow DNS's limits although each part is valid. */
function checkDerivedName(role: DomainRole, fqdn: string): void {
  const fix = role === "lms" ? "a shorter subDomain" : `a shorter subDomain or domains.${role}Prefix, or domains.style: subdomain`;
  const long = fqdn.split(".").find((label) => label.length > 63);
  if (long !== undefined) throw new Error(`domains: the ${role} name's label "${long}" is longer than 63 characters; choose ${fix}`);
  if (fqdn.length > 253) throw new Error(`domains: the ${role} name ${fqdn} is longer than 253 characters; choose ${fix}`);
}

/** The record name of `fqdn` inside the zone `zone`, `@` for the apex, or undefined outside it. */
export function relativeTo(fqdn: string, zone: string): string | undefined {
  if (fqdn === zone) return "@";
  return fqdn.endsWith(`.${zone}`) ? fqdn.slice(0, -(zone.length + 1)) : undefined;
}

/**
 * The MFEs read the LMS's session and JWT cookies, which the LMS sets for its own
 * name and the names under it (EDXAPP_SESSION_COOKIE_DOMAIN = .<lms>). An LMS on an
 * external name outside the base domain, with the MFE name still derived under the
 * base domain, shares no such parent: sign-in on the MFEs would loop. Returns the
 * problem (starting "domains.", like deriveDomains' errors) with the fix, or undefined.
 */
export function cookieSharingProblem(domains: InstanceDomain[], baseDomain: string, options: DomainOptions = {}): string | undefined {
  const lms = domains.find((d) => d.role === "lms")?.fqdn;
  const mfe = domains.find((d) => d.role === "mfe")?.fqdn;
  if (lms === undefined || mfe === undefined || options.external?.lms === undefined) return undefined;
  if (relativeTo(lms, baseDomain) !== undefined || options.external.mfe !== undefined) return undefined;
  if (mfe.endsWith(`.${lms}`)) return undefined;
  const prefix = options.mfePrefix ?? DEFAULT_PREFIXES.mfe;
  return (
    `domains.external.lms: the LMS (${lms}) is outside baseDomain ${baseDomain}, where the MFEs are (${mfe}): ` +
    `they cannot share the LMS's session cookie, so sign-in on the MFEs fails; set domains.external.mfe to a name under ` +
    `${lms} (e.g. ${prefix}.${lms}) and point its DNS at the load balancer, or put the LMS under ${baseDomain}`
  );
}
