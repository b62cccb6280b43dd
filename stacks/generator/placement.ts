import { parse } from "yaml";
import { chooseMysqlServer } from "../../config/names";
import { isPlainObject } from "../../config/json";
import type { SandboxInstanceConfig } from "./types";

/**
 * Where a generated sandbox with persistent databases keeps its data. The choice
 * is written into the stack file the generator creates, so that a server added
 * to the fleet later never moves it: the server its existing file names, or, for
 * a new file, the one rendezvous hashing picks today over the fleet's servers.
 * Undefined when the fleet has no server (validation then says what to add).
 */
export function sandboxMysqlServer(stack: string, previousFile: string | undefined, projectConfig: Record<string, unknown>): string | undefined {
  const pinned = pinnedServerOf(previousFile);
  if (pinned !== undefined) return pinned;
  const servers = projectConfig["openedx-im:mysqlServers"];
  const names = Array.isArray(servers) ? servers.filter(isPlainObject).map((server) => server.name).filter((name): name is string => typeof name === "string") : [];
  return names.length > 0 ? chooseMysqlServer(stack, names) : undefined;
}

/** `config` pinned to `server` when its databases are persistent; the key sits after `databases` in the file. */
export function withMysqlServer(config: SandboxInstanceConfig, server: string | undefined): SandboxInstanceConfig {
  if (config.databases !== "persistent" || server === undefined) return config;
  const { mysqlServer: _previous, ...rest } = config;
  return Object.fromEntries(
    Object.entries(rest).flatMap(([key, value]) => (key === "databases" ? [[key, value], ["mysqlServer", server]] : [[key, value]])),
  ) as unknown as SandboxInstanceConfig;
}

/** The `mysqlServer` an existing generated stack file names, if any (a file that does not parse names none). */
function pinnedServerOf(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  try {
    const document: unknown = parse(text, { maxAliasCount: 10 });
    const config = isPlainObject(document) ? document.config : undefined;
    const instance = isPlainObject(config) ? config["openedx-im:instance"] : undefined;
    const server = isPlainObject(instance) ? instance.mysqlServer : undefined;
    return typeof server === "string" && server !== "" ? server : undefined;
  } catch {
    return undefined;
  }
}
