/**
 * The instance's MySQL databases, users and grants on one of the shared
 * database servers (persistent databases only). Which user gets what, where,
 * is decided in components/mysql-grants.ts, the list the grant audit also
 * reads; this component only turns it into resources, through a provider
 * bound to the chosen server, so nothing reaches any other server.
 */
import * as mysql from "@pulumi/mysql";
import * as pulumi from "@pulumi/pulumi";
import type { MysqlServerConfig } from "../config/schema";
import { instanceMysqlGrants } from "./mysql-grants";
import { type MysqlDatabaseKey, type MysqlRole, type ServiceFlags, mysqlDatabaseKeys, mysqlDatabaseName, mysqlRoles, mysqlUserName } from "./names";

export const MYSQL_DEFAULT_PORT = 3306;
/** Explicit, because the server's default (`utf8`) reads back as `utf8mb3` on MySQL 8.0.28+ and diffs forever. */
export const MYSQL_CHARACTER_SET = "utf8mb4";
export const MYSQL_COLLATION = "utf8mb4_unicode_ci";
/** Users connect from appserver VMs whose addresses change with every appserver. */
export const MYSQL_USER_HOST = "%";

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
  /** Each user's password, by role (secret Outputs from Secrets). */
  passwords: Partial<Record<MysqlRole, pulumi.Input<string>>>;
  retention: DataRetention;
}

/** `host:port` as the Go MySQL driver expects it; IPv6 literals go in brackets. */
export function mysqlEndpoint(server: MysqlServerConfig): string {
  const host = server.host.includes(":") ? `[${server.host}]` : server.host;
  return `${host}:${server.port ?? MYSQL_DEFAULT_PORT}`;
}

export class MysqlDatabases extends pulumi.ComponentResource {
  public readonly provider: mysql.Provider;
  public readonly databases: Partial<Record<MysqlDatabaseKey, mysql.Database>> = {};
  public readonly users: Partial<Record<MysqlRole, mysql.User>> = {};
  public readonly grants: mysql.Grant[];
  /** Each user's grants, so whoever hands out the user's name can wait for them. */
  public readonly grantsByRole: Partial<Record<MysqlRole, mysql.Grant[]>> = {};
  public readonly host: string;
  public readonly port: number;
  public readonly serverName: string;

  constructor(name: string, args: MysqlDatabasesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("openedx-im:instance:MysqlDatabases", name, {}, opts);
    this.host = args.server.host;
    this.port = args.server.port ?? MYSQL_DEFAULT_PORT;
    this.serverName = args.server.name;

    this.provider = new mysql.Provider(
      `${name}-provider-${args.server.name}`,
      {
        endpoint: mysqlEndpoint(args.server),
        username: args.server.username,
        ...(args.adminPassword !== undefined ? { password: pulumi.secret(args.adminPassword) } : {}),
      },
      { parent: this },
    );
    const data: pulumi.CustomResourceOptions = {
      parent: this,
      provider: this.provider,
      retainOnDelete: args.retention.retainOnDelete,
      protect: args.retention.protect,
    };

    for (const key of mysqlDatabaseKeys(args.services)) {
      // No deleteBeforeReplace: replacing a database in place would drop it first; a failed create is the safe outcome.
      this.databases[key] = new mysql.Database(
        `${name}-db-${key}`,
        { name: mysqlDatabaseName(args.instanceId, key), defaultCharacterSet: MYSQL_CHARACTER_SET, defaultCollation: MYSQL_COLLATION },
        data,
      );
    }

    for (const role of mysqlRoles(args.services)) {
      const password = args.passwords[role];
      if (password === undefined) throw new Error(`MysqlDatabases: no password given for the "${role}" user`);
      this.users[role] = new mysql.User(
        `${name}-user-${role}`,
        // plaintextPassword is stored hashed in the state; `password` would be stored as given.
        { user: mysqlUserName(args.instanceId, role), host: MYSQL_USER_HOST, plaintextPassword: pulumi.secret(password) },
        // A replacement keeps the user name, and CREATE USER fails while the old one exists.
        { ...data, deleteBeforeReplace: true },
      );
    }

    this.grants = instanceMysqlGrants(args.instanceId, args.services).map((spec) => {
      const user = this.users[spec.role];
      const database = this.databases[spec.databaseKey];
      if (!user || !database) throw new Error(`MysqlDatabases: grant for ${spec.role} on ${spec.databaseKey} names a user or database this instance does not have`);
      const grant = new mysql.Grant(
        `${name}-grant-${spec.role}-${spec.databaseKey}`,
        {
          // From the user's and database's outputs, so each grant waits for both.
          user: user.user,
          host: user.host,
          database: database.name.apply(() => spec.grantDatabase),
          privileges: spec.privileges,
        },
        // A grant has no update: every change replaces it, and deleting it REVOKEs what the new one just granted.
        { ...data, deleteBeforeReplace: true },
      );
      (this.grantsByRole[spec.role] ??= []).push(grant);
      return grant;
    });

    this.registerOutputs({});
  }

  databaseName(key: MysqlDatabaseKey): pulumi.Output<string> {
    const database = this.databases[key];
    if (!database) throw new Error(`MysqlDatabases: this instance has no "${key}" database (is the service enabled?)`);
    return database.name;
  }

  userName(role: MysqlRole): pulumi.Output<string> {
    const user = this.users[role];
    if (!user) throw new Error(`MysqlDatabases: this instance has no "${role}" user (is the service enabled?)`);
    return user.user;
  }
}
