// The policy serve is enforcing, with the operator's always lists laid over it, compiled
// once per change into the functions the hot path calls. Swapping is replacing one
// object, so a query sees the old or the new policy and lists, never half of each.
import { layeredAddresses, layeredNames, logSkipMatcher } from "../../core/always/layered.ts";
import { alwaysKey, noAlwaysRules, type AlwaysRules } from "../../core/always/types.ts";
import { rebindingGuard } from "../../core/learn/guard.ts";
import { compileDomainMatcher } from "../../core/match/domain.ts";
import { compileAddressMatcher } from "../../core/net/intervals.ts";
import { policyDigest } from "../../core/ruleset/digest.ts";
import type { Decision, Policy } from "../../core/policy/types.ts";
import type { LearnedAddress } from "../../core/dns/answer.ts";
import { createHash } from "node:crypto";

export interface LivePolicy {
  /** the user's policy (file, environment or API): what GET /policy shows and persists */
  policy: Policy;
  source: string;
  path?: string;
  digest: string;
  /** the always lists in force (deny.always, allow.always, log_skip.always) */
  always: AlwaysRules;
  /** sha256 over the always lists' normalised targets */
  alwaysDigest: string;
  /** the layered decision for a name: deny.always, allow.always, then the policy */
  decide: (name: string) => Decision;
  shouldLearn: (a: LearnedAddress) => boolean;
  /** log_skip.always: an allowed resolution of this name is not logged */
  logSkip: (name: string) => boolean;
  appliedAt: number;
}

export function compilePolicy(policy: Policy, source: string, path: string | undefined, now: number, always: AlwaysRules = noAlwaysRules()): LivePolicy {
  return {
    policy,
    source,
    path,
    digest: policyDigest(policy),
    always,
    alwaysDigest: createHash("sha256").update(alwaysKey(always)).digest("hex"),
    decide: layeredNames(always, compileDomainMatcher(policy)),
    shouldLearn: rebindingGuard(layeredAddresses(always, compileAddressMatcher(policy))),
    logSkip: logSkipMatcher(always),
    appliedAt: now,
  };
}

/** the same policy under other always lists (a change of the files) */
export function withAlways(live: LivePolicy, always: AlwaysRules): LivePolicy {
  return compilePolicy(live.policy, live.source, live.path, live.appliedAt, always);
}

/** the OpenSandbox-style summary of a policy: allow_all, deny_all or enforcing */
export function policyMode(p: Policy): "allow_all" | "deny_all" | "enforcing" {
  if (p.rules.length === 0) return p.defaultAction === "allow" ? "allow_all" : "deny_all";
  return "enforcing";
}
