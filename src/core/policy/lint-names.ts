// Warnings about name rules: duplicates, rules shadowed by earlier ones, wildcards over
// a public suffix, wildcards whose apex is not listed. Linear in the number of rules
// (each rule probes the maps of earlier rules once per label), so 100k rules are fine.
import type { parse } from "tldts";
import { nearestWildcard } from "../match/domain.ts";
import type { Problem } from "./problems.ts";
import type { Rule } from "./types.ts";
import { duplicateOf, ruleProblem, shadowedBy } from "./lint-common.ts";

export function lintNames(rules: readonly Rule[]): Problem[] {
  const out: Problem[] = [];
  const exact = new Map<string, Rule>();
  const wild = new Map<string, Rule>();
  for (const r of rules) {
    if (r.kind !== "exact" && r.kind !== "wildcard") continue;
    const own = r.kind === "exact" ? exact : wild;
    const same = own.get(r.name!);
    const cover = same ? undefined : nearestWildcard(wild, r.name!);
    if (same) out.push(duplicateOf(r, same));
    else if (cover) out.push(shadowedBy(r, cover));
    if (!same) own.set(r.name!, r);
  }
  for (const r of wild.values()) {
    const suffix = publicSuffixWarning(r);
    if (suffix) out.push(suffix);
    else if (!exact.has(r.name!) && !nearestWildcard(wild, r.name!)) out.push(apexWarning(r));
  }
  return out;
}

/**
 * Only suffixes the Public Suffix List names explicitly count (ICANN and private
 * sections). Unlisted TLDs such as `local` or `internal` fall under the list's implicit
 * "*" rule; `*.internal` is a sensible rule inside a cluster, so it is not warned about.
 */
function publicSuffixWarning(r: Rule): Problem | undefined {
  const p = parseDomain()(r.name!, { allowPrivateDomains: true });
  if (p.publicSuffix !== r.name || !(p.isIcann || p.isPrivate)) return undefined;
  const section = p.isIcann ? "" : " (its private section: names below it belong to unrelated owners)";
  return ruleProblem(r, "public-suffix", `"${r.target}" covers everything under the public suffix "${r.name}"${section}`,
    `list the domains you need instead, e.g. "*.example.${r.name}"`);
}

function apexWarning(r: Rule): Problem {
  return ruleProblem(r, "apex-not-listed", `"${r.target}" does not match "${r.name}" itself, and no rule lists it`,
    `add { action: ${r.action}, target: ${r.name} } if ${r.name} should be ${r.action === "allow" ? "allowed" : "denied"} too`);
}

/**
 * The public-suffix list (tldts), loaded when a policy first has a wildcard to check: it
 * is the largest module egressctl carries, and a policy of exact names never needs it.
 */
function parseDomain(): typeof parse {
  return (require("tldts") as typeof import("tldts")).parse;
}
