// The shape of a policy document, checked with valibot, plus the unknown-field pass
// valibot cannot phrase well (we want a did-you-mean). Every issue is collected
// (abortEarly: false) because the contract asks for every problem, not the first.
// Field names follow OpenSandbox's NetworkPolicy; `null` for a field means "not set",
// as it does for the Go sidecar's JSON decoding.
import * as v from "valibot";
import { didYouMean } from "./did-you-mean.ts";
import type { PathKey } from "./problems.ts";

export const POLICY_FIELDS = ["defaultAction", "require_full_isolation", "requireFullIsolation", "egress"] as const;
export const RULE_FIELDS = ["action", "target"] as const;

// valibot names received types by constructor ("Object", "Array"); say it in YAML terms
const describe = (received: string) =>
  received === "undefined" ? "nothing" : received === "Object" ? "a mapping" : received === "Array" ? "a list" : received;

const action = v.picklist(["allow", "deny"], (i) => `expected "allow" or "deny", got ${describe(i.received)}`);
const flag = v.boolean((i) => `expected true or false, got ${describe(i.received)}`);

const rule = v.looseObject(
  { action, target: v.string((i) => `expected a string, got ${describe(i.received)}`) },
  (i) => (i.received === "undefined" ? "missing" : `expected a rule ({action, target}), got ${describe(i.received)}`),
);

export const policySchema = v.looseObject(
  {
    defaultAction: v.nullish(action),
    require_full_isolation: v.nullish(flag),
    requireFullIsolation: v.nullish(flag),
    egress: v.nullish(v.array(rule, (i) => `expected a list of rules, got ${describe(i.received)}`)),
  },
  (i) => `expected a policy mapping (defaultAction, egress, ...), got ${describe(i.received)}`,
);

export type PolicyDoc = v.InferOutput<typeof policySchema>;

export interface ShapeIssue {
  path: PathKey[];
  /** true when the issue is about the key itself (unknown or missing field) */
  key: boolean;
  code: string;
  message: string;
  hint?: string;
}

export function checkShape(value: unknown): { doc?: PolicyDoc; issues: ShapeIssue[] } {
  const r = v.safeParse(policySchema, value, { abortEarly: false });
  // valibot's object schemas accept arrays; a rule that is a list gets one issue of its own
  const egress = isPlainObject(value) && Array.isArray(value.egress) ? value.egress : [];
  const listRule = (i: v.BaseIssue<unknown>) => {
    const p = i.path ?? [];
    return p.length > 2 && p[0]!.key === "egress" && Array.isArray(egress[p[1]!.key as number]);
  };
  const issues: ShapeIssue[] = (r.issues ?? []).filter((i) => !listRule(i)).map(toIssue);
  egress.forEach((item, i) => {
    if (Array.isArray(item)) issues.push({ path: ["egress", i], key: false, code: "bad-value", message: "expected a rule ({action, target}), got a list" });
  });
  issues.push(...unknownFields(value));
  return r.success && issues.length === 0 ? { doc: r.output, issues } : { issues };
}

function toIssue(i: v.BaseIssue<unknown>): ShapeIssue {
  const path = (i.path ?? []).map((p) => p.key as PathKey);
  const last = path[path.length - 1];
  if (i.message === "missing") {
    const what = last === "action" ? '"allow" or "deny"' : "a name, address or CIDR";
    // the missing field has no position of its own: report it at the rule
    return { path: path.slice(0, -1), key: false, code: "missing-field", message: `rule has no "${String(last)}"`, hint: `add ${String(last)}: ${what}` };
  }
  let hint: string | undefined;
  if ((last === "action" || last === "defaultAction") && typeof i.input === "string") {
    const m = didYouMean(i.input, ["allow", "deny"]);
    if (m) hint = `write "${m}" (lowercase)`;
  } else if (path.length === 2 && path[0] === "egress" && typeof i.input === "string") {
    hint = `write { action: allow, target: ${i.input} } (or deny)`;
  } else if (typeof i.input === "string" && /^(yes|no|on|off|true|false)$/i.test(i.input)) {
    hint = `write true or false without quotes`;
  }
  return { path, key: false, code: "bad-value", message: i.message, ...(hint ? { hint } : {}) };
}

function unknownFields(value: unknown): ShapeIssue[] {
  const out: ShapeIssue[] = [];
  const scan = (obj: unknown, known: readonly string[], at: PathKey[], where: string) => {
    if (!isPlainObject(obj)) return;
    for (const k of Object.keys(obj)) {
      if (known.includes(k)) continue;
      const m = didYouMean(k, known);
      out.push({
        path: [...at, k],
        key: true,
        code: "unknown-field",
        message: `unknown field "${k}" in ${where}`,
        hint: m ? `did you mean "${m}"?` : `${where === "a rule" ? "a rule" : "a policy"} has only: ${known.join(", ")}`,
      });
    }
  };
  scan(value, POLICY_FIELDS, [], "the policy");
  const egress = isPlainObject(value) ? value.egress : undefined;
  if (Array.isArray(egress)) egress.forEach((r, i) => scan(r, RULE_FIELDS, ["egress", i], "a rule"));
  return out;
}

export function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x) && !(x instanceof Uint8Array);
}
