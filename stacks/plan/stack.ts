import * as pulumi from "@pulumi/pulumi";
import { setOwn } from "../../config/json";
import { isSecureValue } from "../../config/secret-names";
import { INSTANCE_KEY, validateStackConfig } from "../../config/stack-config";
import { PROJECT_ROOT, readStackFile } from "../../config/stack-file";
import { ConfigProblems, programValidateOptions } from "../load-config";
import { runProgram } from "../program";
import { type Plan, renderPlan } from "./render";
import { SECRET } from "./redact";

/**
 * Renders `Pulumi.<stack>.yaml` offline: the engine's config is fed from the
 * project and stack files (values the CLI would decrypt print as "[secret]"),
 * then the real program runs under mocks. Throws ConfigProblems for invalid config.
 */
export async function renderStack(
  stack: string,
  root = PROJECT_ROOT,
  options: { onWarning?: (warning: string) => void } = {},
): Promise<Plan> {
  const file = readStackFile(stack, root);
  // Checked here as well as by the program: a stack that fails inside the Pulumi runtime leaves
  // registrations pending in a process that renders many stacks (render-many), and the file
  // shows what the engine's config cannot (a plain-text credential beside secret ones).
  const result = validateStackConfig(file.values, { stack, ...programValidateOptions() });
  if (!result.ok) throw new ConfigProblems(result.problems);

  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [key, value] of Object.entries(file.values)) {
    if (key === INSTANCE_KEY) {
      // The instance's secrets keep their place: each `secure:` leaf is handed over as
      // {secure: "[secret]"}, as the program marks them when it runs under the CLI.
      config[key] = JSON.stringify(secureStandIns(value));
      continue;
    }
    const { value: plain, secret } = replaceSecure(value);
    config[key] = typeof plain === "string" ? plain : JSON.stringify(plain);
    if (secret) secretKeys.push(key);
  }
  pulumi.runtime.setAllConfig(config, secretKeys);
  return renderPlan({ project: file.project, stack, program: () => runProgram({ onWarning: options.onWarning ?? printWarning }) });
}

/** On stderr, so that --json output stays one JSON object. */
function printWarning(warning: string): void {
  process.stderr.write(`warning: ${warning}\n`);
}

/** `secure:` values cannot be decrypted offline; they stand as "[secret]", still secret. */
function replaceSecure(value: unknown): { value: unknown; secret: boolean } {
  if (typeof value !== "object" || value === null) return { value, secret: false };
  if (Array.isArray(value)) {
    const items = value.map(replaceSecure);
    return { value: items.map((i) => i.value), secret: items.some((i) => i.secret) };
  }
  const record = value as Record<string, unknown>;
  if (Object.keys(record).length === 1 && typeof record.secure === "string") return { value: SECRET, secret: true };
  let secret = false;
  const result: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) {
    const inner = replaceSecure(v);
    setOwn(result, k, inner.value);
    secret ||= inner.secret;
  }
  return { value: result, secret };
}

function secureStandIns(value: unknown): unknown {
  if (isSecureValue(value)) return { secure: SECRET };
  if (Array.isArray(value)) return value.map(secureStandIns);
  if (typeof value === "object" && value !== null)
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, secureStandIns(v)]));
  return value;
}
