// The shape of a policy, in valibot: one schema per value the document holds (an action,
// a target, the isolation flag, a rule, the rule list), composed into the document's.
// The reader (read-policy.ts) checks every value it reads against its piece here, after
// reading it the way OpenSandbox's sidecar does (keys in any case, actions trimmed and
// in any case); the composed schema, the canonical form `validate --strict` accepts, is
// what `make schema` turns into schema/policy.schema.json for editors. One definition, so the editor's idea of a valid
// policy and the validator's cannot drift apart. Pure.
import * as v from "valibot";

export const POLICY_FIELDS = ["defaultAction", "require_full_isolation", "requireFullIsolation", "egress"] as const;
export const RULE_FIELDS = ["action", "target"] as const;

// valibot names received types by constructor ("Object", "Array"); say it in YAML terms
const describe = (received: string) =>
  received === "undefined" || received === "null" ? "nothing" : received === "Object" ? "a mapping" : received === "Array" ? "a list" : received;

/** allow or deny, once trimmed and lowercased (the reader does that first) */
export const actionSchema = v.picklist(["allow", "deny"], (i) => `expected "allow" or "deny", got ${describe(i.received)}`);

export const stringSchema = v.string((i) => `expected a string, got ${describe(i.received)}`);

/** a name, wildcard, address or CIDR (which of them, target.ts decides), once trimmed */
export const targetSchema = v.pipe(stringSchema, v.nonEmpty("target is empty"));

export const isolationSchema = v.boolean((i) => `expected true or false, got ${describe(i.received)}`);

/** a rule as `validate --strict` wants it: both fields (serve reads an absent action as deny) */
export const ruleSchema = v.looseObject(
  { action: actionSchema, target: targetSchema },
  (i) => `expected a rule ({action, target}), got ${describe(i.received)}`,
);

export const rulesSchema = v.array(v.unknown(), (i) => `expected a list of rules, got ${describe(i.received)}`);

export const policySchema = v.looseObject(
  {
    defaultAction: v.nullish(actionSchema),
    require_full_isolation: v.nullish(isolationSchema),
    requireFullIsolation: v.nullish(isolationSchema),
    egress: v.nullish(v.array(ruleSchema, (i) => `expected a list of rules, got ${describe(i.received)}`)),
  },
  (i) => `expected a policy mapping (defaultAction, egress, ...), got ${describe(i.received)}`,
);

