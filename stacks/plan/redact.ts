import * as pulumi from "@pulumi/pulumi";

/**
 * Turns values as the Pulumi SDK serializes them (secrets, unknowns, resource
 * references, assets wrapped in signature objects) into plain JSON for the plan:
 * secrets become "[secret]", unknowns "[unknown]", references their URN.
 */

const SIG = pulumi.runtime.specialSigKey;
export const SECRET = "[secret]";
export const UNKNOWN = "[unknown]";

export function redactSerialized(value: unknown): unknown {
  if (value === pulumi.runtime.unknownValue) return UNKNOWN;
  if (Array.isArray(value)) return value.map(redactSerialized);
  if (typeof value !== "object" || value === null) return value;
  const record = value as Record<string, unknown>;
  const sig = record[SIG];
  if (sig === pulumi.runtime.specialSecretSig) return SECRET;
  if (sig === pulumi.runtime.specialResourceSig) return String(record.urn);
  if (sig === pulumi.runtime.specialOutputValueSig) {
    if (record.secret === true) return SECRET;
    return "value" in record ? redactSerialized(record.value) : UNKNOWN;
  }
  if (sig === pulumi.runtime.specialAssetSig || sig === pulumi.runtime.specialArchiveSig) {
    const { [SIG]: _sig, ...rest } = record;
    return { asset: redactSerialized(rest) };
  }
  const result: Record<string, unknown> = {};
  for (const key of Object.keys(record).sort()) result[key] = redactSerialized(record[key]);
  return result;
}

/** Resolves any Input (nested Outputs included) to plain JSON, secrets as "[secret]". */
export async function resolveRedacted(value: pulumi.Input<unknown>): Promise<unknown> {
  const serialized = await pulumi.runtime.serializeProperty("artifact", value, new Set(), {
    keepOutputValues: false,
  });
  return redactSerialized(serialized);
}
