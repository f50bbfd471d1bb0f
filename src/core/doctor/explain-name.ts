// `egressctl doctor NAME`: why one name is allowed or denied, and what that means in the
// mode serve runs. The policy decides a name only where DNS is intercepted: in
// `disabled` the name resolves through the upstream whatever the policy says, and in
// `dns-only` a denied name gets NXDOMAIN but its addresses stay reachable (nothing
// filters packets). Pure.
import { explain, type Explanation } from "../policy/explain.ts";
import { normaliseName } from "../match/domain.ts";
import { canonical } from "./canonical.ts";
import { alwaysDecision } from "./always.ts";
import { trustedName } from "../learn/guard.ts";
import type { TargetContext, Verdict } from "./targets.ts";

export interface LearnedAddress {
  family: 4 | 6;
  address: string;
  expiresAt: number;
  expiresInSec: number;
  /** in the kernel's learned set (null: the kernel was not read) */
  inKernel: boolean | null;
}

export interface NameExplanation {
  query: string;
  kind: "name";
  /** the normalised name, null when the argument is no valid DNS name */
  name: string | null;
  verdict: Verdict;
  /** where the verdict comes from */
  basis: "deny.always" | "allow.always" | "policy-file" | "violation" | "learned" | "not-intercepted" | "invalid-name" | "none";
  /** with --policy: the rule of the file that decides (null: defaultAction, or no file) */
  rule: Explanation["rule"] | null;
  reason: string;
  learned: LearnedAddress[];
  /** with --policy: what the file says about the name */
  policy: { action: string; rule: Explanation["rule"] | null; reason: string } | null;
  /** what the mode means for this name, e.g. that dns-only does not block its addresses */
  notes: string[];
}

export function explainName(q: string, c: TargetContext): NameExplanation {
  const name = normaliseName(q);
  const base = { query: q, kind: "name" as const, name, rule: null, learned: [] as LearnedAddress[], policy: null, notes: [] as string[] };
  if (name === null) {
    return { ...base, verdict: "deny", basis: "invalid-name", reason: `"${q}" is not a valid DNS name; no query for it can be allowed` };
  }
  const e = c.policy ? explain(c.policy, name) : null;
  const out: NameExplanation = {
    ...base,
    learned: learnedOf(name, c),
    rule: e?.rule ?? null,
    policy: e && { action: e.action, rule: e.rule ?? null, reason: e.reason },
    ...verdictOf(name, e, c),
  };
  if (c.mode === "dns-only" && !(c.audit && out.verdict === "deny")) {
    out.notes.push(out.verdict === "allow"
      ? "serve runs dns-only: the name's answers are passed on, but no address is learned (nothing filters packets)"
      : "serve runs dns-only: the name gets NXDOMAIN, but nothing filters packets, so its addresses stay reachable to a client that knows them");
  }
  if (c.audit && out.verdict === "deny") out.notes.push("audit mode: the name is logged as a denial (dns.denied, audit: true) but resolves, and its addresses are let through");
  const guardNote = guardApplies(name, out.verdict, c);
  if (guardNote) out.notes.push(guardNote);
  const guarded = c.violations.find((v) => v.event === "dns.guarded" && v.name === name);
  if (guarded && Array.isArray(guarded.addresses)) {
    const list = (guarded.addresses as { address: string; reason: string }[]).map((x) => `${x.address} (${x.reason})`).join(", ");
    out.notes.push(`guarded: non-public answer: ${list} answered for it at ${String(guarded.at)} was passed on but not learned, so connections to it are refused`);
  }
  const chained = c.violations.find((v) => v.event === "dns.denied" && v.name === name && typeof v.link === "string");
  if (chained) out.notes.push(`its answer at ${String(chained.at)} was denied because ${String(chained.link)} in its CNAME/DNAME chain is denied (${String(chained.rule)})`);
  return out;
}

/**
 * Which guard applies to an allowed name's answers (dns+nftables, serve guarding): an
 * exact allow.always entry is the operator's trust (non-public answers are learned), any
 * other allowed name opens public addresses only.
 */
function guardApplies(name: string, verdict: Verdict, c: TargetContext): string | null {
  if (c.mode !== "dns+nftables" || verdict === "deny" || c.guard?.privateAnswers !== "guard" || c.defaultAction === "allow") return null;
  const layer = c.always ? alwaysDecision(c.always, name) : null;
  if (layer && trustedName(layer)) {
    return `trusted: allow.always lists ${name} exactly, so its answers may open non-public addresses too (an in-cluster service's, say)`;
  }
  const why = layer?.layer === "allow.always" ? `allow.always allows it through the wildcard ${layer.rule?.target}, which is not trusted`
    : verdict === "allow" ? "the policy allows it" : "a name the user's policy allows is not trusted";
  return `guarded: ${why}; its answers open public addresses only (a non-public one needs an address allow rule, or the exact name in allow.always)`;
}

function verdictOf(name: string, e: Explanation | null, c: TargetContext): Pick<NameExplanation, "verdict" | "basis" | "reason"> {
  if (c.mode === "disabled") {
    // the policy is loaded but nothing applies it: saying "deny" would mislead
    const would = e ? `; the policy would ${e.action} it: ${e.reason}` : "";
    return { verdict: "allow", basis: "not-intercepted", reason: `serve runs disabled: DNS is not intercepted, so ${name} resolves through the upstream and nothing blocks its addresses${would}` };
  }
  // the operator's lists sit above every policy, whatever --policy says
  const layer = c.always ? alwaysDecision(c.always, name) : null;
  if (layer && layer.rule) {
    const policyToo = e ? `; the policy alone would ${e.action} it` : "";
    return { verdict: layer.action, basis: layer.layer as "deny.always" | "allow.always", reason: `${layer.layer} lists ${layer.rule.target}, which matches ${name}: it decides above every policy${policyToo}` };
  }
  if (e) return { verdict: e.action, basis: "policy-file", reason: e.reason };
  const denial = c.violations.find((v) => v.event === "dns.denied" && v.name === name);
  if (denial) {
    return { verdict: "deny", basis: "violation", reason: `serve denied it at ${String(denial.at)} (${String(denial.rule)}); give --policy FILE for the rule's line` };
  }
  if ((c.learned[name] ?? []).length) {
    return { verdict: "allow", basis: "learned", reason: "serve answered it as allowed and learned its addresses; give --policy FILE to name the rule" };
  }
  // dns-only learns nothing, so "not learned" says nothing about an allowed name there
  const seen = c.mode === "dns-only" ? "not among recent denials (dns-only learns no addresses)" : "not learned and not among recent denials";
  const dflt = c.defaultAction ? ` (defaultAction is ${c.defaultAction})` : "";
  return { verdict: "unknown", basis: "none", reason: `${seen}; the deciding rule cannot be named without --policy FILE${dflt}` };
}

function learnedOf(name: string, c: TargetContext): LearnedAddress[] {
  const kernelAddrs = c.kernel ? new Set(c.kernel.state.learnedEntries.map((e) => canonical(e.address))) : null;
  return (c.learned[name] ?? []).map((l) => ({
    family: l.family,
    address: l.address,
    expiresAt: l.expiresAt,
    expiresInSec: Math.max(0, Math.round((l.expiresAt - c.now) / 1000)),
    inKernel: kernelAddrs ? kernelAddrs.has(canonical(l.address)) : null,
  }));
}
