import * as pulumi from "@pulumi/pulumi";
import { checkMatrix } from "../config/matrix/check";
import { versionMatrix } from "../config/matrix/data";
import type { Credentials } from "../config/schema";
import { NAMESPACE, type StackConfig, validateStackConfig } from "../config/stack-config";
import { ConfigProblems } from "../config/problems";
import { isConfigSecret } from "./sdk-internals";

export { ConfigProblems };

export interface LoadedConfig {
  config: StackConfig;
  credentials?: pulumi.Output<Credentials>;
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
    values[key] = key === `${NAMESPACE}:credentials` && isConfigSecret(key) ? secureStandIns(value) : value;
  }
  const result = validateStackConfig(values, { stack: pulumi.getStack() });
  if (!result.ok) throw new ConfigProblems(result.problems);

  const credentials = values[`${NAMESPACE}:credentials`]
    ? new pulumi.Config(NAMESPACE).requireSecretObject<Credentials>("credentials")
    : undefined;
  return { config: result.config, ...(credentials ? { credentials } : {}) };
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
