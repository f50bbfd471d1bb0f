// The compiled domain matcher: first match in list order over exact and `*.` rules.
// For a query name the candidates are the exact rule for that name and the wildcard
// rules for each of its proper suffixes; the lowest rule index wins.
//
// Compiling folds that "lowest index" choice into the maps, so a lookup stops at its
// first hit: an exact entry already holds the winner between itself and every wildcard
// above it, and a wildcard entry the winner between itself and the wildcards above it.
// A lookup is then one pass over the name's characters probing a hash table at each
// dot (name-table.ts). Decisions are created once at compile time; a lookup allocates
// nothing.
import type { Decision, Layer, Policy, Rule } from "../policy/types.ts";
import { checkName } from "../policy/name.ts";
import { NameTable, step } from "./name-table.ts";

/** Normalises a query name: lowercase, no trailing dot, punycode; null if not a DNS name. */
export function normaliseName(name: string): string | null {
  const r = checkName(name);
  return "name" in r ? r.name : null;
}

export type DomainMatcher = (name: string) => Decision;

/** `layer`: which layer the rules are (the policy's, or an always list: always/layered.ts) */
export function compileDomainMatcher(policy: Policy, layer: Layer = "policy"): DomainMatcher {
  const fallback: Decision = Object.freeze({ action: policy.defaultAction, layer });
  const firstExact = new Map<string, Rule>();
  const firstWild = new Map<string, Rule>();
  for (const r of policy.rules) {
    if (r.kind === "exact" && !firstExact.has(r.name!)) firstExact.set(r.name!, r);
    else if (r.kind === "wildcard" && !firstWild.has(r.name!)) firstWild.set(r.name!, r);
  }
  const decide = (r: Rule): Decision => Object.freeze({ action: r.action, rule: r, layer });

  // Wildcards with fewer labels first, so each one's nearest covering wildcard is final.
  const wild = new Map<string, Decision>();
  const wildRules = [...firstWild.values()].sort((a, b) => labels(a.name!) - labels(b.name!));
  for (const r of wildRules) wild.set(r.name!, earlier(nearestWildcard(wild, r.name!), r, decide));

  const exact = new Map<string, Decision>();
  for (const r of firstExact.values()) exact.set(r.name!, earlier(nearestWildcard(wild, r.name!), r, decide));

  const exactTable = new NameTable(exact, exact.size);
  const wildTable = new NameTable(wild, wild.size);
  return (name: string): Decision => {
    // One right-to-left pass: at each dot the hash of the suffix after it is ready.
    // Longer suffixes come later and their entries already include the shorter ones.
    let h = 0;
    let hit: Decision | undefined;
    for (let i = name.length - 1; i >= 0; i--) {
      const c = name.charCodeAt(i);
      if (c === 46) hit = wildTable.get(h, name, i + 1) ?? hit;
      h = step(h, c);
    }
    return exactTable.get(h, name, 0) ?? hit ?? fallback;
  };
}

/** The decision stored for the wildcard over the longest proper suffix of `name`. */
export function nearestWildcard<T>(wild: Map<string, T>, name: string): T | undefined {
  let i = name.indexOf(".");
  while (i >= 0) {
    const d = wild.get(name.slice(i + 1));
    if (d !== undefined) return d;
    i = name.indexOf(".", i + 1);
  }
  return undefined;
}

function earlier(above: Decision | undefined, r: Rule, decide: (r: Rule) => Decision): Decision {
  return above !== undefined && above.rule!.index < r.index ? above : decide(r);
}

function labels(name: string): number {
  let n = 1;
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) === 46) n++;
  return n;
}
