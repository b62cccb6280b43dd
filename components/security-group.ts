/**
 * The OpenStack security group an instance's appservers share. The group and
 * each rule are separate resources, so changing one rule replaces only that
 * rule, never the group (which every VM references by name).
 */
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";

export type Ethertype = "IPv4" | "IPv6";

export interface SecurityRuleSpec {
  /** Stable resource-name suffix derived from the rule's content. */
  key: string;
  direction: "ingress" | "egress";
  ethertype: Ethertype;
  /** Undefined: every protocol. */
  protocol?: "tcp" | "udp" | "icmp" | "ipv6-icmp";
  portRangeMin?: number;
  portRangeMax?: number;
  remoteIpPrefix: string;
  description: string;
}

/** A rule as the stack configuration gives it (`securityGroup.extraRules[]`). */
export interface ExtraRule {
  direction: "ingress" | "egress";
  protocol: "tcp" | "udp" | "icmp";
  portRangeMin?: number;
  portRangeMax?: number;
  remoteIpPrefix: string;
  description?: string;
}

const ANYWHERE: Record<Ethertype, string> = { IPv4: "0.0.0.0/0", IPv6: "::/0" };

export function ethertypeOf(cidr: string): Ethertype {
  return cidr.includes(":") ? "IPv6" : "IPv4";
}

/**
 * Every rule of the group: SSH from `sshSources`, HTTP and HTTPS from anywhere,
 * ICMP (v4 and v6), all egress (v4 and v6; the group is created with
 * `deleteDefaultRules`, so Neutron's own egress rules are not there to collide
 * with), then the extra rules. Identical rules appear once.
 */
export function securityGroupRules(args: { sshSources: string[]; extraRules: ExtraRule[] }): SecurityRuleSpec[] {
  const rules: Omit<SecurityRuleSpec, "key">[] = [];
  for (const source of args.sshSources)
    rules.push({ direction: "ingress", ethertype: ethertypeOf(source), protocol: "tcp", portRangeMin: 22, portRangeMax: 22, remoteIpPrefix: source, description: "SSH" });
  for (const [port, what] of [[80, "HTTP"], [443, "HTTPS"]] as const)
    for (const ethertype of ["IPv4", "IPv6"] as const)
      rules.push({ direction: "ingress", ethertype, protocol: "tcp", portRangeMin: port, portRangeMax: port, remoteIpPrefix: ANYWHERE[ethertype], description: what });
  rules.push({ direction: "ingress", ethertype: "IPv4", protocol: "icmp", remoteIpPrefix: ANYWHERE.IPv4, description: "ICMP" });
  rules.push({ direction: "ingress", ethertype: "IPv6", protocol: "ipv6-icmp", remoteIpPrefix: ANYWHERE.IPv6, description: "ICMPv6" });
  for (const ethertype of ["IPv4", "IPv6"] as const)
    rules.push({ direction: "egress", ethertype, remoteIpPrefix: ANYWHERE[ethertype], description: "all outgoing traffic" });

  args.extraRules.forEach((rule, index) => {
    const at = `openedx-im:instance.securityGroup.extraRules[${index}]`;
    const ethertype = ethertypeOf(rule.remoteIpPrefix);
    const min = rule.portRangeMin;
    const max = rule.portRangeMax ?? rule.portRangeMin;
    if (rule.protocol !== "icmp" && min === undefined && rule.portRangeMax !== undefined)
      throw new Error(`${at}.portRangeMin: required when portRangeMax is set`);
    if (min !== undefined && max !== undefined && max < min)
      throw new Error(`${at}.portRangeMax: ${max} is below portRangeMin ${min}; give the range low to high`);
    rules.push({
      direction: rule.direction,
      ethertype,
      // Neutron names ICMP for IPv6 "ipv6-icmp"; "icmp" would be rewritten and then diff on every run.
      protocol: rule.protocol === "icmp" && ethertype === "IPv6" ? "ipv6-icmp" : rule.protocol,
      ...(min !== undefined ? { portRangeMin: min } : {}),
      ...(max !== undefined ? { portRangeMax: max } : {}),
      remoteIpPrefix: rule.remoteIpPrefix,
      description: rule.description ?? "extra rule from the stack configuration",
    });
  });

  const byKey = new Map<string, SecurityRuleSpec>();
  for (const rule of rules) {
    const key = ruleKey(rule);
    if (!byKey.has(key)) byKey.set(key, { key, ...rule });
  }
  return [...byKey.values()];
}

/** Names a rule by what it allows, so the same rule keeps its resource across runs. */
function ruleKey(rule: Omit<SecurityRuleSpec, "key">): string {
  const ports = rule.portRangeMin === undefined ? "" : rule.portRangeMin === rule.portRangeMax ? `${rule.portRangeMin}` : `${rule.portRangeMin}-${rule.portRangeMax ?? ""}`;
  // Resource names end up in URNs, where "::" is a separator; IPv6 prefixes are full of it.
  const prefix = rule.remoteIpPrefix.replace(/:/g, "x").replace(/[./]/g, "-");
  return [rule.direction, rule.ethertype === "IPv6" ? "v6" : "v4", rule.protocol ?? "any", ports, prefix].filter((part) => part !== "").join("-");
}

export interface SecurityGroupArgs {
  /** The group's name; unique in the OpenStack project (see names.ts securityGroupName). */
  groupName: string;
  description: string;
  rules: SecurityRuleSpec[];
  region?: string;
}

export class SecurityGroup extends pulumi.ComponentResource {
  public readonly group: openstack.networking.SecGroup;
  public readonly groupName: pulumi.Output<string>;
  public readonly rules: openstack.networking.SecGroupRule[];

  constructor(name: string, args: SecurityGroupArgs, opts?: pulumi.ComponentResourceOptions) {
    super("openedx-im:instance:SecurityGroup", name, {}, opts);
    const region = args.region !== undefined ? { region: args.region } : {};

    this.group = new openstack.networking.SecGroup(
      `${name}-group`,
      { name: args.groupName, description: args.description, deleteDefaultRules: true, ...region },
      { parent: this },
    );
    this.groupName = this.group.name;

    this.rules = args.rules.map(
      (rule) =>
        new openstack.networking.SecGroupRule(
          `${name}-${rule.key}`,
          {
            securityGroupId: this.group.id,
            direction: rule.direction,
            ethertype: rule.ethertype,
            ...(rule.protocol !== undefined ? { protocol: rule.protocol } : {}),
            ...(rule.portRangeMin !== undefined ? { portRangeMin: rule.portRangeMin } : {}),
            ...(rule.portRangeMax !== undefined ? { portRangeMax: rule.portRangeMax } : {}),
            remoteIpPrefix: rule.remoteIpPrefix,
            description: rule.description,
            ...region,
          },
          // A replaced rule is identical to its successor; Neutron refuses the duplicate (409) unless the old one goes first.
          { parent: this, deleteBeforeReplace: true },
        ),
    );

    this.registerOutputs({ groupName: this.groupName });
  }
}
