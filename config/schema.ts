import { z } from "zod";
import { adoptSchema } from "./adopt";
import { STAGES } from "./matrix/types";

/**
 * The stack configuration, as zod schemas. One object per stack under
 * `openedx-im:instance`, plus fleet-level keys under the same namespace. Every
 * object is strict: an unknown key is an error, so a typo never passes silently.
 * Messages say what is allowed, because they are all a user sees.
 */

export const RESERVED_SUBDOMAIN_PREFIXES = ["studio", "preview", "discovery", "ecommerce", "app"] as const;

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const dnsLabelRule = "lowercase letters, digits and hyphens, 1-63 characters, no leading or trailing hyphen";

function dnsNameProblems(value: string): string[] {
  if (value.length > 253) return ["is longer than 253 characters"];
  return value
    .split(".")
    .filter((label) => !DNS_LABEL.test(label))
    .map((label) => `label "${label}" is not a DNS label (${dnsLabelRule})`);
}

const DNS_NAME_PATTERN = "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$";

const dnsName = z
  .string()
  .superRefine((value, ctx) => {
    for (const message of dnsNameProblems(value)) ctx.addIssue({ code: "custom", message });
  })
  .meta({ pattern: DNS_NAME_PATTERN, description: "a DNS name in lowercase" });

/** A subdomain of the base domain: DNS labels, none starting with a name the instance's own domains use. */
export const subDomainSchema = z.string().superRefine((value, ctx) => {
  for (const message of dnsNameProblems(value)) ctx.addIssue({ code: "custom", message });
  const first = value.split(".")[0];
  const reserved = RESERVED_SUBDOMAIN_PREFIXES.find((prefix) => first.startsWith(prefix));
  if (reserved)
    ctx.addIssue({
      code: "custom",
      message: `must not start with "${reserved}" (reserved for the instance's own domains: ${RESERVED_SUBDOMAIN_PREFIXES.join(", ")})`,
    });
}).meta({
  pattern: `^(?!(${RESERVED_SUBDOMAIN_PREFIXES.join("|")}))${DNS_NAME_PATTERN.slice(1)}`,
  description: "DNS labels under baseDomain, not starting with a reserved prefix",
});

/**
 * A ref git accepts and no shell would read as syntax: branch names, tags, SHAs.
 * No leading + (git fetch reads it as a refspec's force flag and fetches what follows).
 */
const GIT_REF = /^(?![-+])(?!.*\.\.)(?!.*\/\/)(?!.*@\{)[A-Za-z0-9._\/+-]{1,255}(?<!\.lock)(?<![./])$/;
export const gitRefSchema = z
  .string()
  .regex(GIT_REF, "must be a git branch, tag or commit SHA (letters, digits, . _ / + -; no '..', no leading '-' or '+')");

export const gitRepositorySchema = z
  .string()
  .regex(
    /^(https:\/\/[A-Za-z0-9.-]+(:[0-9]+)?\/[A-Za-z0-9._\/-]+|git@[A-Za-z0-9.-]+:[A-Za-z0-9._\/-]+)$/,
    "must be an https:// or git@host: repository URL",
  );

const ansibleVariableName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an Ansible variable name (letters, digits, underscores)");

export const extraSettingsSchema = z.record(ansibleVariableName, z.unknown());

const djangoSettingName = z.string().regex(/^[A-Z][A-Z0-9_]*$/, "must be a Django setting name (upper case letters, digits, underscores)");

/** Django settings of a Tutor-built appserver's LMS and Studio, merged into Tutor's (mappings key by key). */
export const djangoSettingsSchema = z.strictObject({
  lms: z.record(djangoSettingName, z.unknown()).optional(),
  cms: z.record(djangoSettingName, z.unknown()).optional(),
});

const releaseName = z.string().regex(/^[a-z][a-z0-9.-]*$/, "must be a release name such as redwood");
const stageSchema = z.enum(STAGES, { error: `must be one of ${STAGES.join(", ")}` });

const releaseChoiceShape = {
  /** Resolved through the version matrix. Give deployment and stage together, or release alone. */
  deployment: z.string().min(1).optional(),
  stage: stageSchema.optional(),
  release: releaseName.optional(),
};

const edxPlatformSchema = z.strictObject({
  repository: gitRepositorySchema.optional(),
  ref: gitRefSchema.optional(),
});

const configurationRepoSchema = z.strictObject({
  repository: gitRepositorySchema.optional(),
  ref: gitRefSchema.optional(),
  playbook: z
    .string()
    .regex(/^[A-Za-z0-9_.\/-]+\.ya?ml$/, "must be a playbook path inside the configuration repository, e.g. openedx_native.yml")
    .refine((p) => !p.split("/").includes(".."), "must stay inside the configuration repository (no ..)")
    .optional(),
});

const openstackName = z.string().regex(/^[A-Za-z0-9._:-]{1,255}$/, "must be an OpenStack name (letters, digits, . _ : -)");

const appServerBuildShape = {
  ...releaseChoiceShape,
  edxPlatform: edxPlatformSchema.optional(),
  configuration: configurationRepoSchema.optional(),
  /** Ansible variables (releases up to Redwood) or Tutor config keys (Sumac on), highest precedence. */
  extraSettings: extraSettingsSchema.optional(),
  /** Tutor releases: Django settings for the LMS and Studio (Ansible releases use EDXAPP_LMS_ENV_EXTRA / EDXAPP_CMS_ENV_EXTRA). */
  djangoSettings: djangoSettingsSchema.optional(),
  flavor: openstackName.optional(),
  image: openstackName.optional(),
  /** VMs per generation behind the load balancer. */
  appServerCount: z.int().min(1).max(10).optional(),
};

export const appServerIdSchema = z
  .string()
  .regex(/^[a-z0-9]{1,16}$/, "must be 1-16 lowercase letters or digits (it becomes part of the VM's name)");

/** A production appserver: an id and the settings it was built from, frozen with it. */
export const appServerEntrySchema = z.strictObject({ id: appServerIdSchema, ...appServerBuildShape });

const cidr = z
  .string()
  .regex(
    /^(([0-9]{1,3}\.){3}[0-9]{1,3}\/[0-9]{1,2}|[0-9A-Fa-f:]+\/[0-9]{1,3})$/,
    "must be a CIDR range such as 203.0.113.0/24 or 2001:db8::/32",
  );

export const securityRuleSchema = z.strictObject({
  direction: z.enum(["ingress", "egress"]).default("ingress"),
  protocol: z.enum(["tcp", "udp", "icmp"]),
  portRangeMin: z.int().min(1).max(65535).optional(),
  portRangeMax: z.int().min(1).max(65535).optional(),
  remoteIpPrefix: cidr,
  description: z.string().max(255).optional(),
});

const domainPrefix = z.string().regex(DNS_LABEL, `must be one DNS label (${dnsLabelRule})`);

export const domainsSchema = z.strictObject({
  /** `subdomain`: studio.<lms domain>; `dash`: studio-<subDomain>.<baseDomain>. */
  style: z.enum(["subdomain", "dash"]).optional(),
  studioPrefix: domainPrefix.optional(),
  previewPrefix: domainPrefix.optional(),
  mfePrefix: domainPrefix.optional(),
  ecommercePrefix: domainPrefix.optional(),
  discoveryPrefix: domainPrefix.optional(),
  /** Custom external domains that replace the derived ones; their DNS is not managed here. */
  external: z
    .strictObject({
      lms: dnsName.optional(),
      studio: dnsName.optional(),
      preview: dnsName.optional(),
      mfe: dnsName.optional(),
      ecommerce: dnsName.optional(),
      discovery: dnsName.optional(),
    })
    .optional(),
});

/** HTTPS at the load balancer (docs/load-balancer.md, "TLS"). */
export const tlsSchema = z
  .strictObject({
    /**
     * `shared-wildcard` (sandbox default): the base domain's wildcard certificate, shared by every
     * instance whose names are one label under it (domains.style: dash). `instance` (production default):
     * a certificate of the instance's own.
     */
    certificate: z.enum(["shared-wildcard", "instance"], { error: "must be shared-wildcard or instance" }).optional(),
    /** Strict-Transport-Security on the instance's HTTPS answers; off unless set. */
    hsts: z
      .strictObject({
        maxAge: z.int().min(0).max(63072000, "must be at most 63072000 (two years)"),
        includeSubDomains: z.boolean().optional(),
        preload: z.boolean().optional(),
      })
      .refine((hsts) => !hsts.preload || (hsts.includeSubDomains === true && hsts.maxAge >= 31536000), {
        message: "preload needs includeSubDomains: true and maxAge of at least 31536000 (the browsers' preload list rules)",
      })
      .optional(),
  });

export const servicesSchema = z.strictObject({
  xqueue: z.boolean().optional(),
  notes: z.boolean().optional(),
  ecommerce: z.boolean().optional(),
  discovery: z.boolean().optional(),
});

export const instanceSchema = z.strictObject({
  /** Human-readable name; shown in VM metadata and outputs. */
  name: z.string().min(1).max(255),
  subDomain: subDomainSchema,
  baseDomain: dnsName,
  lifecycle: z.enum(["sandbox", "production"], { error: "must be sandbox or production" }),
  ...appServerBuildShape,
  databases: z.enum(["ephemeral", "persistent"], { error: "must be ephemeral or persistent" }).optional(),
  /** Production only: the appservers, each with the settings it was built from. */
  appServers: z.array(appServerEntrySchema).optional(),
  /** Production only: the id of the appserver that takes traffic; unset = the preliminary page. */
  activeAppServer: appServerIdSchema.optional(),
  dnsTtl: z.int().min(300, "must be at least 300 (Gandi's minimum)").max(2592000).optional(),
  domains: domainsSchema.optional(),
  tls: tlsSchema.optional(),
  services: servicesSchema.optional(),
  securityGroup: z
    .strictObject({
      sshSources: z.array(cidr).optional(),
      extraRules: z.array(securityRuleSchema).optional(),
      /** Pre-existing groups, by name, added to every appserver. */
      extraGroups: z.array(openstackName).optional(),
    })
    .optional(),
  /** Production data is retained and protected by default; set both false to really delete. */
  data: z.strictObject({ retainOnDelete: z.boolean().optional(), protect: z.boolean().optional() }).optional(),
  /**
   * Pins the MySQL server (a name from openedx-im:mysqlServers). Without it the
   * server is chosen by rendezvous hashing of the instance id; pin it for an
   * instance whose data already lives on a server, or before adding servers.
   */
  mysqlServer: z.string().min(1).optional(),
  /** Existing databases, users and vhost this instance takes over or uses (docs/migration.md). */
  adopt: adoptSchema.optional(),
  /**
   * A generated sandbox's variables from its pull request's Settings block: above
   * extraSettings, and never trusted (they reach Ansible as data it does not template).
   * Only with `source`; the generator writes it, people do not.
   */
  pullRequestSettings: extraSettingsSchema.optional(),
  /** Where a generated sandbox came from. */
  source: z
    .strictObject({
      pullRequest: z.int().min(1),
      repository: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, "must be owner/repo"),
      author: z.string().min(1).max(100).optional(),
    })
    .optional(),
});

export type InstanceConfig = z.infer<typeof instanceSchema>;
export type AppServerEntry = z.infer<typeof appServerEntrySchema>;

const hostName = z.union([dnsName, z.ipv4(), z.ipv6()]);

export const openstackSchema = z.strictObject({
  region: z.string().min(1).optional(),
  /** The network appservers attach to, by name. */
  network: openstackName,
  /** The public half of the SSH key the provisioning run uses; the private half never enters config. */
  sshPublicKey: z.string().regex(/^(ssh-(rsa|ed25519)|ecdsa-sha2-nistp256) [A-Za-z0-9+\/=]+( .*)?$/, "must be an OpenSSH public key"),
  defaultImage: openstackName,
  /** The image of Tutor-built appservers that set none: Tutor needs Ubuntu 22.04 or later (Python 3.9+, Docker Compose v2). */
  tutorImage: openstackName.optional(),
  flavors: z.strictObject({ sandbox: openstackName.optional(), production: openstackName.optional() }).optional(),
});

export const loadBalancerSchema = z.strictObject({
  /** Where the fragment is applied over SSH. */
  sshHost: hostName,
  sshPort: z.int().min(1).max(65535).optional(),
  sshUser: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, "must be a Unix user name"),
  /** What the instance's DNS names point at: a host name (CNAME) or addresses (A/AAAA). */
  publicHostname: dnsName.optional(),
  publicIpv4: z.array(z.ipv4()).optional(),
  publicIpv6: z.array(z.ipv6()).optional(),
  /** The backend, defined in the load balancer's main configuration, that serves the preliminary page. */
  preliminaryBackend: z.string().regex(/^[A-Za-z0-9_.:-]+$/).optional(),
});

export const mysqlServerSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9-]{1,32}$/, "must be 1-32 lowercase letters, digits or hyphens"),
    host: hostName,
    port: z.int().min(1).max(65535).optional(),
    username: z.string().min(1).max(32),
    /**
     * TLS on the admin connection (the MySQL provider and the grant audit): true = encrypted and the
     * server's certificate checked; "skip-verify" = encrypted, certificate not checked; false/unset = plain.
     */
    tls: z.union([z.boolean(), z.literal("skip-verify")], { error: 'must be true, false or "skip-verify"' }).optional(),
    /** A PEM file (path relative to the project) of the CA that signed the server's certificate; needs tls: true. */
    ca: z
      .string()
      .regex(/^[A-Za-z0-9_.\/-]+\.(pem|crt)$/, "must be the path of a PEM file (.pem or .crt) relative to the project, e.g. certs/mysql-ca.pem")
      .refine((p) => !p.split("/").includes(".."), "must stay inside the project (no ..)")
      .optional(),
  })
  .superRefine((server, ctx) => {
    if (server.ca !== undefined && server.tls !== true)
      ctx.addIssue({ code: "custom", path: ["ca"], message: "checks the server's certificate, which needs tls: true (set it, or remove ca)" });
  });

export const mongodbSchema = z.strictObject({
  /** The MongoDB Atlas project and the cluster the instance's users are scoped to. */
  projectId: z.string().regex(/^[0-9a-f]{24}$/, "must be an Atlas project id (24 hex characters)"),
  clusterName: z.string().min(1),
  /** Host list and replica set as the appservers connect to them. */
  hosts: z.array(z.string().min(1)).min(1),
  replicaSet: z.string().min(1).optional(),
});

export const rabbitmqSchema = z.strictObject({
  /** The management API, e.g. https://rabbitmq.example.com:15672. */
  managementUrl: z.url({ protocol: /^https?$/, error: "must be the management API URL (http(s)://host:15672)" }),
  host: hostName,
  port: z.int().min(1).max(65535).optional(),
  useTls: z.boolean().optional(),
});

/** Credentials, one secret object (`pulumi config set --secret --path 'openedx-im:credentials.<key>'`). */
export const credentialsSchema = z.strictObject({
  mysql: z.record(z.string(), z.string().min(1)).optional(),
  rabbitmqPassword: z.string().min(1).optional(),
  rabbitmqUsername: z.string().min(1).optional(),
  loadBalancerSshKey: z.string().min(1).optional(),
  provisioningSshKey: z.string().min(1).optional(),
  /** Passwords of adopted users, which keep them: keys `mysql.<role>`, `mongodb`, `rabbitmq.<role>`. */
  adoptedPasswords: z.record(z.string(), z.string().min(1)).optional(),
});

export const fleetSchemas = {
  openstack: openstackSchema,
  loadBalancer: loadBalancerSchema,
  mysqlServers: z.array(mysqlServerSchema),
  mongodb: mongodbSchema,
  rabbitmq: rabbitmqSchema,
  /** Subdomains no instance may take (e.g. www, mail, the load balancer's own name). */
  subdomainBlacklist: z.array(z.string()),
  credentials: credentialsSchema,
} as const;

export type FleetKey = keyof typeof fleetSchemas;
export type OpenstackConfig = z.infer<typeof openstackSchema>;
export type LoadBalancerConfig = z.infer<typeof loadBalancerSchema>;
export type MysqlServerConfig = z.infer<typeof mysqlServerSchema>;
export type MongodbConfig = z.infer<typeof mongodbSchema>;
export type RabbitmqConfig = z.infer<typeof rabbitmqSchema>;
export type Credentials = z.infer<typeof credentialsSchema>;
