// Warnings about address rules: host bits set, duplicates, ranges entirely covered by
// earlier rules (possibly by several together), and IP rules that dns-only mode ignores.
// Shadowing reuses the interval painter: a rule is shadowed exactly when it decides no
// segment, which handles coverage by a union of earlier ranges in O(n log n).
import { cidrRange, formatCidr, type Family } from "../net/ip.ts";
import { paint, type Segment } from "../net/intervals.ts";
import type { Problem } from "./problems.ts";
import type { Rule } from "./types.ts";
import { duplicateOf, ruleProblem, shadowedBy } from "./lint-common.ts";

const MAX_NAMED = 3; // shadowing rules named in one warning

/** `mode` is a canonical mode name (parseMode has read aliases such as `dns` already). */
export function lintAddresses(rules: readonly Rule[], mode?: string): Problem[] {
  const out: Problem[] = [];
  const first = new Map<string, Rule>();
  const duplicated = new Set<Rule>();
  const ipRules = rules.filter((r) => r.cidr !== undefined);
  for (const r of ipRules) {
    const c = r.cidr!;
    if (c.hostBitsSet && r.kind === "cidr") {
      out.push(ruleProblem(r, "host-bits", `"${r.raw}" has host bits set; it means ${formatCidr(c)}`, `write "${formatCidr(c)}"`));
    }
    const key = `${c.family}|${c.network}|${c.prefix}`;
    const same = first.get(key);
    if (same) {
      out.push(duplicateOf(r, same));
      duplicated.add(r);
    } else first.set(key, r);
  }
  for (const family of [4, 6] as Family[]) {
    const segs = paint(rules, family);
    const deciding = new Set(segs.map((s) => s.rule));
    for (const r of ipRules) {
      if (r.cidr!.family !== family || deciding.has(r) || duplicated.has(r)) continue;
      const by = coverers(segs, r);
      out.push(shadowedBy(r, by.slice(0, MAX_NAMED), "address", by.length > MAX_NAMED));
    }
  }
  if (mode === "dns-only" && ipRules.length > 0) {
    const n = ipRules.length;
    out.push(ruleProblem(ipRules[0]!, "ignored-in-dns-only", `${n} IP/CIDR rule${n === 1 ? " is" : "s are"} ignored in dns-only mode`,
      "dns-only mode enforces names only; run in dns+nftables mode to enforce address rules"));
  }
  return out;
}

/** The first few (up to MAX_NAMED + 1) distinct rules deciding the segments inside r's range. */
function coverers(segs: readonly Segment[], r: Rule): Rule[] {
  const { start, end } = cidrRange(r.cidr!);
  let lo = 0;
  let hi = segs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (segs[mid]!.end < start) lo = mid + 1;
    else hi = mid;
  }
  const found: Rule[] = [];
  for (let i = lo; i < segs.length && segs[i]!.start <= end && found.length <= MAX_NAMED; i++) {
    const by = segs[i]!.rule;
    if (!found.includes(by)) found.push(by);
  }
  return found.sort((a, b) => a.index - b.index);
}
