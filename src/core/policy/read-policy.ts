// Reads a parsed policy document (or, for PATCH, a bare list of rules) into the policy
// model, the way OpenSandbox's sidecar reads it (pkg/policy: ParsePolicy, normalizePolicy):
// field names in any case; actions and defaultAction in any case and with spaces around
// them; a rule without an action, or an empty defaultAction, meaning deny; spaces around a
// target trimmed; unknown fields ignored; any target that is neither an address nor a CIDR
// taken as a name, so a target egressctl cannot read as written (`x.com:443`) becomes a
// rule that matches nothing. What the sidecar refuses (a value of the wrong type, an
// action other than allow/deny, a rule without a target) is refused here too.
//
// Where the sidecar's meaning is unsafe, the safe one wins: an unknown defaultAction
// ("block") is deny here, where the sidecar forwards every name it does not deny while
// its packet filter drops by default.
//
// Every departure from the plain form is a Finding, weighed by judge.ts. Each value is
// checked against its piece of the valibot schema (schema.ts) once it is read; the
// messages are our own, in YAML terms. Pure.
import * as v from "valibot";
import { actionSchema, isolationSchema, POLICY_FIELDS, RULE_FIELDS, rulesSchema, stringSchema, targetSchema } from "./schema.ts";
import { parseTarget } from "./target.ts";
import type { Action, Rule } from "./types.ts";
import { readFields } from "./fields.ts";
import { goTrim } from "./go-text.ts";
import { formatPath, type PathKey } from "./problems.ts";
import type { Finding } from "./judge.ts";
import type { Source } from "./source.ts";

export { POLICY_FIELDS, RULE_FIELDS };

export interface PolicyRead {
  defaultAction: Action;
  requireFullIsolation: boolean;
  rules: Rule[];
  findings: Finding[];
}

/** The document (a mapping, or null for deny-all; anything else is fatal). */
export function readPolicy(src: Source): PolicyRead {
  const findings: Finding[] = [];
  const out: PolicyRead = { defaultAction: "deny", requireFullIsolation: false, rules: [], findings };
  const doc = src.value;
  if (doc === null || doc === undefined) return out;
  if (!isPlainObject(doc)) {
    const list = Array.isArray(doc);
    findings.push({ weight: "fatal", code: "bad-value", path: "", ...src.pos([]),
      message: list ? "the document is a list; a policy is a mapping with defaultAction and egress" : `expected a policy mapping (defaultAction, egress, ...), got ${describe(doc)}`,
      ...(list ? { hint: "put the rules under \"egress:\"" } : {}) });
    return out;
  }
  const { fields, findings: fieldFindings } = readFields(doc, POLICY_FIELDS, [], "the policy", src.pos);
  findings.push(...fieldFindings);
  const at = (field: string) => {
    const f = fields.get(field)!;
    return { path: formatPath([f.key]), ...src.pos([f.key]) };
  };
  if (fields.has("defaultAction")) {
    const a = readAction(fields.get("defaultAction")!.value, "defaultAction", at("defaultAction"), findings);
    if (a) out.defaultAction = a;
  }
  out.requireFullIsolation = readIsolation(fields, at, findings);
  const egress = fields.get("egress");
  if (egress && egress.value !== null) {
    if (!v.is(rulesSchema, egress.value)) {
      findings.push({ weight: "fatal", code: "bad-value", ...at("egress"), message: `expected a list of rules, got ${describe(egress.value)}` });
    } else out.rules = readRules(egress.value, [egress.key], src, findings);
  }
  return out;
}

/** A list of rules: the document's egress, or a PATCH body (at = []). */
export function readRules(list: readonly unknown[], at: readonly PathKey[], src: Source, findings: Finding[]): Rule[] {
  const rules: Rule[] = [];
  list.forEach((item, index) => {
    const path = [...at, index];
    // positions are looked up only for what is reported (and the target's, kept in the rule)
    const here = () => ({ path: formatPath(path), ...src.pos(path) });
    if (!isPlainObject(item)) {
      findings.push({ weight: "fatal", code: "bad-value", ...here(), message: `expected a rule ({action, target}), got ${describe(item)}`,
        ...(typeof item === "string" ? { hint: `write { action: allow, target: ${item} } (or deny)` } : {}) });
      return;
    }
    const { fields, findings: fieldFindings } = readFields(item, RULE_FIELDS, path, "a rule", src.pos);
    findings.push(...fieldFindings);
    const field = (name: string) => {
      const f = fields.get(name);
      return f ? { value: f.value, place: () => ({ path: formatPath([...path, f.key]), ...src.pos([...path, f.key]) }) } : null;
    };
    const action = field("action");
    const target = field("target");
    let act: Action | null = "deny";
    if (action && action.value !== null) act = readAction(action.value, "action", action.place, findings);
    else findings.push({ weight: "odd", code: "implicit-deny", ...here(), message: "rule has no action; it means deny", hint: "add action: deny (or allow)" });
    if (!target || target.value === null) {
      findings.push({ weight: "fatal", code: "missing-field", ...here(), message: 'rule has no "target"', hint: "add target: a name, address or CIDR" });
      return;
    }
    const place = target.place();
    const rule = readTarget(target.value, place, findings);
    if (rule && act) rules.push({ index, action: act, ...rule, pos: { line: place.line, col: place.col } });
  });
  return rules;
}

type Place = { path: string; line: number; col: number };

/**
 * allow/deny in any case with spaces around (odd); empty means deny (odd); anything else:
 * see below. Returns the literal "allow" or "deny", never the parsed string: with 100k
 * rules the parser's strings lie all over a large heap, and `decision.action === "allow"`
 * on one of them reads its characters (a cache miss per decision); on the shared literal
 * it is a pointer compare. This alone took the 100k-rule name decisions from about 1.6
 * to 3 M/s.
 */
function readAction(value: unknown, field: "action" | "defaultAction", at: Place | (() => Place), findings: Finding[]): Action | null {
  if (value === "allow") return "allow";
  if (value === "deny") return "deny";
  const place = typeof at === "function" ? at() : at;
  if (!v.is(stringSchema, value)) {
    findings.push({ weight: "fatal", code: "bad-value", ...place, message: `expected "allow" or "deny", got ${describe(value)}` });
    return null;
  }
  const a = goTrim(value).toLowerCase();
  if (v.is(actionSchema, a)) {
    findings.push({ weight: "odd", code: "action-form", ...place, message: `${field} ${JSON.stringify(value)} is read as "${a}"`, hint: `write "${a}"` });
    return a === "allow" ? "allow" : "deny";
  }
  if (a === "") {
    const what = field === "action" ? "an empty action" : "an empty defaultAction";
    findings.push({ weight: "odd", code: "implicit-deny", ...place, message: `${what} means deny`, hint: `write "deny" (or "allow")` });
    return "deny";
  }
  if (field === "action") {
    // OpenSandbox refuses the whole policy for such an action, so nothing runs it
    findings.push({ weight: "fatal", code: "bad-value", ...place, message: `expected "allow" or "deny", got ${JSON.stringify(value)}`, hint: 'an action is "allow" or "deny"' });
    return null;
  }
  // OpenSandbox takes it, then its DNS side allows what no rule denies while its packet
  // filter drops: no one meaning. Deny is the safe one.
  findings.push({ weight: "intent", code: "bad-value", ...place,
    message: `defaultAction ${JSON.stringify(value)} is neither "allow" nor "deny"; it is read as deny`, hint: 'write "deny" or "allow"' });
  return "deny";
}

type TargetRead = Pick<Rule, "raw" | "kind" | "target" | "name" | "cidr">;

function readTarget(value: unknown, place: Place, findings: Finding[]): TargetRead | null {
  if (!v.is(stringSchema, value)) {
    findings.push({ weight: "fatal", code: "bad-value", ...place, message: `expected a string, got ${describe(value)}` });
    return null;
  }
  const text = goTrim(value);
  if (!v.is(targetSchema, text)) {
    findings.push({ weight: "fatal", code: "bad-target", ...place, message: "target is empty", hint: "write a name such as api.github.com, *.pypi.org, an address or a CIDR" });
    return null;
  }
  if (text !== value) {
    findings.push({ weight: "odd", code: "target-spaces", ...place, message: `target ${JSON.stringify(value)} has spaces around it; it is read as "${text}"`, hint: `write "${text}"` });
  }
  const t = parseTarget(text);
  if (!("error" in t)) return { raw: value, ...t };
  // the sidecar takes any such text for a name, which no query ever equals
  findings.push({ weight: "intent", code: "bad-target", ...place, message: `${t.error}; read as a name, it matches nothing`, ...(t.hint ? { hint: t.hint } : {}) });
  return { raw: value, kind: "never", target: text };
}

/** require_full_isolation / requireFullIsolation: egressctl's own field, unknown to the sidecar */
function readIsolation(fields: Map<string, { key: string; value: unknown }>, at: (f: string) => Place, findings: Finding[]): boolean {
  const values: boolean[] = [];
  for (const name of ["require_full_isolation", "requireFullIsolation"]) {
    const f = fields.get(name);
    if (!f || f.value === null) continue;
    if (v.is(isolationSchema, f.value)) values.push(f.value);
    else {
      findings.push({ weight: "intent", code: "bad-value", ...at(name), message: `expected true or false, got ${describe(f.value)}; the setting is ignored`,
        ...(typeof f.value === "string" && /^(yes|no|on|off|true|false)$/i.test(f.value) ? { hint: "write true or false without quotes" } : {}) });
    }
  }
  if (values.length === 2 && values[0] !== values[1]) {
    findings.push({ weight: "intent", code: "conflict", ...at("requireFullIsolation"),
      message: "require_full_isolation and requireFullIsolation disagree; true is taken", hint: "they are the same setting; keep one of them" });
  }
  return values.includes(true);
}

// say it in YAML/JSON terms: a mapping, a list, a number
function describe(x: unknown): string {
  if (x === null || x === undefined) return "nothing";
  if (Array.isArray(x)) return "a list";
  if (typeof x === "object") return "a mapping";
  if (typeof x === "string") return JSON.stringify(x);
  return typeof x === "number" ? `the number ${x}` : typeof x === "boolean" ? `${x}` : typeof x;
}

export function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x) && !(x instanceof Uint8Array);
}
