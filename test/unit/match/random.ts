// Seeded randomness for property tests: a failure prints its seed and reproduces.
import type { Action, Policy, Rule } from "../../../src/core/policy/types.ts";
import { parseTarget } from "../../../src/core/policy/target.ts";

export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const pick = <T>(rnd: () => number, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
export const int = (rnd: () => number, lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));

/** A policy from target texts, through the real target parser (so kinds and CIDRs are real). */
export function policyOf(targets: [Action, string][], defaultAction: Action = "deny"): Policy {
  const rules: Rule[] = targets.map(([action, raw], index) => {
    const t = parseTarget(raw);
    if ("error" in t) throw new Error(`bad test target ${raw}: ${t.error}`);
    return { index, action, raw, ...t };
  });
  return { defaultAction, requireFullIsolation: false, rules };
}
