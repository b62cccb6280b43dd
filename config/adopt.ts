/**
 * Adopting an existing instance's data: the `adopt` key of an instance's config
 * names the MySQL databases and users, the MongoDB databases and user, and the
 * RabbitMQ vhost and users it already has, and says whether the stack takes
 * them over (`import`: Pulumi's import option, no recreation) or only uses them
 * (`reference`: read-only, they stay outside the stack).
 *
 * `planAdoption` turns that into one decision per resource — the name to use,
 * create / import / reference, the provider's import id, and which properties
 * the program must leave alone — so the components need no adoption logic of
 * their own, and the plan shows which resources will be imported.
 *
 * Example (in Pulumi.<stack>.yaml, under openedx-im:instance):
 *
 *   adopt:
 *     mysql:
 *       databases: { edxapp: old_edxapp, edxapp_csmh: old_edxapp_csmh }
 *       users: { edxapp: old_user, migrate: { name: old_user, host: "10.0.%" } }
 *     mongodb:
 *       databases: { main: old_edxapp, forum: old_forum }
 *       user: old_mongo
 *     rabbitmq:
 *       vhost: old_vhost
 *       users: { provider: old_provider, consumer: old_consumer }
 */
import type { CustomResourceOptions } from "@pulumi/pulumi";
import { z } from "zod";
import {
  MYSQL_DATABASE_KEYS,
  MYSQL_ROLES,
  RABBIT_ROLES,
  type MysqlDatabaseKey,
  type MysqlRole,
  type RabbitRole,
  type ServiceFlags,
  mongoDatabaseNames,
  mongoUserName,
  mysqlDatabaseKeys,
  mysqlDatabaseName,
  mysqlRoles,
  mysqlUserName,
  rabbitUserName,
  rabbitVhostName,
} from "./names";

/** The host part of the MySQL users the program creates: they connect from appserver VMs whose addresses change with every appserver. */
export const DEFAULT_MYSQL_USER_HOST = "%";
/** Where Atlas password users authenticate; that says where they log in, not what they reach (their roles do). */
export const DEFAULT_MONGO_AUTH_DATABASE = "admin";

const adoptMode = z.enum(["import", "reference"], {
  error: "must be import (the stack takes it over) or reference (used read-only, stays outside the stack)",
});

// Existing names come from other tools (Grove used hyphens), so they are wider than ours, but never
// contain quotes, backslashes or backticks, which no statement or import id here could carry safely.
const existingMysqlDatabase = z
  .string()
  .regex(/^[A-Za-z0-9_$-]{1,64}$/, "must be an existing MySQL database name: 1-64 letters, digits, _ $ -");
const mysqlUserNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.$-]{1,80}$/, "must be an existing MySQL user name: 1-80 letters, digits, _ . $ -");
const mysqlHost = z.string().regex(/^[A-Za-z0-9_.%:-]{1,255}$/, "must be a MySQL account host such as %, 10.0.% or app.example.com");
const mongoName = z.string().regex(/^[A-Za-z0-9_-]{1,63}$/, "must be an existing MongoDB database name: 1-63 letters, digits, _ -");
const mongoUser = z.string().regex(/^[A-Za-z0-9_.-]{1,1024}$/, "must be an existing MongoDB user name: letters, digits, _ . -");
// The RabbitMQ provider's ids are `user@vhost`: an `@` in either would be split in the wrong place.
const rabbitName = z.string().regex(/^[A-Za-z0-9_.:/-]{1,255}$/, "must be an existing RabbitMQ name without @ (letters, digits, _ . : / -)");

export const adoptSchema = z.strictObject({
  /**
   * While true (the default), adopted users keep the privileges, roles and
   * permissions they have: the program adds what the instance needs and
   * removes nothing. Set false once the audit has restricted them (docs/migration.md).
   */
  keepExistingPermissions: z.boolean().optional(),
  mysql: z
    .strictObject({
      mode: adoptMode.optional(),
      databases: z.partialRecord(z.enum(MYSQL_DATABASE_KEYS), existingMysqlDatabase).optional(),
      users: z
        .partialRecord(
          z.enum(MYSQL_ROLES),
          z.union([mysqlUserNameSchema, z.strictObject({ name: mysqlUserNameSchema, host: mysqlHost.optional() })]),
        )
        .optional(),
    })
    .optional(),
  mongodb: z
    .strictObject({
      mode: adoptMode.optional(),
      databases: z.strictObject({ main: mongoName.optional(), forum: mongoName.optional() }).optional(),
      user: z.union([mongoUser, z.strictObject({ name: mongoUser, authDatabase: mongoName.optional() })]).optional(),
    })
    .optional(),
  rabbitmq: z
    .strictObject({
      mode: adoptMode.optional(),
      vhost: rabbitName.optional(),
      users: z.partialRecord(z.enum(RABBIT_ROLES), rabbitName).optional(),
    })
    .optional(),
  /**
   * The instance's domain records already exist (the old site serves them).
   * `keep`: leave them alone — the stack declares none, so the old site keeps its
   * traffic while the new appserver is built and checked. `import`: the cut-over —
   * the stack takes the existing records over (same name and type, import id
   * `<zone>/<name>/<type>`) without changing them; remove `dns` and `pulumi up`
   * again to point them at the load balancer.
   */
  dns: z.enum(["keep", "import"], { error: "must be keep (records stay as they are) or import (taken over, unchanged)" }).optional(),
});

/** The Gandi LiveDNS record import id. */
export function gandiRecordImportId(zone: string, name: string, type: string): string {
  return `${zone}/${name}/${type}`;
}

export type AdoptConfig = z.infer<typeof adoptSchema>;

export type AdoptAction = "create" | "import" | "reference";

/** What the program does with one resource. */
export interface ResourceDecision {
  /** The Pulumi type token, as the plan prints it. */
  type: string;
  /** The name on the server: derived from the instance id, or the adopted one. */
  name: string;
  /** create = a new resource; import = `{ import: importId }`; reference = no resource, use `name` read-only. */
  action: AdoptAction;
  /** Set exactly when action is import, in the provider's format. */
  importId?: string;
  /** Resource option `ignoreChanges` for this resource (empty when none). */
  ignoreChanges: string[];
  /**
   * Adopted users only: the key under `openedx-im:credentials.adoptedPasswords`
   * holding the user's existing password. The program must use it in place of a
   * generated one, or the old site, still using that user, loses access.
   */
  existingPasswordKey?: string;
}

export interface MysqlUserDecision extends ResourceDecision {
  host: string;
  /** Several roles may share one adopted user: the others point at the role that owns the resource. */
  sameUserAs?: MysqlRole;
}

export interface AdoptionPlan {
  mysql: {
    databases: Partial<Record<MysqlDatabaseKey, ResourceDecision>>;
    users: Partial<Record<MysqlRole, MysqlUserDecision>>;
    /**
     * mysql.Grant is never imported: the provider's importer turns one id into
     * one resource per SHOW GRANTS line and its read does not compare
     * privileges, while GRANTing privileges a user already holds changes
     * nothing. So grants are created (adding only what is missing) unless the
     * role's user is adopted by reference, in which case the stack does not
     * manage its grants. Roles sharing one user: merge with mergeGrants.
     */
    grants: Partial<Record<MysqlRole, "create" | "reference">>;
  };
  mongodb: {
    /** Databases are not resources in Atlas: names only. */
    databases: { main: string; forum: string };
    user: ResourceDecision & { authDatabase: string };
  };
  rabbitmq: {
    vhost: ResourceDecision;
    users: Record<RabbitRole, ResourceDecision>;
    permissions: Record<RabbitRole, ResourceDecision>;
  };
}

export interface AdoptionContext {
  /** The Atlas project id (openedx-im:mongodb.projectId); needed to import the MongoDB user. */
  mongodbProjectId?: string;
  /** The instance's `databases`: ephemeral ones live on the VM, so there is no MySQL or MongoDB data to adopt. */
  databases?: "ephemeral" | "persistent";
}

export class AdoptError extends Error {}

const PREFIX = "openedx-im:instance.adopt";

/** Problems the schema cannot see: adopted names for services the instance does not run, a missing project id. */
export function adoptionProblems(adopt: AdoptConfig | undefined, services: ServiceFlags, context: AdoptionContext = {}): string[] {
  const problems: string[] = [];
  if (!adopt) return problems;
  if (context.databases === "ephemeral")
    for (const part of ["mysql", "mongodb"] as const)
      if (adopt[part] !== undefined)
        problems.push(`${PREFIX}.${part}: the instance's databases are ephemeral (on the VM), so there is nothing to adopt; set databases: persistent or remove this entry`);
  const databases = new Set<string>(mysqlDatabaseKeys(services));
  for (const key of Object.keys(adopt.mysql?.databases ?? {}))
    if (!databases.has(key)) problems.push(`${PREFIX}.mysql.databases.${key}: the instance does not run ${key}; enable it under services or remove this entry`);
  const roles = new Set<string>(mysqlRoles(services));
  for (const role of Object.keys(adopt.mysql?.users ?? {}))
    if (!roles.has(role)) problems.push(`${PREFIX}.mysql.users.${role}: the instance has no ${role} user; enable the service under services or remove this entry`);
  if (adopt.mongodb?.user !== undefined && (adopt.mongodb.mode ?? "import") === "import" && !context.mongodbProjectId)
    problems.push(`${PREFIX}.mongodb.user: importing needs openedx-im:mongodb.projectId (the Atlas project the user lives in)`);
  const mongoUser = adopt.mongodb?.user;
  if (mongoUser !== undefined && context.mongodbProjectId) {
    const name = typeof mongoUser === "string" ? mongoUser : mongoUser.name;
    const authDatabase = typeof mongoUser === "string" ? DEFAULT_MONGO_AUTH_DATABASE : (mongoUser.authDatabase ?? DEFAULT_MONGO_AUTH_DATABASE);
    if (name.includes("-") && authDatabase.includes("-") && (name.includes("/") || authDatabase.includes("/")))
      problems.push(`${PREFIX}.mongodb.user: no Atlas import id can name user "${name}" in "${authDatabase}" (both contain -, one contains /)`);
  }
  return problems;
}

/** The Atlas provider's DatabaseUser import id: `project/user/authDb`, or `project-user-authDb` when a name contains `/`. */
export function atlasDatabaseUserImportId(projectId: string, user: string, authDatabase: string): string {
  if (!user.includes("/") && !authDatabase.includes("/")) return `${projectId}/${user}/${authDatabase}`;
  if (user.includes("-") && authDatabase.includes("-"))
    throw new AdoptError(`mongodb user "${user}" in "${authDatabase}": no Atlas import id can name it (both contain -, one contains /)`);
  return `${projectId}-${user}-${authDatabase}`;
}

function decision(type: string, name: string, action: AdoptAction, importId: string | undefined, ignoreChanges: string[]): ResourceDecision {
  // ignoreChanges only matters for a resource the stack holds; a created one has nothing to protect.
  return action === "import" && importId !== undefined ? { type, name, action, importId, ignoreChanges } : { type, name, action, ignoreChanges: [] };
}

/**
 * One decision per resource the instance's data services need. Without `adopt`
 * everything is created with derived names. Throws AdoptError listing every
 * problem (see adoptionProblems) when the config cannot be honoured.
 */
export function planAdoption(
  instanceId: string,
  services: ServiceFlags,
  adopt: AdoptConfig | undefined,
  context: AdoptionContext = {},
): AdoptionPlan {
  const problems = adoptionProblems(adopt, services, context);
  if (problems.length > 0) throw new AdoptError(problems.join("\n"));
  const keep = adopt?.keepExistingPermissions ?? true;

  // MySQL
  const mysqlMode = adopt?.mysql?.mode ?? "import";
  const databases: AdoptionPlan["mysql"]["databases"] = {};
  for (const key of mysqlDatabaseKeys(services)) {
    const adopted = adopt?.mysql?.databases?.[key];
    databases[key] =
      adopted === undefined
        ? decision("mysql:index/database:Database", mysqlDatabaseName(instanceId, key), "create", undefined, [])
        : // An adopted database keeps its character set: changing the default would not convert its tables anyway.
          decision("mysql:index/database:Database", adopted, mysqlMode, adopted, ["defaultCharacterSet", "defaultCollation"]);
  }
  const users: AdoptionPlan["mysql"]["users"] = {};
  const owners = new Map<string, MysqlRole>();
  for (const role of mysqlRoles(services)) {
    const adopted = adopt?.mysql?.users?.[role];
    if (adopted === undefined) {
      users[role] = {
        ...decision("mysql:index/user:User", mysqlUserName(instanceId, role), "create", undefined, []),
        host: DEFAULT_MYSQL_USER_HOST,
      };
      continue;
    }
    const name = typeof adopted === "string" ? adopted : adopted.name;
    const host = typeof adopted === "string" ? DEFAULT_MYSQL_USER_HOST : (adopted.host ?? DEFAULT_MYSQL_USER_HOST);
    const owner = owners.get(`${name}@${host}`);
    if (owner !== undefined) {
      users[role] = { type: "mysql:index/user:User", name, host, action: "reference", ignoreChanges: [], sameUserAs: owner, existingPasswordKey: `mysql.${owner}` };
      continue;
    }
    owners.set(`${name}@${host}`, role);
    // The provider cannot read a password back: without ignoreChanges the import would not match, and
    // an update would replace the password the old site still uses.
    users[role] = {
      ...decision("mysql:index/user:User", name, mysqlMode, `${name}@${host}`, ["plaintextPassword", "password"]),
      host,
      existingPasswordKey: `mysql.${role}`,
    };
  }
  const grants: AdoptionPlan["mysql"]["grants"] = {};
  for (const role of mysqlRoles(services))
    grants[role] = adopt?.mysql?.users?.[role] !== undefined && mysqlMode === "reference" ? "reference" : "create";

  // MongoDB
  const mongoMode = adopt?.mongodb?.mode ?? "import";
  const derivedMongo = mongoDatabaseNames(instanceId);
  const mongoDatabases = {
    main: adopt?.mongodb?.databases?.main ?? derivedMongo.main,
    forum: adopt?.mongodb?.databases?.forum ?? derivedMongo.forum,
  };
  const adoptedMongoUser = adopt?.mongodb?.user;
  let mongoUser: AdoptionPlan["mongodb"]["user"];
  if (adoptedMongoUser === undefined) {
    mongoUser = {
      ...decision("mongodbatlas:index/databaseUser:DatabaseUser", mongoUserName(instanceId), "create", undefined, []),
      authDatabase: DEFAULT_MONGO_AUTH_DATABASE,
    };
  } else {
    const name = typeof adoptedMongoUser === "string" ? adoptedMongoUser : adoptedMongoUser.name;
    const authDatabase =
      typeof adoptedMongoUser === "string" ? DEFAULT_MONGO_AUTH_DATABASE : (adoptedMongoUser.authDatabase ?? DEFAULT_MONGO_AUTH_DATABASE);
    // The program labels the users it makes; an adopted one has its own description (or none), and an
    // import whose inputs differ from the user fails.
    const importId = mongoMode === "import" ? atlasDatabaseUserImportId(context.mongodbProjectId ?? "", name, authDatabase) : undefined;
    mongoUser = {
      ...decision("mongodbatlas:index/databaseUser:DatabaseUser", name, mongoMode, importId, keep ? ["password", "roles", "scopes", "description"] : ["password", "description"]),
      authDatabase,
      existingPasswordKey: "mongodb",
    };
  }

  // RabbitMQ
  const rabbitMode = adopt?.rabbitmq?.mode ?? "import";
  const adoptedVhost = adopt?.rabbitmq?.vhost;
  const vhostName = adoptedVhost ?? rabbitVhostName(instanceId);
  const vhost =
    adoptedVhost === undefined
      ? decision("rabbitmq:index/vHost:VHost", vhostName, "create", undefined, [])
      : decision("rabbitmq:index/vHost:VHost", vhostName, rabbitMode, vhostName, []);
  const rabbitUsers = {} as Record<RabbitRole, ResourceDecision>;
  const permissions = {} as Record<RabbitRole, ResourceDecision>;
  for (const role of RABBIT_ROLES) {
    const adoptedUser = adopt?.rabbitmq?.users?.[role];
    const userName = adoptedUser ?? rabbitUserName(instanceId, role);
    if (adoptedUser === undefined) {
      rabbitUsers[role] = decision("rabbitmq:index/user:User", userName, "create", undefined, []);
    } else {
      rabbitUsers[role] = {
        ...decision("rabbitmq:index/user:User", userName, rabbitMode, userName, keep ? ["password", "tags"] : ["password"]),
        existingPasswordKey: `rabbitmq.${role}`,
      };
    }
    // Permissions exist for an adopted user on an adopted vhost only; anything else is new.
    const existing = adoptedUser !== undefined && adoptedVhost !== undefined;
    permissions[role] = existing
      ? decision("rabbitmq:index/permissions:Permissions", `${userName}@${vhostName}`, rabbitMode, `${userName}@${vhostName}`, keep ? ["permissions"] : [])
      : decision("rabbitmq:index/permissions:Permissions", `${userName}@${vhostName}`, "create", undefined, []);
  }

  return {
    mysql: { databases, users, grants },
    mongodb: { databases: mongoDatabases, user: mongoUser },
    rabbitmq: { vhost, users: rabbitUsers, permissions },
  };
}

/**
 * The actual MySQL names (adopted or derived) and account hosts an instance
 * uses, for instanceMysqlGrants' overrides and the grant audit.
 */
export function mysqlNamesOf(plan: Pick<AdoptionPlan, "mysql">): {
  databases: Partial<Record<MysqlDatabaseKey, string>>;
  users: Partial<Record<MysqlRole, string>>;
  hosts: Partial<Record<MysqlRole, string>>;
} {
  const databases: Partial<Record<MysqlDatabaseKey, string>> = {};
  for (const [key, value] of Object.entries(plan.mysql.databases) as Array<[MysqlDatabaseKey, ResourceDecision]>) databases[key] = value.name;
  const users: Partial<Record<MysqlRole, string>> = {};
  const hosts: Partial<Record<MysqlRole, string>> = {};
  for (const [role, value] of Object.entries(plan.mysql.users) as Array<[MysqlRole, MysqlUserDecision]>) {
    users[role] = value.name;
    hosts[role] = value.host;
  }
  return { databases, users, hosts };
}

/** A decision's Pulumi resource options: the import id and what the program must leave alone; none when created. */
export function adoptionOptions(decision: ResourceDecision): Pick<CustomResourceOptions, "import" | "ignoreChanges"> {
  if (decision.action !== "import" || decision.importId === undefined) return {};
  return { import: decision.importId, ...(decision.ignoreChanges.length > 0 ? { ignoreChanges: [...decision.ignoreChanges] } : {}) };
}
