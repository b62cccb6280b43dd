import { isPlainObject } from "../config/json";
import { versionMatrix } from "../config/matrix/data";
import { INSTANCE_KEY, validateStackConfig } from "../config/stack-config";
import { PROJECT_ROOT, listStacks, readStackFile } from "../config/stack-file";
import { deriveDomains } from "../config/domains";
import { chooseMysqlServer } from "../config/names";

/**
 * The fleet as its stack files describe it: one row per `Pulumi.<stack>.yaml`, read
 * offline. A stack file that does not parse or validate is a row with its problems
 * (and what could still be read of it), never an exception: one bad stack never hides
 * the others.
 */

export interface FleetAppServer {
  id: string;
  release: string;
  provisioner: string;
}

export interface FleetRow {
  stack: string;
  /** Empty when the stack file is valid. */
  problems: string[];
  name?: string;
  lifecycle?: string;
  deployment?: string;
  stage?: string;
  appServers: FleetAppServer[];
  activeAppServer?: string;
  domains: string[];
  databases?: string;
  /** The MySQL server persistent databases live on: pinned, or chosen by hashing the stack name. */
  mysqlServer?: string;
  data?: { retainOnDelete: boolean; protect: boolean };
}

export function readInventory(root = PROJECT_ROOT): FleetRow[] {
  return listStacks(root).map((stack) => inventoryRow(stack, root));
}

export function inventoryRow(stack: string, root = PROJECT_ROOT): FleetRow {
  let values: Record<string, unknown>;
  try {
    values = readStackFile(stack, root).values;
  } catch (error) {
    return { stack, problems: [(error as Error).message], appServers: [], domains: [] };
  }
  const result = validateStackConfig(values);
  if (!result.ok) return { ...rawFacts(stack, values[INSTANCE_KEY]), problems: result.problems };

  const { instance, mysqlServers } = result.config;
  const domains = deriveDomains({
    subDomain: instance.subDomain,
    baseDomain: instance.baseDomain,
    options: instance.domains,
    enabled: { ecommerce: instance.services.ecommerce, discovery: instance.services.discovery },
  }).map((d) => d.fqdn);
  const mysqlServer =
    instance.databases === "persistent"
      ? (instance.mysqlServer ?? chooseMysqlServer(stack, mysqlServers.map((s) => s.name)))
      : undefined;
  return {
    stack,
    problems: [],
    name: instance.name,
    lifecycle: instance.lifecycle,
    ...(instance.deployment !== undefined ? { deployment: instance.deployment } : {}),
    ...(instance.stage !== undefined ? { stage: instance.stage } : {}),
    appServers: instance.appServers.map((a) => ({ id: a.id, release: a.release.release, provisioner: a.release.provisioner })),
    ...(instance.activeAppServer !== undefined ? { activeAppServer: instance.activeAppServer } : {}),
    domains,
    databases: instance.databases,
    ...(mysqlServer !== undefined ? { mysqlServer } : {}),
    data: instance.data,
  };
}

/** What an invalid stack file still says plainly (strings only): enough to find it in a listing. */
function rawFacts(stack: string, raw: unknown): Omit<FleetRow, "problems"> {
  const row: Omit<FleetRow, "problems"> = { stack, appServers: [], domains: [] };
  if (!isPlainObject(raw)) return row;
  const text = (key: string) => (typeof raw[key] === "string" ? (raw[key] as string) : undefined);
  const name = text("name");
  const lifecycle = text("lifecycle");
  const deployment = text("deployment");
  const stage = text("stage");
  if (name !== undefined) row.name = name;
  if (lifecycle !== undefined) row.lifecycle = lifecycle;
  if (deployment !== undefined) row.deployment = deployment;
  if (stage !== undefined) row.stage = stage;
  const release = text("release");
  if (release !== undefined && lifecycle !== "production")
    row.appServers = [{ id: "", release, provisioner: versionMatrix.releases[release]?.provisioner ?? "" }];
  return row;
}
