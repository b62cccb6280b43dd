/**
 * OpenEdxInstance: everything of an instance that outlives any one appserver —
 * security group, DNS, MySQL databases and users, the MongoDB user, the
 * RabbitMQ vhost and the generated secrets — and how an appserver connects to
 * them (`connections`, provisioner-neutral: each provisioner maps them onto its
 * own settings).
 *
 * Archive semantics: with `instance.data` retainOnDelete/protect (the
 * production default), the data resources (databases, users, grants, the Mongo
 * user, the vhost) stay behind on `pulumi destroy` and refuse deletion;
 * everything else goes.
 *
 * Adoption (`instance.adopt`, config/adopt.ts): existing databases, users and
 * the vhost are imported or referenced under their own names, and adopted
 * users keep their passwords, read from `credentials.adoptedPasswords`.
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfigProblems } from "../config/problems";
import { planAdoption } from "../config/adopt";
import type { Credentials, MongodbConfig, RabbitmqConfig } from "../config/schema";
import type { StackConfig } from "../config/stack-config";
import { Dns, type DnsTarget } from "./dns";
import { deriveDomains, type DomainRole, type InstanceDomain } from "../config/domains";
import { MongoUsers } from "./mongodb";
import { MYSQL_DEFAULT_PORT, type DataRetention, MysqlDatabases } from "./mysql";
import {
  MYSQL_DATABASE_KEYS,
  MYSQL_ROLES,
  type MysqlRole,
  RABBIT_ROLES,
  type RabbitRole,
  type ServiceFlags,
  chooseMysqlServer,
  instanceNameBase,
  mongoDatabaseNames,
  mongoUserName,
  mysqlDatabaseName,
  mysqlRoles,
  mysqlUserName,
  securityGroupName,
} from "../config/names";
import { RabbitVhost } from "./rabbitmq";
import { Secrets, secretKeyNames } from "./secrets";
import { SecurityGroup, securityGroupRules } from "./security-group";
import type { BrokerConnection, InstanceConnections, MongoConnection, MysqlConnection } from "./connections";

export interface OpenEdxInstanceArgs {
  /** The Pulumi stack name; every derived name comes from it (config/names.ts). */
  instanceId: string;
  config: StackConfig;
  /** `openedx-im:credentials` (secret). Absent: providers read their environment variables. */
  credentials?: pulumi.Output<Credentials>;
  /** What the instance's domain records wait for (the certificate step): no name points at the load balancer before. */
  dnsDependsOn?: pulumi.Resource[];
  /** A `*.candidate.<LMS>` record for candidate appservers' entry names (production). */
  candidateRecord?: boolean;
  /**
   * Whether an appserver needs the RabbitMQ vhost (Ansible-built ones run Celery on
   * it; Tutor-built ones use Redis on the VM). Default true. Without it, an instance
   * gets no vhost and no broker users.
   */
  brokerNeeded?: boolean;
}

/** The instance's domain names (LMS, Studio, ...) from its settings: the one derivation DNS, certificates and HAProxy share. */
export function instanceDomains(settings: StackConfig["instance"]): InstanceDomain[] {
  return deriveDomains({
    subDomain: settings.subDomain,
    baseDomain: settings.baseDomain,
    options: settings.domains,
    enabled: { ecommerce: settings.services.ecommerce, discovery: settings.services.discovery },
  });
}



const MONGO_DEFAULT_PORT = 27017;
const LOCALHOST = "localhost";
/**
 * Local users the configuration playbooks create on the VM's own MySQL when
 * databases are ephemeral. On shared servers the users are exactly those of
 * names.ts / mysql-grants.ts (the list the grant audit checks against).
 */
const EPHEMERAL_ONLY_MYSQL_USERS = ["admin"] as const;

export class OpenEdxInstance extends pulumi.ComponentResource {
  public readonly instanceId: string;
  public readonly domains: InstanceDomain[];
  public readonly securityGroup: SecurityGroup;
  public readonly securityGroupName: pulumi.Output<string>;
  public readonly dns: Dns;
  public readonly secrets: Secrets;
  public readonly mysql?: MysqlDatabases;
  public readonly mongodb?: MongoUsers;
  public readonly rabbitmq?: RabbitVhost;
  /** How appservers reach the instance's services, provisioner-neutral (users resolve only once their grants exist). */
  public readonly connections: InstanceConnections;
  /** The services the instance runs. */
  public readonly services: ServiceFlags;
  /** Resources an appserver's provisioning must wait for (users, grants, broker permissions). */
  public readonly dependencies: pulumi.Resource[];
  /** Stack outputs: URLs, names, the database server; never a password. */
  public readonly outputs: Record<string, pulumi.Input<unknown>>;

  constructor(name: string, args: OpenEdxInstanceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("openedx-im:instance:OpenEdxInstance", name, {}, opts);
    const { instanceId, config } = args;
    const settings = config.instance;
    const services: ServiceFlags = settings.services;
    const persistent = settings.databases === "persistent";
    const retention: DataRetention = { retainOnDelete: settings.data.retainOnDelete, protect: settings.data.protect };
    this.instanceId = instanceId;
    this.services = services;

    // Adopted names and actions (without `adopt`, everything is created under the derived names), and the
    // adopted users' passwords: checked before any resource is declared.
    const adoption = planAdoption(instanceId, services, settings.adopt, {
      ...(config.mongodb ? { mongodbProjectId: config.mongodb.projectId } : {}),
      databases: settings.databases,
    });
    // No vhost, no broker users and no broker passwords when no appserver needs one.
    const rabbitConfig = args.brokerNeeded === false ? undefined : config.rabbitmq;
    // Ephemeral databases get the same user names on the VM's own servers, plus the local admin user.
    const mysqlUserRoles: string[] = [...mysqlRoles(services), ...(persistent ? [] : EPHEMERAL_ONLY_MYSQL_USERS)];
    // Adopted users keep the passwords the old site still uses: they come from credentials, none is generated.
    const mysqlExisting = (role: string) => (persistent ? adoption.mysql.users[role as MysqlRole]?.existingPasswordKey : undefined);
    const mongoExisting = persistent ? adoption.mongodb.user.existingPasswordKey : undefined;
    const rabbitExisting = (role: RabbitRole) => (rabbitConfig ? adoption.rabbitmq.users[role].existingPasswordKey : undefined);
    const existingPasswords = adoptedPasswords(
      [...mysqlUserRoles.map(mysqlExisting), mongoExisting, ...RABBIT_ROLES.map(rabbitExisting)].filter((key): key is string => key !== undefined),
      config.credentialKeys,
      args.credentials,
      config.credentialPaths,
    );

    this.domains = instanceDomains(settings);

    this.securityGroup = new SecurityGroup(
      `${name}-security-group`,
      {
        groupName: securityGroupName(instanceId),
        description: `openedx-im: appservers of ${settings.name} (${instanceId})`,
        rules: securityGroupRules(settings.securityGroup),
        ...(config.openstack?.region !== undefined ? { region: config.openstack.region } : {}),
      },
      { parent: this },
    );
    this.securityGroupName = this.securityGroup.groupName;

    this.dns = new Dns(
      `${name}-dns`,
      {
        zone: settings.baseDomain,
        subDomain: settings.subDomain,
        // Without a load balancer there is nothing for the names to point at; VM names still work.
        domains: config.loadBalancer ? this.domains : [],
        target: dnsTarget(config.loadBalancer),
        ttl: settings.dnsTtl,
        ...(settings.adopt?.dns ? { existingRecords: settings.adopt.dns } : {}),
        ...(args.dnsDependsOn ? { domainRecordsDependOn: args.dnsDependsOn } : {}),
        ...(args.candidateRecord && config.loadBalancer && lmsRecordName(this.domains) !== undefined
          ? { candidateWildcard: { lmsRecordName: lmsRecordName(this.domains)! } }
          : {}),
      },
      { parent: this },
    );

    this.secrets = new Secrets(
      `${name}-secrets`,
      {
        passwordNames: [
          ...mysqlUserRoles.filter((role) => mysqlExisting(role) === undefined).map((role) => `mysql-${role}`),
          ...(mongoExisting === undefined ? ["mongo"] : []),
          ...(rabbitConfig ? RABBIT_ROLES.filter((role) => rabbitExisting(role) === undefined).map((role) => `rabbit-${role}`) : []),
          ...(services.xqueue ? ["xqueue-lms"] : []),
        ],
        secretKeyNames: secretKeyNames(services),
      },
      { parent: this },
    );
    const passwordOf = (existingKey: string | undefined, generated: string): pulumi.Output<string> =>
      existingKey !== undefined ? existingPasswords[existingKey] : this.secrets.password(generated);
    const mysqlPasswords = Object.fromEntries(mysqlUserRoles.map((role) => [role, passwordOf(mysqlExisting(role), `mysql-${role}`)]));
    const mongoPassword = passwordOf(mongoExisting, "mongo");

    const dependencies: pulumi.Resource[] = [];
    let mysqlConnection: MysqlConnection;
    let mongoConnection: MongoConnection;
    if (persistent) {
      // A pin wins: an instance whose data already lives on a server must stay there when the fleet list changes.
      const serverName = settings.mysqlServer ?? chooseMysqlServer(instanceId, config.mysqlServers.map((server) => server.name));
      const server = config.mysqlServers.find((candidate) => candidate.name === serverName);
      if (!server) throw new Error(`openedx-im:mysqlServers: server "${serverName}" is not configured`);
      this.mysql = new MysqlDatabases(
        `${name}-mysql`,
        {
          instanceId,
          services,
          server,
          ...mysqlAdminPassword(config.credentialKeys, args.credentials, server.name),
          adoption: adoption.mysql,
          passwords: mysqlPasswords,
          retention,
        },
        { parent: this },
      );
      dependencies.push(...new Set(Object.values(this.mysql.users)), ...this.mysql.grants);
      mysqlConnection = mysqlConnectionOf(this.mysql, mysqlPasswords, mysqlUserRoles);

      const mongodb = requireMongodb(config.mongodb);
      this.mongodb = new MongoUsers(
        `${name}-mongodb`,
        { instanceId, mongodb, adoption: adoption.mongodb, password: mongoPassword, retention },
        { parent: this },
      );
      if (this.mongodb.user) dependencies.push(this.mongodb.user);
      mongoConnection = {
        ...mongoHosts(mongodb),
        ...(mongodb.replicaSet !== undefined ? { replicaSet: mongodb.replicaSet } : {}),
        databases: this.mongodb.databases,
        user: this.mongodb.userName,
        password: mongoPassword,
        useTls: true,
        authDatabase: this.mongodb.authDatabase,
      };
    } else {
      mysqlConnection = localMysqlConnection(instanceId, mysqlPasswords, mysqlUserRoles);
      mongoConnection = {
        hosts: [LOCALHOST],
        port: MONGO_DEFAULT_PORT,
        databases: mongoDatabaseNames(instanceId),
        user: mongoUserName(instanceId),
        password: mongoPassword,
        useTls: false,
      };
    }

    let brokerConnection: BrokerConnection | undefined;
    if (rabbitConfig) {
      const rabbitPasswords = {} as Record<RabbitRole, pulumi.Output<string>>;
      for (const role of RABBIT_ROLES) rabbitPasswords[role] = passwordOf(rabbitExisting(role), `rabbit-${role}`);
      this.rabbitmq = new RabbitVhost(
        `${name}-rabbitmq`,
        {
          instanceId,
          rabbitmq: rabbitConfig,
          admin: rabbitAdmin(config.credentialKeys, args.credentials),
          adoption: adoption.rabbitmq,
          passwords: rabbitPasswords,
          retention,
        },
        { parent: this },
      );
      dependencies.push(...this.rabbitmq.permissions);
      brokerConnection = brokerConnectionOf(rabbitConfig, this.rabbitmq, rabbitPasswords);
    }
    this.dependencies = dependencies;
    this.connections = {
      databases: settings.databases,
      mysql: mysqlConnection,
      mongo: mongoConnection,
      ...(brokerConnection ? { broker: brokerConnection } : {}),
    };

    this.outputs = {
      ...urlOutputs(this.domains),
      domains: Object.fromEntries(this.domains.map((domain) => [domain.role, domain.fqdn])),
      securityGroup: this.securityGroupName,
      databases: settings.databases,
      mysql: this.mysql
        ? {
            server: this.mysql.serverName,
            host: this.mysql.host,
            port: this.mysql.port,
            databases: { ...this.mysql.databaseNames },
            users: { ...this.mysql.userNames },
          }
        : null,
      mongodb: this.mongodb
        ? { cluster: requireMongodb(config.mongodb).clusterName, databases: this.mongodb.databases, user: this.mongodb.userName }
        : null,
      rabbitmq: this.rabbitmq
        ? {
            vhost: this.rabbitmq.vhostName,
            users: Object.fromEntries(RABBIT_ROLES.map((role) => [role, this.rabbitmq!.userName(role)])),
          }
        : null,
      dataRetainedOnDestroy: retention.retainOnDelete,
    };

    this.registerOutputs(this.outputs);
  }

  /** The `vm<index>-<appserver id>.<subdomain>` record of one appserver VM. */
  dnsRecordFor(appServerId: string, index: number, address: pulumi.Input<string>, opts?: pulumi.ResourceOptions): pulumi.Resource {
    return this.dns.vmRecord(appServerId, index, address, opts);
  }
}

function lmsRecordName(domains: InstanceDomain[]): string | undefined {
  return domains.find((domain) => domain.role === "lms")?.recordName;
}

function dnsTarget(loadBalancer: StackConfig["loadBalancer"]): DnsTarget {
  if (!loadBalancer) return {};
  const { publicHostname, publicIpv4 = [], publicIpv6 = [] } = loadBalancer;
  if (publicHostname !== undefined || publicIpv4.length > 0 || publicIpv6.length > 0)
    return { ...(publicHostname !== undefined ? { hostname: publicHostname } : {}), ipv4: publicIpv4, ipv6: publicIpv6 };
  // Nothing public given: the host we reach over SSH is the one serving traffic.
  const host = loadBalancer.sshHost;
  if (/^[0-9.]+$/.test(host)) return { ipv4: [host] };
  if (host.includes(":")) return { ipv6: [host] };
  return { hostname: host };
}

function requireMongodb(mongodb: MongodbConfig | undefined): MongodbConfig {
  if (!mongodb)
    throw new Error(
      "openedx-im:mongodb: persistent databases need the MongoDB Atlas project (projectId, clusterName, hosts) in Pulumi.yaml, or set databases: ephemeral",
    );
  return mongodb;
}

/**
 * The MySQL admin password for one server: from `credentials.mysql.<server>`
 * when credentials.mysql is set (then it must name this server), otherwise
 * none, and the provider reads MYSQL_PASSWORD from the environment.
 */
function mysqlAdminPassword(
  credentialKeys: string[],
  credentials: pulumi.Output<Credentials> | undefined,
  serverName: string,
): { adminPassword?: pulumi.Output<string> } {
  if (!credentials || !credentialKeys.includes("mysql")) return {};
  return {
    adminPassword: pulumi.secret(
      credentials.apply((values) => {
        const password = values.mysql?.[serverName];
        if (password === undefined)
          throw new Error(
            `openedx-im:credentials.mysql: no password for server "${serverName}"; set it with: pulumi config set --secret --path 'openedx-im:credentials.mysql.${serverName}' <password>`,
          );
        return password;
      }),
    ),
  };
}

const ADOPTED_PASSWORDS_KEY = "openedx-im:credentials.adoptedPasswords";

/** The command that stores one adopted password; the key holds dots, so --path needs it quoted in brackets. */
function setAdoptedPasswordCommand(key: string): string {
  return `pulumi config set --secret --path '${ADOPTED_PASSWORDS_KEY}["${key}"]' <password>`;
}

/**
 * The existing passwords of adopted users, by key (`mysql.<role>`, `mongodb`,
 * `rabbitmq.<role>`), each a secret Output. Throws, naming every missing key
 * and the command that sets it, when credentials do not hold them: a generated
 * password in their place would lock the old site (still using the user) out.
 */
export function adoptedPasswords(
  keys: string[],
  credentialKeys: string[],
  credentials: pulumi.Output<Credentials> | undefined,
  credentialPaths?: string[],
): Record<string, pulumi.Output<string>> {
  const wanted = [...new Set(keys)].sort();
  if (wanted.length === 0) return {};
  const missingLines = (missing: string[]) =>
    missing.map(
      (key) => `${ADOPTED_PASSWORDS_KEY}.${key}: set it with: ${setAdoptedPasswordCommand(key)} (an adopted user keeps its password)`,
    );
  const missingMessage = (missing: string[]) => missingLines(missing).join("\n");
  if (!credentials || !credentialKeys.includes("adoptedPasswords")) throw new ConfigProblems(missingLines(wanted));
  // Known before any value is read: one line per missing key now, not an error from inside a secret later.
  if (credentialPaths !== undefined) {
    const missing = wanted.filter((key) => !credentialPaths.includes(`adoptedPasswords.${key}`));
    if (missing.length > 0) throw new ConfigProblems(missingLines(missing));
  }
  const all = credentials.apply((values) => {
    const found = Object.fromEntries(wanted.map((key) => [key, lookUpAdoptedPassword(values.adoptedPasswords, key)]));
    const missing = wanted.filter((key) => found[key] === undefined);
    if (missing.length > 0) throw new Error(missingMessage(missing));
    return found as Record<string, string>;
  });
  return Object.fromEntries(wanted.map((key) => [key, pulumi.secret(all.apply((found) => found[key]))]));
}

/**
 * `mysql.edxapp` as one key (what `--path '...adoptedPasswords["mysql.edxapp"]'` stores),
 * or nested (what `--path '...adoptedPasswords.mysql.edxapp'` stores): both mean the same.
 */
function lookUpAdoptedPassword(passwords: Credentials["adoptedPasswords"], key: string): string | undefined {
  if (!passwords) return undefined;
  const flat = passwords[key];
  if (typeof flat === "string") return flat;
  let node: unknown = passwords;
  for (const part of key.split(".")) node = typeof node === "object" && node !== null ? (node as Record<string, unknown>)[part] : undefined;
  return typeof node === "string" ? node : undefined;
}

/** The management API admin: `credentials.rabbitmqUsername/Password`, else RABBITMQ_USERNAME / RABBITMQ_PASSWORD. */
function rabbitAdmin(
  credentialKeys: string[],
  credentials: pulumi.Output<Credentials> | undefined,
): { username: pulumi.Output<string>; password: pulumi.Output<string> } {
  const fromCredentials = (key: "rabbitmqUsername" | "rabbitmqPassword", environment: string) =>
    credentials && credentialKeys.includes(key)
      ? credentials.apply((values) => values[key] ?? "")
      : pulumi.output(process.env[environment] ?? "");
  return {
    username: pulumi.secret(fromCredentials("rabbitmqUsername", "RABBITMQ_USERNAME")),
    password: pulumi.secret(fromCredentials("rabbitmqPassword", "RABBITMQ_PASSWORD")),
  };
}

/** Waits for `resources` to exist before yielding `value`, so a consumer of the value waits too. */
function after<T>(value: pulumi.Input<T>, resources: pulumi.CustomResource[]): pulumi.Output<T> {
  return pulumi.all([value, ...resources.map((resource) => resource.id)]).apply(([resolved]) => resolved as T);
}

function mysqlConnectionOf(databases: MysqlDatabases, passwords: Record<string, pulumi.Output<string>>, roles: string[]): MysqlConnection {
  const users: MysqlConnection["users"] = {};
  for (const role of roles) {
    const name = databases.userNames[role as MysqlRole];
    if (!name) continue;
    users[role] = { name: after(name, databases.grantsByRole[role as MysqlRole] ?? []), password: passwords[role] };
  }
  return { host: databases.host, port: databases.port, databases: { ...databases.databaseNames }, users };
}

function localMysqlConnection(instanceId: string, passwords: Record<string, pulumi.Output<string>>, roles: string[]): MysqlConnection {
  const databases: MysqlConnection["databases"] = {};
  for (const key of MYSQL_DATABASE_KEYS) databases[key] = mysqlDatabaseName(instanceId, key);
  const users: MysqlConnection["users"] = {};
  for (const role of roles)
    users[role] = {
      // The local admin user exists only on the VM's own server; names.ts names shared-server users only.
      name: (MYSQL_ROLES as readonly string[]).includes(role) ? mysqlUserName(instanceId, role) : `${instanceNameBase(instanceId)}_${role}`,
      password: passwords[role],
    };
  return { host: LOCALHOST, port: MYSQL_DEFAULT_PORT, databases, users };
}

function mongoHosts(mongodb: MongodbConfig): { hosts: string[]; port: number } {
  const parsed = mongodb.hosts.map((entry) => {
    const match = /^(.*):([0-9]{1,5})$/.exec(entry);
    return match && !match[1].endsWith(":") ? { host: match[1], port: Number(match[2]) } : { host: entry, port: MONGO_DEFAULT_PORT };
  });
  const ports = new Set(parsed.map((entry) => entry.port));
  if (ports.size > 1)
    throw new Error(
      `openedx-im:mongodb.hosts: every host must use the same port (the forum builds one URL from a host list and a single port); got ${[...ports].join(", ")}`,
    );
  return { hosts: parsed.map((entry) => entry.host), port: parsed[0]?.port ?? MONGO_DEFAULT_PORT };
}

function brokerConnectionOf(config: RabbitmqConfig, vhost: RabbitVhost, passwords: Record<RabbitRole, pulumi.Output<string>>): BrokerConnection {
  const useTls = config.useTls ?? false;
  const users = {} as BrokerConnection["users"];
  for (const role of RABBIT_ROLES) {
    const permissions = vhost.permissionsByRole[role];
    users[role] = { name: after(vhost.userName(role), permissions ? [permissions] : []), password: passwords[role] };
  }
  return { host: config.host, port: config.port ?? (useTls ? 5671 : 5672), useTls, vhost: vhost.vhostName, users };
}

function urlOutputs(domains: InstanceDomain[]): Record<string, string> {
  const url = (role: DomainRole) => domains.find((domain) => domain.role === role)?.fqdn;
  const outputs: Record<string, string> = {};
  for (const [key, role] of [
    ["lmsUrl", "lms"],
    ["studioUrl", "studio"],
    ["previewUrl", "preview"],
    ["mfeUrl", "mfe"],
    ["ecommerceUrl", "ecommerce"],
    ["discoveryUrl", "discovery"],
  ] as const) {
    const fqdn = url(role);
    if (fqdn !== undefined) outputs[key] = `https://${fqdn}`;
  }
  return outputs;
}
