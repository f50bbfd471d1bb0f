// The policy in force, as one value the parts share: the policy source swaps it (a
// reload, an API change, the always lists, the namespace's own addresses; each in a
// job of the kernel lane), every other part only reads it. Reading it once per query
// means a query sees the old or the new policy, never half of each.
import type { LivePolicy } from "../live-policy.ts";

export class LiveCell {
  constructor(private current: LivePolicy) {}

  get live(): LivePolicy {
    return this.current;
  }

  swap(next: LivePolicy): void {
    this.current = next;
  }
}

/** what reading parts are given: the policy in force, never the means to change it */
export type PolicyView = Pick<LiveCell, "live">;
