import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { checkMatrix } from "../config/matrix/check";
import { versionMatrix } from "../config/matrix/data";
import type { Credentials } from "../config/schema";
import { isPlainObject, own } from "../config/json";
import { isSecureValue, namesSecret } from "../config/secret-names";
import { INSTANCE_KEY, NAMESPACE, type StackConfig, type ValidateOptions, validateStackConfig } from "../config/stack-config";
import { readStackFile } from "../config/stack-file";
import { ConfigProblems } from "../config/problems";
import { configurationAllowlist, loadWatchedForks, WatchedForksFileError } from "./generator/watched-forks";
import { isConfigSecret } from "./sdk-internals";

/** The operator's allowlist of configuration repositories and playbooks for generated sandboxes. */
const WATCHED_FORKS_FILE = path.resolve(__dirname, "..", "config", "watched-forks.yaml");

export { ConfigProblems };

export interface LoadedConfig {
  config: StackConfig;
  credentials?: pulumi.Output<Credentials>;
  /** Accepted, but probably not meant (an extraSettings key no role reads). */
  warnings: string[];
}

/**
 * Reads this stack's configuration as the Pulumi engine hands it over (Pulumi.yaml
 * project values merged with Pulumi.<stack>.yaml), checks the version matrix and
 * the configuration, and returns it resolved. The same path runs under the CLI and
 * in the offline plan, which feeds the engine's config through `setAllConfig`.
 */
export function loadStackConfig(): LoadedConfig {
  const matrixReport = checkMatrix(versionMatrix);
  if (matrixReport.errors.length > 0)
    throw new ConfigProblems(matrixReport.errors.map((e) => `version matrix: ${e}`));

  const values: Record<string, unknown> = {};
  for (const [key, text] of Object.entries(pulumi.runtime.allConfig())) {
    if (!key.startsWith(`${NAMESPACE}:`)) continue;
    const value = parseConfigValue(text);
    // Secret credentials are validated by key name only; their values stay inside a secret Output.
    // Plain ones go through as they are, so each plain-text value is named with the command that fixes it.
    if (key === `${NAMESPACE}:credentials` && isConfigSecret(key)) values[key] = secureStandIns(value);
    else if (key === INSTANCE_KEY && isConfigSecret(key)) values[key] = markSecureLeaves(value, stackFileShape(key), false);
    else values[key] = value;
  }
  const result = validateStackConfig(values, { stack: pulumi.getStack(), ...programValidateOptions() });
  if (!result.ok) throw new ConfigProblems(result.problems);

  const credentials = values[`${NAMESPACE}:credentials`]
    ? new pulumi.Config(NAMESPACE).requireSecretObject<Credentials>("credentials")
    : undefined;
  return { config: result.config, warnings: result.warnings, ...(credentials ? { credentials } : {}) };
}

/**
 * The engine hands the instance over decrypted and says only that the key holds a
 * secret somewhere. The stack file says where: each leaf that is `secure:` there
 * becomes `{secure: <decrypted value>}` here, the shape validation and resolution
 * read (and the offline plan hands over). Without a readable stack file, string
 * values under a key that names a secret are taken as the secret ones.
 */
export function markSecureLeaves(value: unknown, shape: unknown, underSecretName: boolean): unknown {
  if (isSecureValue(value)) return value;
  if (shape !== undefined && isSecureValue(shape)) return { secure: typeof value === "string" ? value : JSON.stringify(value) };
  if (Array.isArray(value))
    return value.map((item, index) => markSecureLeaves(item, Array.isArray(shape) ? (shape[index] ?? null) : shapeBelow(shape), underSecretName));
  if (isPlainObject(value))
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, markSecureLeaves(v, isPlainObject(shape) ? (own(shape, k) ?? null) : shapeBelow(shape), underSecretName || namesSecret(k))]),
    );
  if (shape === undefined && underSecretName && typeof value === "string") return { secure: value };
  return value;
}

/** undefined (no stack file: guess by name) stays undefined; a known shape that ends here means "not secret below". */
const shapeBelow = (shape: unknown): unknown => (shape === undefined ? undefined : null);

function stackFileShape(key: string): unknown {
  try {
    return readStackFile(pulumi.getStack()).values[key];
  } catch {
    return undefined;
  }
}

/**
 * What the program validates a stack with beyond its own file: the operator's
 * allowlist of configuration repositories and playbooks for generated sandboxes.
 */
export function programValidateOptions(): ValidateOptions {
  try {
    return { configurationAllowlist: configurationAllowlist(loadWatchedForks(WATCHED_FORKS_FILE)) };
  } catch (error) {
    if (error instanceof WatchedForksFileError) throw new ConfigProblems(error.message.split("\n"));
    throw error;
  }
}

/** The shape of a secret value with each leaf a `secure:` stand-in, as it reads in a stack file. */
function secureStandIns(value: unknown): unknown {
  if (typeof value === "object" && value !== null && !Array.isArray(value))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, secureStandIns(v)]));
  return { secure: "" };
}

function parseConfigValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
