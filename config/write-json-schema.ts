import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { fleetSchemas, instanceSchema } from "./schema";
import { PROJECT_ROOT } from "./stack-file";

/**
 * Writes schema/stack-config.schema.json: the JSON Schema of a Pulumi.<stack>.yaml,
 * from the same zod schemas the program validates with, so an editor underlines a
 * typo before anything runs. Secrets are `{secure: ...}` objects written by the CLI.
 */
export function stackFileJsonSchema(): Record<string, unknown> {
  const secure = { type: "object", properties: { secure: { type: "string" } }, required: ["secure"], additionalProperties: false };
  const properties: Record<string, unknown> = { "openedx-im:instance": z.toJSONSchema(instanceSchema, { io: "input" }) };
  for (const [key, schema] of Object.entries(fleetSchemas)) {
    if (key === "credentials") {
      properties[`openedx-im:${key}`] = { anyOf: [secure, { type: "object", additionalProperties: { anyOf: [secure, { type: "object", additionalProperties: secure }] } }] };
      continue;
    }
    properties[`openedx-im:${key}`] = z.toJSONSchema(schema as z.ZodType, { io: "input" });
  }
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    title: "openedx-im stack file (Pulumi.<stack>.yaml)",
    type: "object",
    properties: {
      config: {
        type: "object",
        properties,
        // Keys of other namespaces (openstack:, gandi:, pulumi:) belong to the providers.
        patternProperties: { "^(?!openedx-im:).+:.+$": {} },
        additionalProperties: false,
      },
      secretsprovider: { type: "string" },
      encryptionsalt: { type: "string" },
      encryptedkey: { type: "string" },
      environment: {},
    },
    additionalProperties: false,
  };
}

if (require.main === module) {
  const out = path.join(PROJECT_ROOT, "schema", "stack-config.schema.json");
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(stackFileJsonSchema(), null, 2) + "\n");
  process.stdout.write(`wrote ${path.relative(process.cwd(), out)}\n`);
}
