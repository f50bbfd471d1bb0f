// Explains one decision for people (`egressctl doctor NAME|IP`): which rule decided,
// or that defaultAction did. For a name that is the first matching rule; for an address
// the first deny rule containing it, else the first allow rule (deny wins). Uses the
// linear-scan semantics directly; it answers one query at a time, so compiling a matcher
// would cost more than it saves.
import { cidrRange, parseAddress } from "../net/ip.ts";
import { lookupAddress } from "../net/intervals.ts";
import { normaliseName } from "../match/domain.ts";
import type { Action, Decision, Policy, Rule } from "./types.ts";
import { describeRule } from "./lint-common.ts";

export interface Explanation {
  query: string;
  kind: "name" | "address";
  action: Action;
  rule?: { index: number; target: string; action: Action; line?: number };
  reason: string;
}

export function explain(policy: Policy, query: string): Explanation {
  const q = query.trim();
  if (parseAddress(q)) {
    const d = lookupAddress(policy, q);
    const fallback = `no IP/CIDR rule contains ${q}, so defaultAction (${policy.defaultAction}) applies` +
      (policy.defaultAction === "deny" ? "; it is still reachable while learned from an allowed name" : "");
    return result(q, "address", d, fallback, addressReason(policy, q, d));
  }
  const name = normaliseName(q);
  if (name === null) {
    return { query: q, kind: "name", action: "deny", reason: `"${q}" is not a valid DNS name; no query for it can be allowed` };
  }
  const e = result(name, "name", matchName(policy.rules, name) ?? { action: policy.defaultAction, layer: "policy" },
    `no rule matches ${name}, so defaultAction (${policy.defaultAction}) applies`);
  // `allow x.com:443` looks like a rule for x.com; say why it is not one
  const near = policy.rules.filter((r) => r.kind === "never" && r.target.toLowerCase().includes(name));
  if (near.length) e.reason += `; ${near.map(describeRule).join(", ")} ${near.length === 1 ? "is" : "are"} no name, wildcard or address and ${near.length === 1 ? "matches" : "match"} nothing`;
  return e;
}

/** First rule in list order whose name or wildcard matches (docs/policy.md's decision rule, literally). */
function matchName(rules: readonly Rule[], name: string): Decision | undefined {
  for (const r of rules) {
    const hit = r.kind === "exact" ? r.name === name : r.kind === "wildcard" && name.endsWith(`.${r.name}`);
    if (hit) return { action: r.action, rule: r, layer: "policy" };
  }
  return undefined;
}

function result(query: string, kind: Explanation["kind"], d: Decision, fallback: string, why?: string): Explanation {
  const r = d.rule;
  if (!r) return { query, kind, action: d.action, reason: fallback };
  return {
    query,
    kind,
    action: d.action,
    rule: { index: r.index, target: r.target, action: r.action, ...(r.pos ? { line: r.pos.line } : {}) },
    reason: why ?? `rule ${describeRule(r)} is the first rule that matches ${query}`,
  };
}

/** Why the deciding rule decides an address: deny beats allow, so say which allow lost. */
function addressReason(policy: Policy, q: string, d: Decision): string | undefined {
  const r = d.rule;
  if (!r) return undefined;
  if (r.action === "allow") return `rule ${describeRule(r)} contains ${q}, and no deny rule does`;
  const a = parseAddress(q)!;
  const lost = policy.rules.find((x) => x.action === "allow" && x.cidr?.family === a.family && contains(x, a.value));
  const also = lost ? ` (${describeRule(lost)} contains it too, but for addresses a deny rule wins over an allow rule, whatever their order)` : "";
  return `deny rule ${describeRule(r)} contains ${q}${also}`;
}

function contains(r: Rule, v: bigint): boolean {
  const { start, end } = cidrRange(r.cidr!);
  return v >= start && v <= end;
}

