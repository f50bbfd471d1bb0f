// Does re-adding an existing set element with a new timeout refresh its expiry on this
// kernel? Linux 6.10 made it so; before, the element keeps its first expiry (docs/serve.md, "Learning").
// Detected, not assumed: a sentinel element goes into a set of its own (created for
// this and deleted after, shaped like learned4) with a 2 s timeout, is re-added with
// 120 s, and read back. A set of its own, because learned4 may be full (its size is the
// learned bound) and because reading learned4 back through libnftables fetches every
// element it holds (seconds when full). 0.0.0.1 is in 0.0.0.0/8 ("this network"): no
// packet can be sent to it, and the probe set is referenced by no rule anyway. Needs the
// table (run after the first install). EGRESSCTL_ELEMENT_REFRESH=refresh|replace
// overrides the detection (tests of the replace path on a new kernel; docs/serve.md).
import { REFRESH_PROBE_SET, TABLE_FAMILY, TABLE_NAME } from "../../core/ruleset/names.ts";
import { refreshesTimeouts } from "../../core/learn/kernel-expiry.ts";
import type { NftBackend } from "./backend.ts";

export type RefreshMethod = "refresh" | "replace";

const SENTINEL = "0.0.0.1";
const SET = `${TABLE_FAMILY} ${TABLE_NAME} ${REFRESH_PROBE_SET}`;

export function detectElementRefresh(nft: NftBackend, forced: RefreshMethod | undefined, release: string): { method: RefreshMethod; how: string } {
  if (forced) return { method: forced, how: "EGRESSCTL_ELEMENT_REFRESH" };
  try {
    if (!nft.run(`add set ${SET} { type ipv4_addr; flags timeout; }`).ok) throw new Error("add set");
    if (!nft.run(`add element ${SET} { ${SENTINEL} timeout 2s }`).ok) throw new Error("add");
    if (!nft.run(`add element ${SET} { ${SENTINEL} timeout 120s }`).ok) throw new Error("re-add");
    const got = nft.run(`list set ${SET}`);
    if (!got.ok) throw new Error("list");
    const left = expiresSeconds(got.output);
    if (left === null) throw new Error("no expiry in the listing");
    return { method: left > 10 ? "refresh" : "replace", how: `measured: a re-added element had ${left.toFixed(0)} s left` };
  } catch (e) {
    // could not measure: judge by the kernel release instead
    const method = refreshesTimeouts(release) ? "refresh" : "replace";
    return { method, how: `kernel ${release} (measuring failed: ${(e as Error).message})` };
  } finally {
    nft.run(`add set ${SET} { type ipv4_addr; flags timeout; }\ndelete set ${SET}`);
  }
}

/** "expires 1m59s980ms" -> 119.98; null when absent. */
export function expiresSeconds(listing: string): number | null {
  const m = /expires ((?:\d+(?:d|h|ms|m|s))+)/.exec(listing);
  if (!m) return null;
  const unit: Record<string, number> = { d: 86400, h: 3600, m: 60, s: 1, ms: 0.001 };
  let total = 0;
  for (const [, n, u] of m[1]!.matchAll(/(\d+)(d|h|ms|m|s)/g)) total += Number(n) * unit[u!]!;
  return total;
}
