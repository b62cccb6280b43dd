/**
 * The instance's DNS records at Gandi LiveDNS: its domains pointing at the load
 * balancer, and one name per appserver VM. Only names inside the base domain's
 * zone are managed; custom external domains are the owner's to point.
 */
import * as gandi from "@pulumiverse/gandi";
import * as pulumi from "@pulumi/pulumi";
import { gandiRecordImportId } from "../config/adopt";
import type { InstanceDomain } from "../config/domains";

/** Where the instance's names point: a host name (CNAME) or addresses (A/AAAA). */
export interface DnsTarget {
  hostname?: string;
  ipv4?: string[];
  ipv6?: string[];
}

export interface DnsRecordSpec {
  /** Resource-name suffix. */
  key: string;
  /** Relative to the zone; `@` for the apex. */
  name: string;
  type: "CNAME" | "A" | "AAAA";
  values: string[];
}

/** A CNAME target is absolute: without the trailing dot Gandi reads it relative to the zone. */
export function absoluteHostname(hostname: string): string {
  return hostname.endsWith(".") ? hostname : `${hostname}.`;
}

/** The label of an appserver VM's name: `vm<index>-<appserver id>`. */
export function vmLabel(appServerId: string, index: number): string {
  if (!/^[a-z0-9]{1,16}$/.test(appServerId)) throw new Error(`appserver id "${appServerId}": must be 1-16 lowercase letters or digits`);
  if (!Number.isInteger(index) || index < 0) throw new Error(`appserver VM index ${index}: must be a whole number from 0`);
  return `vm${index}-${appServerId}`;
}

/** The record name of an appserver VM inside the zone: `vm<index>-<appserver id>.<subdomain>`. */
export function vmRecordName(subDomain: string, appServerId: string, index: number): string {
  return `${vmLabel(appServerId, index)}.${subDomain}`;
}

/**
 * The records for the instance's managed domains. A CNAME when a host name is
 * given (it follows the load balancer if its addresses change), A/AAAA
 * otherwise, and always at the zone apex, where a CNAME is not allowed.
 */
export function domainRecords(domains: InstanceDomain[], target: DnsTarget): DnsRecordSpec[] {
  const ipv4 = target.ipv4 ?? [];
  const ipv6 = target.ipv6 ?? [];
  const records: DnsRecordSpec[] = [];
  const seen = new Set<string>();
  for (const domain of domains) {
    const name = domain.recordName;
    // Two roles may share one custom name; one record serves both.
    if (name === undefined || seen.has(name)) continue;
    seen.add(name);
    const key = name === "@" ? "apex" : name.replace(/\./g, "-");
    if (target.hostname !== undefined && name !== "@") {
      records.push({ key: `${key}-cname`, name, type: "CNAME", values: [absoluteHostname(target.hostname)] });
      continue;
    }
    if (ipv4.length === 0 && ipv6.length === 0)
      throw new Error(
        name === "@"
          ? `DNS for ${domain.fqdn}: a CNAME cannot sit at the zone apex; set openedx-im:loadBalancer.publicIpv4 (and/or publicIpv6)`
          : `DNS for ${domain.fqdn}: set openedx-im:loadBalancer.publicHostname or publicIpv4/publicIpv6`,
      );
    if (ipv4.length > 0) records.push({ key: `${key}-a`, name, type: "A", values: [...ipv4] });
    if (ipv6.length > 0) records.push({ key: `${key}-aaaa`, name, type: "AAAA", values: [...ipv6] });
  }
  return records;
}

export interface DnsArgs {
  /** The zone (the instance's base domain). */
  zone: string;
  /** The instance's subdomain inside the zone; VM names go under it. */
  subDomain: string;
  domains: InstanceDomain[];
  target: DnsTarget;
  ttl: number;
  /** Existing domain records during a migration (config/adopt.ts `adopt.dns`). */
  existingRecords?: "keep" | "import";
  /**
   * What the domain records wait for: the certificate step, so no name points at the
   * load balancer before a certificate covers it. VM records do not wait (they reach the VM).
   */
  domainRecordsDependOn?: pulumi.Resource[];
  /**
   * `*.candidate.<LMS record>`: the entry names of candidate appservers (production), pointing at the
   * load balancer like the domains. Never imported: it is new in a migration too.
   */
  candidateWildcard?: { lmsRecordName: string };
}

/** The wildcard record of candidate entry names, `*.candidate.<LMS record name>` (the zone apex: `*.candidate`). */
export function candidateRecords(lmsRecordName: string, target: DnsTarget): DnsRecordSpec[] {
  const name = lmsRecordName === "@" ? "*.candidate" : `*.candidate.${lmsRecordName}`;
  return domainRecords([{ role: "lms", fqdn: name, recordName: name }], target).map((spec) => ({
    ...spec,
    key: `candidates-${spec.type.toLowerCase()}`,
  }));
}

export class Dns extends pulumi.ComponentResource {
  public readonly records: gandi.livedns.Record[];
  private readonly resourceName: string;
  private readonly args: DnsArgs;

  constructor(name: string, args: DnsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("openedx-im:instance:Dns", name, {}, opts);
    this.resourceName = name;
    this.args = args;
    const specs = args.existingRecords === "keep" ? [] : domainRecords(args.domains, args.target);
    const dependsOn = args.domainRecordsDependOn ?? [];
    this.records = specs.map((spec) =>
      this.record(
        `${name}-${spec.key}`,
        { name: spec.name, type: spec.type, values: spec.values },
        args.existingRecords === "import"
          ? // Taken over as they are: an import whose inputs differ from the record fails.
            { parent: this, dependsOn, import: gandiRecordImportId(args.zone, spec.name, spec.type), ignoreChanges: ["values", "ttl"] }
          : { parent: this, dependsOn },
      ),
    );
    if (args.candidateWildcard)
      for (const spec of candidateRecords(args.candidateWildcard.lmsRecordName, args.target))
        this.records.push(this.record(`${name}-${spec.key}`, { name: spec.name, type: spec.type, values: spec.values }, { parent: this, dependsOn }));
    this.registerOutputs({ records: this.records.map((record) => record.href) });
  }

  /**
   * The `vm<index>-<appserver id>.<subdomain>` record of one appserver VM (A for
   * an IPv4 address, AAAA for IPv6). The appserver calls this per VM; pass it as
   * `parent` so the record goes with the VM.
   */
  vmRecord(appServerId: string, index: number, address: pulumi.Input<string>, opts?: pulumi.ResourceOptions): gandi.livedns.Record {
    const type = pulumi.output(address).apply((value) => (value.includes(":") ? "AAAA" : "A"));
    return this.record(
      `${this.resourceName}-${vmLabel(appServerId, index)}`,
      { name: vmRecordName(this.args.subDomain, appServerId, index), type, values: [address] },
      { parent: this, ...opts },
    );
  }

  private record(
    resourceName: string,
    record: { name: string; type: pulumi.Input<string>; values: pulumi.Input<string>[] },
    opts: pulumi.CustomResourceOptions,
  ): gandi.livedns.Record {
    return new gandi.livedns.Record(
      resourceName,
      { zone: this.args.zone, name: record.name, type: record.type, values: record.values, ttl: this.args.ttl },
      // zone/name/type replace the record, and Gandi refuses a second record set of one name and type (409).
      { deleteBeforeReplace: true, ...opts },
    );
  }
}
