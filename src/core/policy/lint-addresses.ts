// Warnings about address rules: host bits set, duplicates, rules that decide no address
// (an allow that deny rules cover wholly never takes effect; any rule whose range others
// decide already changes nothing), and IP rules that dns-only mode ignores. Deny wins for
// addresses, whatever the order, so "earlier" plays no part here: the interval painter
// (intervals.ts) says which rule decides each segment, and a rule that decides none is
// reported with the rules that do. Coverage by a union of ranges is O(n log n).
import { cidrRange, formatCidr, type Family } from "../net/ip.ts";
import { paint, type Segment } from "../net/intervals.ts";
import type { Problem } from "./problems.ts";
import type { Rule } from "./types.ts";
import { describeRule, duplicateOf, ruleProblem } from "./lint-common.ts";

const MAX_NAMED = 3; // covering rules named in one warning
const DENY_WINS = "for addresses a deny rule wins over an allow rule, whatever their order";

/** `mode` is a canonical mode name (parseMode has read aliases such as `dns` already). */
export function lintAddresses(rules: readonly Rule[], mode?: string): Problem[] {
  const out: Problem[] = [];
  const ipRules = rules.filter((r) => r.cidr !== undefined);
  const duplicated = duplicates(ipRules, out);
  for (const family of [4, 6] as Family[]) {
    const segs = paint(rules, family);
    const deciding = new Set(segs.map((s) => s.rule));
    // allowsBefore[i]: how many of segs[0..i) an allow rule decides
    const allowsBefore = new Uint32Array(segs.length + 1);
    segs.forEach((s, i) => (allowsBefore[i + 1] = allowsBefore[i]! + (s.rule.action === "allow" ? 1 : 0)));
    for (const r of ipRules) {
      if (r.cidr!.family !== family || deciding.has(r) || duplicated.has(r)) continue;
      const [lo, hi] = within(segs, r);
      out.push(decidesNothing(r, coverers(segs, lo, hi), allowsBefore[hi]! === allowsBefore[lo]!));
    }
  }
  if (mode === "dns-only" && ipRules.length > 0) {
    const n = ipRules.length;
    out.push(ruleProblem(ipRules[0]!, "ignored-in-dns-only", `${n} IP/CIDR rule${n === 1 ? " is" : "s are"} ignored in dns-only mode`,
      "dns-only mode enforces names only; run in dns+nftables mode to enforce address rules"));
  }
  return out;
}

/**
 * Host bits, and rules with the same network as another: of such a group the first deny
 * (else the first allow) decides, and every other one is reported as its duplicate.
 */
function duplicates(ipRules: readonly Rule[], out: Problem[]): Set<Rule> {
  const winner = new Map<string, Rule>();
  const key = (r: Rule) => `${r.cidr!.family}|${r.cidr!.network}|${r.cidr!.prefix}`;
  for (const r of ipRules) {
    const c = r.cidr!;
    if (c.hostBitsSet && r.kind === "cidr") {
      out.push(ruleProblem(r, "host-bits", `"${r.raw}" has host bits set; it means ${formatCidr(c)}`, `write "${formatCidr(c)}"`));
    }
    const w = winner.get(key(r));
    if (!w || (w.action === "allow" && r.action === "deny")) winner.set(key(r), r);
  }
  const duplicated = new Set<Rule>();
  for (const r of ipRules) {
    const w = winner.get(key(r))!;
    if (w === r) continue;
    duplicated.add(r);
    out.push(w.action === r.action
      ? duplicateOf(r, w)
      : ruleProblem(r, "duplicate", `"${r.target}" duplicates ${describeRule(w)} and never takes effect: ${DENY_WINS}`, "remove the one you do not mean"));
  }
  return duplicated;
}

function decidesNothing(r: Rule, by: Rule[], allDenied: boolean): Problem {
  const more = by.length > MAX_NAMED;
  const named = `${by.slice(0, MAX_NAMED).map(describeRule).join(", ")}${more ? " and others" : ""}`;
  const together = by.length > 1;
  if (r.action === "allow" && allDenied) {
    return ruleProblem(r, "shadowed", `"${r.target}" never takes effect: ${named} ${together ? "together deny" : "denies"} every address it allows, and ${DENY_WINS}`,
      `remove this rule, or narrow the deny rule${together ? "s" : ""} if these addresses should be reachable`);
  }
  return ruleProblem(r, "shadowed",
    `"${r.target}" never decides anything: ${named}${together ? " together decide" : " decides"} every address it matches`,
    "remove this rule; it changes nothing");
}

/** The segments inside r's range, as an index range [lo, hi) of segs. */
function within(segs: readonly Segment[], r: Rule): [number, number] {
  const { start, end } = cidrRange(r.cidr!);
  const first = (pred: (s: Segment) => boolean) => {
    let lo = 0;
    let hi = segs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (pred(segs[mid]!)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
  return [first((s) => s.end >= start), first((s) => s.start > end)];
}

/** The first few (up to MAX_NAMED + 1) distinct rules deciding segs[lo..hi), in list order. */
function coverers(segs: readonly Segment[], lo: number, hi: number): Rule[] {
  const found: Rule[] = [];
  for (let i = lo; i < hi && found.length <= MAX_NAMED; i++) {
    const by = segs[i]!.rule;
    if (!found.includes(by)) found.push(by);
  }
  return found.sort((a, b) => a.index - b.index);
}
