/**
 * Which instances the grant audit knows, and the names their data goes by:
 * from the stack files (instance id = stack name, services and `adopt` from the
 * config), or from a list file for instances that have no stack here.
 */
import { existsSync, readFileSync } from "node:fs";
import { parse } from "yaml";
import { z } from "zod";
import { type MysqlGrantSpec, instanceMysqlGrants, mergeGrants } from "../../components/mysql-grants";
import type { MysqlRole, ServiceFlags } from "../../config/names";
import { type AdoptConfig, type MysqlUserDecision, adoptSchema, mysqlNamesOf, planAdoption } from "../../config/adopt";
import { PROJECT_ROOT, listStacks, readStackFile } from "../../config/stack-file";
import { servicesSchema } from "../../config/schema";
import { INSTANCE_KEY, resolveServices, validateStackConfig } from "../../config/stack-config";
import type { ConfiguredAccount, MysqlInstanceScope } from "./mysql-audit";
import type { MongoInstanceScope } from "./mongo-audit";

export interface AuditInstance {
  id: string;
  mysql: MysqlInstanceScope;
  mongo: MongoInstanceScope;
}

export class InstancesError extends Error {}


/** A list file: stack names, or instances described in place (for sites with no stack file here). */
const listFileSchema = z.strictObject({
  instances: z.array(
    z.union([
      z.string().min(1),
      z.strictObject({ id: z.string().min(1), services: servicesSchema.optional(), adopt: adoptSchema.optional() }),
    ]),
  ),
});


export function auditInstance(id: string, services: ServiceFlags, adopt?: AdoptConfig): AuditInstance {
  // The audit only needs names: adopted names replace derived ones whatever the import/reference mode.
  const plan = planAdoption(id, services, adopt, { mongodbProjectId: "000000000000000000000000" });
  const names = mysqlNamesOf(plan);
  const grants: MysqlGrantSpec[] = mergeGrants(instanceMysqlGrants(id, services, names));
  // An account is its user name AND host; one account may serve several roles.
  const accounts: ConfiguredAccount[] = [];
  for (const [role, user] of Object.entries(plan.mysql.users) as Array<[MysqlRole, MysqlUserDecision]>) {
    const referenced = plan.mysql.grants[role] === "reference";
    const existing = accounts.find((account) => account.user === user.name && account.host.toLowerCase() === user.host.toLowerCase());
    if (existing) {
      existing.roles.push(role);
      existing.referenced ||= referenced;
    } else accounts.push({ user: user.name, host: user.host, roles: [role], referenced });
  }
  const mongoUser = plan.mongodb.user;
  return {
    id,
    mysql: { instanceId: id, databases: Object.values(names.databases), grants, accounts },
    mongo: {
      instanceId: id,
      user: mongoUser.name,
      authDatabase: mongoUser.authDatabase,
      referenced: mongoUser.action === "reference",
      databases: [plan.mongodb.databases.main, plan.mongodb.databases.forum],
    },
  };
}

function databasesOf(stack: string, root: string): string | undefined {
  const { result } = validStack(stack, root);
  return result.ok ? result.config.instance.databases : undefined;
}

/** The stack's validated configuration, or InstancesError naming its problems. */
function validStack(stack: string, root: string) {
  const file = readStackFile(stack, root);
  const result = validateStackConfig(file.values);
  if (!result.ok) throw new InstancesError(`Pulumi.${stack}.yaml is not valid:\n  ${result.problems.join("\n  ")}`);
  return { file, result };
}

function fromStack(stack: string, root: string): AuditInstance {
  const { file, result } = validStack(stack, root);
  const instanceValue = file.values[INSTANCE_KEY];
  // `adopt` is read here directly so the audit works whether or not the instance schema has it yet.
  const rawAdopt = typeof instanceValue === "object" && instanceValue !== null ? (instanceValue as Record<string, unknown>).adopt : undefined;
  const adopt = rawAdopt === undefined ? undefined : adoptSchema.safeParse(rawAdopt);
  if (adopt && !adopt.success)
    throw new InstancesError(`Pulumi.${stack}.yaml: ${INSTANCE_KEY}.adopt is not valid: ${adopt.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ")}`);
  return auditInstance(stack, result.config.instance.services, adopt?.data);
}


/**
 * `spec`: a list file (YAML or JSON, see listFileSchema), or stack names separated by commas;
 * undefined = every stack of the project whose databases are persistent: a stack with ephemeral
 * databases has no account on the shared servers (its names go to `leftOut`). Named, it is audited.
 */
export function loadInstances(spec: string | undefined, root = PROJECT_ROOT, leftOut: string[] = []): AuditInstance[] {
  let instances: AuditInstance[];
  if (spec === undefined) {
    const stacks = listStacks(root);
    const ephemeral = stacks.filter((stack) => validStack(stack, root).result.ok && databasesOf(stack, root) === "ephemeral");
    leftOut.push(...ephemeral);
    instances = stacks.filter((stack) => !ephemeral.includes(stack)).map((stack) => fromStack(stack, root));
  } else if (existsSync(spec)) {
    let document: unknown;
    try {
      document = parse(readFileSync(spec, "utf8"));
    } catch (error) {
      throw new InstancesError(`${spec}: not valid YAML or JSON (${(error as Error).message.split("\n")[0]})`);
    }
    const list = listFileSchema.safeParse(document);
    if (!list.success)
      throw new InstancesError(
        `${spec}: ${list.error.issues.map((issue) => `${issue.path.join(".") || "(top)"}: ${issue.message}`).join("; ")} — expected { instances: [stack name | { id, services?, adopt? }] }`,
      );
    instances = list.data.instances.map((entry) =>
      typeof entry === "string" ? fromStack(entry, root) : auditInstance(entry.id, resolveServices(entry.services), entry.adopt),
    );
  } else {
    const stacks = spec.split(",").map((stack) => stack.trim()).filter(Boolean);
    if (stacks.length === 0) throw new InstancesError("--instances: give a list file or stack names separated by commas");
    instances = stacks.map((stack) => fromStack(stack, root));
  }
  checkDistinct(instances);
  return instances;
}

/**
 * One account (user AND host) serving two instances cannot be scoped to either: refuse before
 * touching anything. The same user name on two hosts is two accounts (docs/migration.md).
 */
function checkDistinct(instances: AuditInstance[]): void {
  const ids = new Set<string>();
  const mysqlAccounts = new Map<string, string>();
  const mongoUsers = new Map<string, string>();
  for (const instance of instances) {
    if (ids.has(instance.id)) throw new InstancesError(`instance ${instance.id} is listed twice`);
    ids.add(instance.id);
    for (const account of instance.mysql.accounts) {
      const key = `${account.user}\u0000${account.host.toLowerCase()}`;
      const other = mysqlAccounts.get(key);
      if (other !== undefined && other !== instance.id)
        throw new InstancesError(`MySQL account '${account.user}'@'${account.host}' belongs to both ${other} and ${instance.id}; give each instance its own user`);
      mysqlAccounts.set(key, instance.id);
    }
    const mongoKey = `${instance.mongo.user}\u0000${instance.mongo.authDatabase}`;
    const other = mongoUsers.get(mongoKey);
    if (other !== undefined) throw new InstancesError(`MongoDB user ${instance.mongo.user} (in ${instance.mongo.authDatabase}) belongs to both ${other} and ${instance.id}`);
    mongoUsers.set(mongoKey, instance.id);
  }
}
