// The policy's JSON Schema, generated from the valibot schema the validator itself uses
// (src/core/policy/schema.ts) with @valibot/to-json-schema, so editors check policies
// against the same shape egressctl does. `make schema` writes schema/policy.schema.json;
// test/unit/specs/policy-schema.test.ts fails while that file is stale.
//
// Two things valibot's schema leaves to code are added here, from the same constants:
// unknown fields (valibot's loose objects accept them and the validator warns, naming a
// did-you-mean), which editors should flag; and a description for each field.
import { toJsonSchema } from "@valibot/to-json-schema";
import { POLICY_FIELDS, RULE_FIELDS, policySchema } from "../src/core/policy/schema.ts";

type Json = Record<string, any>;

export const SCHEMA_PATH = "schema/policy.schema.json";

const DESCRIPTIONS: Record<string, string> = {
  defaultAction: "What a name or address no rule matches gets: allow or deny (default deny).",
  require_full_isolation: "Refuse to run unless packets are filtered too (dns+nftables), instead of degrading.",
  requireFullIsolation: "The camelCase spelling of require_full_isolation.",
  egress: "The rules. Names: the first matching rule decides. Addresses and CIDRs: deny wins.",
  action: "allow or deny.",
  target: "An exact name (api.github.com), a wildcard over the names below one (*.pypi.org), an IPv4 or IPv6 address, or a CIDR.",
};

/** objects whose properties are exactly one of the field lists get additionalProperties: false */
function close(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(close);
  if (node === null || typeof node !== "object") return;
  const o = node as Json;
  if (o.type === "object" && o.properties) {
    const keys = Object.keys(o.properties).sort().join(",");
    if (keys === [...POLICY_FIELDS].sort().join(",") || keys === [...RULE_FIELDS].sort().join(",")) o.additionalProperties = false;
    for (const [k, v] of Object.entries(o.properties as Json)) if (DESCRIPTIONS[k]) (v as Json).description = DESCRIPTIONS[k];
  }
  for (const v of Object.values(o)) close(v);
}

export function policyJsonSchema(): Json {
  const generated = toJsonSchema(policySchema) as Json;
  close(generated);
  const { $schema, ...rest } = generated;
  return {
    $schema,
    title: "egressctl policy",
    description: "An egress policy for egressctl (docs/policy.md). Generated from the validator's schema by `make schema`; do not edit.",
    ...rest,
  };
}

export function policySchemaText(): string {
  return `${JSON.stringify(policyJsonSchema(), null, 2)}\n`;
}
