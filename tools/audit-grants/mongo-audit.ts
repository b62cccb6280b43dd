/**
 * The grant audit's decisions for MongoDB, over `usersInfo`-shaped documents:
 * an instance's user should hold exactly `readWrite` on the instance's main and
 * forum databases. Pure; mongo-server.ts does the talking.
 */

export interface MongoInstanceScope {
  instanceId: string;
  user: string;
  /** Where the user is defined: a MongoDB user is its name AND this database. */
  authDatabase: string;
  /** Adopted with `mode: reference`: used by the stack, never changed. */
  referenced: boolean;
  /** The main and forum databases. */
  databases: string[];
}

export interface MongoRole {
  role: string;
  db: string;
}

/** The fields of a `usersInfo` entry the audit reads. */
export interface MongoUserDocument {
  user: string;
  db: string;
  roles: MongoRole[];
}

export type MongoFindingKind = "cluster-wide" | "admin-database" | "other-instance" | "foreign-database" | "unexpected-role" | "missing";

export interface MongoFinding {
  kind: MongoFindingKind;
  message: string;
}

/** As for MySQL (mysql-audit.ts Disposition): only `managed` users are ever changed. */
export type MongoDisposition = "managed" | "other-database" | "reference" | "connecting-account";

export interface MongoUserPlan {
  instanceId: string;
  user: string;
  /** Where the user is defined (and where updateUser must run). */
  authDatabase: string;
  disposition: MongoDisposition;
  note?: string;
  /** Counted in the exit status. */
  findings: MongoFinding[];
  /** Reported, not counted: users the audit leaves alone. */
  warnings: MongoFinding[];
  /** What the user's roles become with --fix: replaces the whole list in one updateUser. */
  desiredRoles: MongoRole[];
}

/** Built-in roles that reach every database or the cluster itself. */
export const CLUSTER_WIDE_ROLES = new Set([
  "readAnyDatabase",
  "readWriteAnyDatabase",
  "userAdminAnyDatabase",
  "dbAdminAnyDatabase",
  "root",
  "clusterAdmin",
  "clusterManager",
  "clusterMonitor",
  "hostManager",
  "backup",
  "restore",
  "__system",
  "atlasAdmin",
  "enableSharding",
]);

export const INSTANCE_ROLE = "readWrite";

export function desiredMongoRoles(scope: MongoInstanceScope): MongoRole[] {
  return [...new Set(scope.databases)].map((db) => ({ role: INSTANCE_ROLE, db }));
}

const describe = ({ role, db }: MongoRole): string => `${role}@${db}`;

export function planMongoUser(document: MongoUserDocument, scope: MongoInstanceScope, allInstances: MongoInstanceScope[]): MongoUserPlan {
  const findings: MongoFinding[] = [];
  const own = new Set(scope.databases);
  for (const role of document.roles) {
    if (own.has(role.db) && role.role === INSTANCE_ROLE) continue;
    if (CLUSTER_WIDE_ROLES.has(role.role)) {
      findings.push({ kind: "cluster-wide", message: `${describe(role)} reaches every database (or the cluster)` });
    } else if (role.db === "admin") {
      // Any role defined on admin may carry privileges on every database: custom roles included.
      findings.push({ kind: "admin-database", message: `${describe(role)}: a role on admin can reach beyond the instance` });
    } else if (own.has(role.db)) {
      findings.push({ kind: "unexpected-role", message: `${describe(role)}: the instance needs ${INSTANCE_ROLE} only` });
    } else {
      const owners = allInstances.filter((other) => other.instanceId !== scope.instanceId && other.databases.includes(role.db));
      findings.push(
        owners.length > 0
          ? { kind: "other-instance", message: `${describe(role)} reaches instance ${owners.map((other) => other.instanceId).join(", ")}` }
          : { kind: "foreign-database", message: `${describe(role)}: not a database of this instance` },
      );
    }
  }
  const desiredRoles = desiredMongoRoles(scope);
  for (const wanted of desiredRoles)
    if (!document.roles.some((role) => role.role === wanted.role && role.db === wanted.db))
      findings.push({ kind: "missing", message: `missing ${describe(wanted)}` });
  return { instanceId: scope.instanceId, user: document.user, authDatabase: document.db, disposition: "managed", findings, warnings: [], desiredRoles };
}

export interface MongoUserRef {
  user: string;
  db: string;
}

/**
 * Which users are whose: an instance's user is its name AND its authentication database
 * (adopted or `admin`). The same name in another database is not the instance's user: what it
 * holds beyond the instance is reported and counted, never changed. Referenced users and the
 * user the audit is authenticated as are left alone (what they hold is reported as warnings).
 */
export function planMongoServer(documents: MongoUserDocument[], scopes: MongoInstanceScope[], connectedAs: MongoUserRef[]): MongoUserPlan[] {
  const plans: MongoUserPlan[] = [];
  const isConnecting = (document: MongoUserDocument): boolean => connectedAs.some((ref) => ref.user === document.user && ref.db === document.db);
  for (const document of documents) {
    const own = scopes.find((scope) => scope.user === document.user && scope.authDatabase === document.db);
    const scope = own ?? scopes.find((candidate) => candidate.user === document.user);
    if (!scope) continue;
    const plan = planMongoUser(document, scope, scopes);
    const beyond = plan.findings.filter((finding) => finding.kind !== "missing" && finding.kind !== "unexpected-role");
    const leftAlone = (disposition: Exclude<MongoDisposition, "managed">, note: string, counted: boolean): MongoUserPlan => ({
      ...plan,
      disposition,
      note,
      findings: counted ? beyond : [],
      warnings: counted ? [] : beyond,
    });
    if (isConnecting(document)) plans.push(leftAlone("connecting-account", "the user this audit is authenticated as: never changed", false));
    else if (!own) plans.push(leftAlone("other-database", `the instance's user name in another database (the instance's user is in ${scope.authDatabase}): --fix never changes it`, true));
    else if (scope.referenced) plans.push(leftAlone("reference", "adopted with mode: reference: the stack and the audit leave it alone", false));
    else plans.push(plan);
  }
  return plans;
}

/** The updateUser calls --fix makes: only for the instances' own users (name AND database) with findings. */
export function mongoUpdates(plans: MongoUserPlan[]): MongoUserPlan[] {
  return plans.filter((plan) => plan.disposition === "managed" && plan.findings.length > 0);
}
