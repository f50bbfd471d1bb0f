// The always lists laid over a policy: the functions serve's hot path calls, each
// Decision saying which layer decided ("deny.always", "allow.always" or "policy").
//
// Names: deny.always, then allow.always, then the policy (first match inside each), as
// OpenSandbox's sidecar merges them (always-deny rules, then always-allow rules, then
// the user's, first match wins).
// Addresses: deny wins, as in OpenSandbox's ruleset, which drops every deny set before
// it accepts any allow set: deny.always, then the policy's deny rules, then
// allow.always, then the rest of the policy. So an allow.always address opens what the
// policy's defaultAction closes, but never what a deny rule of the policy closes.
// Decisions are built once per rule; a lookup allocates nothing. Pure.
import { compileDomainMatcher, type DomainMatcher } from "../match/domain.ts";
import { compileAddressMatcher, type AddressMatcher } from "../net/intervals.ts";
import type { Decision, Layer, Policy, Rule } from "../policy/types.ts";
import type { AlwaysRules } from "./types.ts";

const asPolicy = (rules: Rule[], defaultAction: "allow" | "deny"): Policy => ({ defaultAction, requireFullIsolation: false, rules });

export function layeredNames(always: AlwaysRules, policy: DomainMatcher): DomainMatcher {
  if (always.deny.rules.length === 0 && always.allow.rules.length === 0) return policy;
  // the fallback of an always list is never returned (only a decision with a rule is)
  const deny = compileDomainMatcher(asPolicy(always.deny.rules, "allow"), "deny.always");
  const allow = compileDomainMatcher(asPolicy(always.allow.rules, "deny"), "allow.always");
  return (name) => {
    const d = deny(name);
    if (d.rule) return d;
    const a = allow(name);
    return a.rule ? a : policy(name);
  };
}

export function layeredAddresses(always: AlwaysRules, policy: AddressMatcher): AddressMatcher {
  const hasAddr = (rs: Rule[]) => rs.some((r) => r.cidr !== undefined);
  if (!hasAddr(always.deny.rules) && !hasAddr(always.allow.rules)) return policy;
  const deny = relabel(compileAddressMatcher(asPolicy(always.deny.rules, "allow")), "deny.always");
  const allow = relabel(compileAddressMatcher(asPolicy(always.allow.rules, "deny")), "allow.always");
  return (a) => {
    const d = deny(a);
    if (d.rule) return d;
    const p = policy(a);
    if (p.rule && p.action === "deny") return p;
    const al = allow(a);
    return al.rule ? al : p;
  };
}

/** log_skip.always: whether an allowed resolution of this (normalised) name goes unlogged */
export function logSkipMatcher(always: AlwaysRules): (name: string) => boolean {
  if (always.logSkip.rules.length === 0) return () => false;
  const m = compileDomainMatcher(asPolicy(always.logSkip.rules, "deny"), "allow.always");
  return (name) => m(name).rule !== undefined;
}

/** the same decisions, carrying `layer` (the address matcher builds policy decisions) */
function relabel(m: AddressMatcher, layer: Layer): AddressMatcher {
  const memo = new Map<Rule, Decision>();
  return (a) => {
    const d = m(a);
    if (!d.rule) return d;
    let out = memo.get(d.rule);
    if (!out) memo.set(d.rule, (out = Object.freeze({ action: d.action, rule: d.rule, layer })));
    return out;
  };
}
