// `egressctl doctor NAME|IP`: why one name or address is allowed or denied, from what a
// running serve can show (its learned table, recent violations, the kernel's sets) and,
// given --policy FILE, the rule that decides. Pure.
import { explain, type Explanation } from "../policy/explain.ts";
import { formatAddress, parseAddress, type Address } from "../net/ip.ts";
import type { KernelState } from "../status/kernel-state.ts";
import type { Policy } from "../policy/types.ts";
import type { AlwaysRules } from "../always/types.ts";
import type { LearnedMap, Violation } from "./input.ts";
import { setsHolding, type StaticSets } from "./kernel-sets.ts";
import { canonical } from "./canonical.ts";
import { explainName, type NameExplanation } from "./explain-name.ts";
import { nonPublic, type LocalAddresses } from "../net/special.ts";

export type { LearnedAddress, NameExplanation } from "./explain-name.ts";

export type Verdict = "allow" | "deny" | "unknown";

export interface AddressExplanation {
  query: string;
  kind: "address";
  /** canonical form, null when the argument is no address */
  address: string | null;
  verdict: Verdict;
  basis: "loopback" | "deny.always" | "deny-cidr" | "allow.always" | "allow-cidr" | "learned" | "default" | "not-filtered" | "policy-file" | "none";
  reason: string;
  /** static sets of the kernel table that hold it (deny4, allow6, doh4, ...) */
  sets: string[];
  /** names it is learned under: from the kernel's element comments and serve's table */
  learnedAs: { name: string; source: "kernel" | "serve"; expiresInSec: number }[];
  /** with --policy: what the policy file says about it */
  policy: { action: string; rule: Explanation["rule"] | null; reason: string } | null;
  /**
   * why no DNS answer opens it (the address guard: a non-public address, e.g. "private
   * (RFC 1918)" or "this namespace's own gateway via eth0"); null when answers can open it
   */
  guarded: string | null;
  notes: string[];
}

export type TargetExplanation = NameExplanation | AddressExplanation;

export interface TargetContext {
  policy: Policy | null;
  learned: LearnedMap;
  violations: Violation[];
  /** doctor's read of the kernel; null when not read or unreadable */
  kernel: { state: KernelState; sets: StaticSets } | null;
  /** intended mode from /status */
  mode: string | null;
  audit: boolean;
  defaultAction: string | null;
  /** the always lists serve reports in force (null: an older serve, or not reachable) */
  always: AlwaysRules | null;
  /** serve's address guard (/status guard); null when serve did not report one */
  guard: { privateAnswers: "guard" | "learn"; local: LocalAddresses } | null;
  now: number;
}

export function explainTarget(query: string, c: TargetContext): TargetExplanation {
  const q = query.trim();
  const a = parseAddress(q);
  return a ? explainAddress(q, a, c) : explainName(q, c);
}

function explainAddress(q: string, a: Address, c: TargetContext): AddressExplanation {
  const address = formatAddress(a.family, a.value);
  const fromPolicy = c.policy ? explain(c.policy, address) : null;
  const out: AddressExplanation = {
    query: q, kind: "address", address, verdict: "unknown", basis: "none", reason: "", sets: [], learnedAs: [], notes: [], guarded: null,
    policy: fromPolicy && { action: fromPolicy.action, rule: fromPolicy.rule ?? null, reason: fromPolicy.reason },
  };
  for (const [name, list] of Object.entries(c.learned)) {
    const hit = list.find((l) => canonical(l.address) === address);
    if (hit) out.learnedAs.push({ name, source: "serve", expiresInSec: Math.max(0, Math.round((hit.expiresAt - c.now) / 1000)) });
  }
  if (c.kernel) {
    out.sets = setsHolding(c.kernel.sets, a);
    for (const e of c.kernel.state.learnedEntries) {
      if (canonical(e.address) === address) out.learnedAs.push({ name: e.name ?? "(no name)", source: "kernel", expiresInSec: e.expiresSec });
    }
  }
  out.guarded = guardedWhy(a, c);
  Object.assign(out, addressVerdict(a, address, c, out));
  if (out.guarded && out.basis !== "allow-cidr" && out.basis !== "loopback") {
    out.notes.push(`guarded: non-public answer (${out.guarded}): an answer naming ${address} is passed on but never learned, so no name opens it; only an address allow rule does`);
  }
  if (out.verdict === "allow" && out.basis !== "loopback" && out.basis !== "not-filtered") out.notes.push("port 853 (DNS-over-TLS) is denied to every address");
  if (c.audit && out.verdict === "deny") out.notes.push("audit mode: this is logged as a denial but let through");
  return out;
}

function addressVerdict(a: Address, address: string, c: TargetContext, out: AddressExplanation): Pick<AddressExplanation, "verdict" | "basis" | "reason"> {
  if (isLoopback(a)) return { verdict: "allow", basis: "loopback", reason: `${address} is loopback: always allowed` };
  if (c.mode === "dns-only" || c.mode === "disabled") {
    return { verdict: "allow", basis: "not-filtered", reason: `serve runs ${c.mode}: nothing filters packets, so a direct connection to ${address} is not blocked` };
  }
  if (!c.kernel) {
    if (out.policy) return { verdict: out.policy.action as Verdict, basis: "policy-file", reason: `${out.policy.reason} (the kernel table was not read)` };
    return { verdict: "unknown", basis: "none", reason: "the kernel table could not be read, and no --policy FILE was given" };
  }
  const kernelNames = out.learnedAs.filter((l) => l.source === "kernel").map((l) => l.name);
  const fam = a.family;
  if (out.sets.includes(`always_deny${fam}`)) {
    return { verdict: "deny", basis: "deny.always", reason: `${address} is in always_deny${fam}: denied by the operator's deny.always, above every policy` };
  }
  if (out.sets.includes(`deny${fam}`)) {
    const also = kernelNames.length ? ` (it is also learned under ${kernelNames.join(", ")}: a deny CIDR beats a learned address)` : "";
    return { verdict: "deny", basis: "deny-cidr", reason: `${address} is in the deny set deny${fam}: denied by a deny CIDR${ruleOf(out)}${also}` };
  }
  if (out.sets.includes(`doh${fam}`)) out.notes.push(`${address} is a DNS-over-HTTPS provider (doh${fam}): port 443 is denied unless a static allow covers it`);
  if (out.sets.includes(`always_allow${fam}`)) {
    return { verdict: "allow", basis: "allow.always", reason: `${address} is in always_allow${fam}: allowed by the operator's allow.always (a deny rule of the policy would still win)` };
  }
  if (out.sets.includes(`allow${fam}`)) {
    return { verdict: "allow", basis: "allow-cidr", reason: `${address} is in the allow set allow${fam}: allowed by an allow CIDR${ruleOf(out)}` };
  }
  if (kernelNames.length) {
    return { verdict: "allow", basis: "learned", reason: `${address} is in learned${fam}, learned from ${kernelNames.join(", ")}: allowed until it expires` };
  }
  const d = c.defaultAction;
  if (d !== "allow" && d !== "deny") return { verdict: "unknown", basis: "none", reason: `${address} is in no set; serve did not report its defaultAction` };
  const learnNote = d !== "deny" ? "" : out.guarded ? "; no answer opens it (guarded: non-public answer)" : "; it becomes reachable while learned from an allowed name";
  return { verdict: d, basis: "default", reason: `${address} is in no allow, deny or learned set: ${d === "deny" ? "denied" : "allowed"} by default (defaultAction ${d})${learnNote}` };
}

/**
 * The address guard's reason, as serve judges it (src/core/net/special.ts with the local
 * addresses serve reported): only where serve learns (dns+nftables, guard on, defaultAction deny).
 */
function guardedWhy(a: Address, c: TargetContext): string | null {
  if (!c.guard || c.guard.privateAnswers === "learn" || c.defaultAction !== "deny" || c.mode !== "dns+nftables") return null;
  return nonPublic(a, c.guard.local);
}

function ruleOf(out: AddressExplanation): string {
  const r = out.policy?.rule;
  return r ? ` (--policy: egress[${r.index}] ${r.action} ${r.target}${r.line ? `, line ${r.line}` : ""})` : "";
}

function isLoopback(a: Address): boolean {
  return a.family === 4 ? a.value >> 24n === 127n : a.value === 1n;
}
