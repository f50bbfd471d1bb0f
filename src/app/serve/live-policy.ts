// The policy serve is enforcing, with the operator's always lists laid over it, compiled
// once per change into the functions the hot path calls. Swapping is replacing one
// object, so a query sees the old or the new policy and lists, never half of each. The
// address guard also depends on the namespace's own addresses: when they change, the
// same policy gets a new guard (withLocal).
import { layeredAddresses, layeredNames, logSkipMatcher } from "../../core/always/layered.ts";
import { alwaysKey, noAlwaysRules, type AlwaysRules } from "../../core/always/types.ts";
import { compileGuard, trustedName, type AddressGuard, type PrivateAnswers } from "../../core/learn/guard.ts";
import { compileDomainMatcher } from "../../core/match/domain.ts";
import { compileAddressMatcher, type AddressMatcher } from "../../core/net/intervals.ts";
import { NO_LOCAL, type LocalAddresses } from "../../core/net/special.ts";
import { policyDigest } from "../../core/ruleset/digest.ts";
import type { Decision, Policy } from "../../core/policy/types.ts";
import { createHash } from "node:crypto";

export interface GuardSettings {
  privateAnswers: PrivateAnswers;
  local: LocalAddresses;
}

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
  /** the layered decision for an address (deny wins: always/layered.ts) */
  matchAddress: AddressMatcher;
  /** which answered addresses may be learned (deny rules, non-public addresses) */
  guard: AddressGuard;
  guardSettings: GuardSettings;
  /** log_skip.always: an allowed resolution of this name is not logged */
  logSkip: (name: string) => boolean;
  appliedAt: number;
}

const DEFAULT_GUARD: GuardSettings = { privateAnswers: "guard", local: NO_LOCAL };

export function compilePolicy(
  policy: Policy,
  source: string,
  path: string | undefined,
  now: number,
  always: AlwaysRules = noAlwaysRules(),
  guard: GuardSettings = DEFAULT_GUARD,
): LivePolicy {
  const matchAddress = layeredAddresses(always, compileAddressMatcher(policy));
  const decide = layeredNames(always, compileDomainMatcher(policy));
  return {
    policy,
    source,
    path,
    digest: policyDigest(policy),
    always,
    alwaysDigest: createHash("sha256").update(alwaysKey(always)).digest("hex"),
    decide,
    matchAddress,
    guard: guardFor(policy, matchAddress, guard, decide),
    guardSettings: guard,
    logSkip: logSkipMatcher(always),
    appliedAt: now,
  };
}

/** the same policy under other always lists (a change of the files) */
export function withAlways(live: LivePolicy, always: AlwaysRules): LivePolicy {
  return compilePolicy(live.policy, live.source, live.path, live.appliedAt, always, live.guardSettings);
}

/** The same policy with a guard for other local addresses (they changed). */
export function withLocal(live: LivePolicy, local: LocalAddresses): LivePolicy {
  const guardSettings = { ...live.guardSettings, local };
  return { ...live, guardSettings, guard: guardFor(live.policy, live.matchAddress, guardSettings, live.decide) };
}

/**
 * An explicit allow that opens a non-public address may come from the policy or from
 * allow.always (an address rule of the operator's list); deny.always and the policy's
 * deny rules stop learning whatever the allow lists say (the layered matcher's order).
 * A name the operator lists exactly in allow.always is trusted: its non-public answers
 * are learned (an in-cluster service's ClusterIP), see trustedName.
 */
function guardFor(policy: Policy, matchAddress: AddressMatcher, g: GuardSettings, decide: (name: string) => Decision): AddressGuard {
  return compileGuard({ matchAddress, defaultAction: policy.defaultAction, privateAnswers: g.privateAnswers, local: g.local, trusted: (name) => trustedName(decide(name)) });
}

/** the OpenSandbox-style summary of a policy: allow_all, deny_all or enforcing */
export function policyMode(p: Policy): "allow_all" | "deny_all" | "enforcing" {
  if (p.rules.length === 0) return p.defaultAction === "allow" ? "allow_all" : "deny_all";
  return "enforcing";
}
