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
  // The same addresses come back answer after answer: the verdict is kept per address
  // text (the guard is rebuilt with every policy, and so is this cache). Bounded: when
  // full it starts over, which costs a re-parse, never a wrong verdict.
  const verdicts = new Map<string, boolean>();
  return (a) => {
    const known = verdicts.get(a.address);
    if (known !== undefined) return known;
    const parsed = parseAddress(a.address);
    const d = parsed ? matchAddress(parsed) : null;
    const ok = d !== null && !(d.action === "deny" && d.rule !== undefined);
    if (verdicts.size >= GUARD_CACHE) verdicts.clear();
    verdicts.set(a.address, ok);
    return ok;
  };
}

/** addresses whose verdict is remembered per policy */
export const GUARD_CACHE = 8192;
