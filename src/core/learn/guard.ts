// The rebinding guard: an address inside a deny CIDR of the policy is never learned,
// whichever allowed name it came from. The answer itself is passed on untouched (the
// client sees what the resolver said); the kernel filter keeps the address unreachable
// because it was never added, and the deny interval set rejects it anyway.
import type { Address } from "../net/ip.ts";
import { parseAddress } from "../net/ip.ts";
import type { Decision } from "../policy/types.ts";
import type { LearnedAddress } from "../dns/answer.ts";

/**
 * Builds `shouldLearn` from the policy's address matcher. Only an explicit deny rule
 * blocks learning: the default action says nothing about learned addresses (with
 * defaultAction deny, every learned address would otherwise be refused).
 */
export function rebindingGuard(matchAddress: (a: Address) => Decision): (a: LearnedAddress) => boolean {
  return (a) => {
    const parsed = parseAddress(a.address);
    if (!parsed) return false;
    const d = matchAddress(parsed);
    return !(d.action === "deny" && d.rule !== undefined);
  };
}
