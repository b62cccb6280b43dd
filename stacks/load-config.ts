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
  let credentialsAreSecret = true;
  for (const [key, text] of Object.entries(pulumi.runtime.allConfig())) {
    if (!key.startsWith(`${NAMESPACE}:`)) continue;
    if (key === `${NAMESPACE}:credentials`) {
      credentialsAreSecret = isConfigSecret(key);
      // Only the key names are validated; the values stay inside a secret Output.
      values[key] = Object.fromEntries(Object.keys(parseConfigValue(text) as object).map((k) => [k, { secure: "" }]));
      continue;
    }
    values[key] = parseConfigValue(text);
  }
  const result = validateStackConfig(values);
  const problems = result.ok ? [] : [...result.problems];
  if (!credentialsAreSecret)
    problems.push(
      `${NAMESPACE}:credentials: holds plain text; set every value with: pulumi config set --secret --path '${NAMESPACE}:credentials.<key>' <value>`,
    );
  if (!result.ok || problems.length > 0) throw new ConfigProblems(problems);

  const credentials = values[`${NAMESPACE}:credentials`]
    ? new pulumi.Config(NAMESPACE).requireSecretObject<Credentials>("credentials")
    : undefined;
  return { config: result.config, ...(credentials ? { credentials } : {}) };
}

function parseConfigValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
