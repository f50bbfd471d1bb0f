// Explains one decision for people (`egressctl doctor NAME|IP`): which rule decided,
// or that defaultAction did. Uses the linear-scan semantics directly; it answers one
// query at a time, so compiling a matcher would cost more than it saves.
import { parseAddress } from "../net/ip.ts";
import { lookupAddress } from "../net/intervals.ts";
import { normaliseName } from "../match/domain.ts";
import type { Action, Decision, Policy, Rule } from "./types.ts";

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
    return result(q, "address", d, fallback);
  }
  const name = normaliseName(q);
  if (name === null) {
    return { query: q, kind: "name", action: "deny", reason: `"${q}" is not a valid DNS name; no query for it can be allowed` };
  }
  return result(name, "name", matchName(policy.rules, name) ?? { action: policy.defaultAction, layer: "policy" },
    `no rule matches ${name}, so defaultAction (${policy.defaultAction}) applies`);
}

/** First rule in list order whose name or wildcard matches (the contract, literally). */
function matchName(rules: readonly Rule[], name: string): Decision | undefined {
  for (const r of rules) {
    const hit = r.kind === "exact" ? r.name === name : r.kind === "wildcard" && name.endsWith(`.${r.name}`);
    if (hit) return { action: r.action, rule: r, layer: "policy" };
  }
  return undefined;
}

function result(query: string, kind: Explanation["kind"], d: Decision, fallback: string): Explanation {
  const r = d.rule;
  if (!r) return { query, kind, action: d.action, reason: fallback };
  const line = r.pos ? `, line ${r.pos.line}` : "";
  return {
    query,
    kind,
    action: d.action,
    rule: { index: r.index, target: r.target, action: r.action, ...(r.pos ? { line: r.pos.line } : {}) },
    reason: `rule egress[${r.index}] (${r.action} ${r.target}${line}) is the first rule that matches ${query}`,
  };
}
