/**
 * The instance's MySQL databases, users and grants on one of the shared
 * database servers (persistent databases only). Which user gets what, where,
 * is decided in components/mysql-grants.ts, the list the grant audit also
 * reads; this component only turns it into resources, through a provider
 * bound to the chosen server, so nothing reaches any other server.
 */
import * as mysql from "@pulumi/mysql";
import * as pulumi from "@pulumi/pulumi";
import { type AdoptionPlan, type ResourceDecision, adoptionOptions, mysqlNamesOf, planAdoption } from "../config/adopt";
import type { MysqlServerConfig } from "../config/schema";
import { type MysqlGrantSpec, instanceMysqlGrants, mergeGrants } from "./mysql-grants";
import { type MysqlDatabaseKey, type MysqlRole, type ServiceFlags } from "../config/names";

export const MYSQL_DEFAULT_PORT = 3306;
/** Explicit, because the server's default (`utf8`) reads back as `utf8mb3` on MySQL 8.0.28+ and diffs forever. */
export const MYSQL_CHARACTER_SET = "utf8mb4";
export const MYSQL_COLLATION = "utf8mb4_unicode_ci";

/** What `pulumi destroy` and accidental deletion do to the data resources. */
export interface DataRetention {
  retainOnDelete: boolean;
  protect: boolean;
}

export interface MysqlDatabasesArgs {
  instanceId: string;
  services: ServiceFlags;
  server: MysqlServerConfig;
  /**
   * The server's admin password (secret). Undefined: the provider reads
   * MYSQL_PASSWORD from the environment of `pulumi up`.
   */
  adminPassword?: pulumi.Input<string>;
  /**
   * What to do with each database, user and grant (config/adopt.ts
   * planAdoption's `mysql`): create, import or reference. Absent: everything
   * created under the derived names.
   */
  adoption?: AdoptionPlan["mysql"];
  /**
   * Each user's password, by role (secret): generated for created users, the
   * existing one for adopted users (which keep it).
   */
  passwords: Partial<Record<MysqlRole, pulumi.Input<string>>>;
  retention: DataRetention;
}

/** `host:port` as the Go MySQL driver expects it; IPv6 literals go in brackets. */
export function mysqlEndpoint(server: MysqlServerConfig): string {
  const host = server.host.includes(":") ? `[${server.host}]` : server.host;
  return `${host}:${server.port ?? MYSQL_DEFAULT_PORT}`;
}

/**
 * The provider's `tls` argument ("true", "false" or "skip-verify"; the Go driver's names). Unset when the
 * server does not say, so MYSQL_TLS_CONFIG still applies. The provider has no CA argument: with tls: true
 * it checks the certificate against the trust store of the machine running `pulumi up` (docs/instance.md).
 */
export function mysqlProviderTls(server: MysqlServerConfig): { tls?: string } {
  return server.tls === undefined ? {} : { tls: String(server.tls) };
}

export class MysqlDatabases extends pulumi.ComponentResource {
  public readonly provider: mysql.Provider;
  /** The databases the stack holds (created or imported); referenced ones are not resources. */
  public readonly databases: Partial<Record<MysqlDatabaseKey, mysql.Database>> = {};
  /** The users the stack holds, by role; roles sharing one adopted user share its resource. */
  public readonly users: Partial<Record<MysqlRole, mysql.User>> = {};
  public readonly grants: mysql.Grant[] = [];
  /** Each user's grants, so whoever hands out the user's name can wait for them. */
  public readonly grantsByRole: Partial<Record<MysqlRole, mysql.Grant[]>> = {};
  /** Every database's name, referenced ones included (from the resource where there is one). */
  public readonly databaseNames: Partial<Record<MysqlDatabaseKey, pulumi.Output<string>>> = {};
  /** Every user's name by role, referenced ones included. */
  public readonly userNames: Partial<Record<MysqlRole, pulumi.Output<string>>> = {};
  public readonly host: string;
  public readonly port: number;
  public readonly serverName: string;

  constructor(name: string, args: MysqlDatabasesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("openedx-im:instance:MysqlDatabases", name, {}, opts);
    this.host = args.server.host;
    this.port = args.server.port ?? MYSQL_DEFAULT_PORT;
    this.serverName = args.server.name;
    const adoption = args.adoption ?? planAdoption(args.instanceId, args.services, undefined).mysql;

    this.provider = new mysql.Provider(
      `${name}-provider-${args.server.name}`,
      {
        endpoint: mysqlEndpoint(args.server),
        username: args.server.username,
        ...mysqlProviderTls(args.server),
        ...(args.adminPassword !== undefined ? { password: pulumi.secret(args.adminPassword) } : {}),
      },
      { parent: this },
    );
    // Adopted (imported) resources are data like created ones: retained and protected alike.
    const data: pulumi.CustomResourceOptions = {
      parent: this,
      provider: this.provider,
      retainOnDelete: args.retention.retainOnDelete,
      protect: args.retention.protect,
    };

    for (const [key, decision] of Object.entries(adoption.databases) as Array<[MysqlDatabaseKey, ResourceDecision]>) {
      if (decision.action === "reference") {
        this.databaseNames[key] = pulumi.output(decision.name);
        continue;
      }
      // No deleteBeforeReplace: replacing a database in place would drop it first; a failed create is the safe outcome.
      const database = new mysql.Database(
        `${name}-db-${key}`,
        { name: decision.name, defaultCharacterSet: MYSQL_CHARACTER_SET, defaultCollation: MYSQL_COLLATION },
        { ...data, ...adoptionOptions(decision) },
      );
      this.databases[key] = database;
      this.databaseNames[key] = database.name;
    }

    for (const [role, decision] of Object.entries(adoption.users) as Array<[MysqlRole, NonNullable<AdoptionPlan["mysql"]["users"][MysqlRole]>]>) {
      if (decision.sameUserAs !== undefined) {
        const owner = this.users[decision.sameUserAs];
        if (owner) this.users[role] = owner;
        this.userNames[role] = owner ? owner.user : pulumi.output(decision.name);
        continue;
      }
      if (decision.action === "reference") {
        this.userNames[role] = pulumi.output(decision.name);
        continue;
      }
      const password = args.passwords[role];
      if (password === undefined) throw new Error(`MysqlDatabases: no password given for the "${role}" user`);
      const user = new mysql.User(
        `${name}-user-${role}`,
        // plaintextPassword is stored hashed in the state; `password` would be stored as given.
        { user: decision.name, host: decision.host, plaintextPassword: pulumi.secret(password) },
        // A replacement keeps the user name, and CREATE USER fails while the old one exists.
        { ...data, deleteBeforeReplace: true, ...adoptionOptions(decision) },
      );
      this.users[role] = user;
      this.userNames[role] = user.user;
    }

    // Grants are never imported (config/adopt.ts says why); a referenced user's grants are not the stack's to manage.
    const managed = instanceMysqlGrants(args.instanceId, args.services, mysqlNamesOf({ mysql: adoption })).filter(
      (spec) => adoption.grants[spec.role] === "create",
    );
    for (const spec of mergeGrants(managed)) {
      const grant = this.grant(name, spec, adoption, data);
      this.grants.push(grant);
      // Every role served by this account waits for the grant, not only the role the merged grant is named after.
      const served = managed.filter((other) => other.user === spec.user && other.host === spec.host && other.database === spec.database);
      for (const role of new Set(served.map((other) => other.role))) (this.grantsByRole[role] ??= []).push(grant);
    }

    this.registerOutputs({});
  }

  private grant(name: string, spec: MysqlGrantSpec, adoption: AdoptionPlan["mysql"], data: pulumi.CustomResourceOptions): mysql.Grant {
    const user = this.users[spec.role];
    const userDecision = adoption.users[spec.role];
    const database = this.databases[spec.databaseKey];
    if (!userDecision) throw new Error(`MysqlDatabases: grant for ${spec.role} on ${spec.databaseKey} names a user this instance does not have`);
    return new mysql.Grant(
      `${name}-grant-${spec.role}-${spec.databaseKey}`,
      {
        // From the user's and database's outputs where the stack holds them, so each grant waits for both.
        user: user ? user.user : userDecision.name,
        host: user ? user.host : userDecision.host,
        database: database ? database.name.apply(() => spec.grantDatabase) : spec.grantDatabase,
        privileges: spec.privileges,
      },
      // A grant has no update: every change replaces it, and deleting it REVOKEs what the new one just granted.
      { ...data, deleteBeforeReplace: true },
    );
  }

  databaseName(key: MysqlDatabaseKey): pulumi.Output<string> {
    const database = this.databaseNames[key];
    if (!database) throw new Error(`MysqlDatabases: this instance has no "${key}" database (is the service enabled?)`);
    return database;
  }

  userName(role: MysqlRole): pulumi.Output<string> {
    const user = this.userNames[role];
    if (!user) throw new Error(`MysqlDatabases: this instance has no "${role}" user (is the service enabled?)`);
    return user;
  }
}
