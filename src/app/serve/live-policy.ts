// The policy serve is enforcing, compiled once per change into the functions the hot
// path calls. Swapping is replacing one object, so a query sees the old or the new
// policy, never half of each.
import { rebindingGuard } from "../../core/learn/guard.ts";
import { compileDomainMatcher } from "../../core/match/domain.ts";
import { compileAddressMatcher } from "../../core/net/intervals.ts";
import { policyDigest } from "../../core/ruleset/digest.ts";
import type { Decision, Policy } from "../../core/policy/types.ts";
import type { LearnedAddress } from "../../core/dns/answer.ts";

export interface LivePolicy {
  policy: Policy;
  source: string;
  path?: string;
  digest: string;
  decide: (name: string) => Decision;
  shouldLearn: (a: LearnedAddress) => boolean;
  appliedAt: number;
}

export function compilePolicy(policy: Policy, source: string, path: string | undefined, now: number): LivePolicy {
  return {
    policy,
    source,
    path,
    digest: policyDigest(policy),
    decide: compileDomainMatcher(policy),
    shouldLearn: rebindingGuard(compileAddressMatcher(policy)),
    appliedAt: now,
  };
}

/** the OpenSandbox-style summary of a policy: allow_all, deny_all or enforcing */
export function policyMode(p: Policy): "allow_all" | "deny_all" | "enforcing" {
  if (p.rules.length === 0) return p.defaultAction === "allow" ? "allow_all" : "deny_all";
  return "enforcing";
}
