// Does re-adding an existing set element with a new timeout refresh its expiry on this
// kernel? Linux 6.10 made it so; before, the element keeps its first expiry (FACTS.md).
// Detected, not assumed: a sentinel element goes into learned4 with a 2 s timeout, is
// re-added with 120 s, and read back. 0.0.0.1 is in 0.0.0.0/8 ("this network", RFC 1122):
// no packet can be sent to it, so allowing it for a moment opens nothing. Needs the table
// (run after the first install). EGRESSCTL_ELEMENT_REFRESH=refresh|replace overrides the
// detection (tests of the replace path on a new kernel; docs/serve.md).
import { LEARNED_V4, TABLE_FAMILY, TABLE_NAME } from "../../core/ruleset/names.ts";
import { renderForget } from "../../core/ruleset/learn.ts";
import { refreshesTimeouts } from "../../core/learn/kernel-expiry.ts";
import type { NftBackend } from "./backend.ts";

export type RefreshMethod = "refresh" | "replace";

const SENTINEL = "0.0.0.1";
const SET = `${TABLE_FAMILY} ${TABLE_NAME} ${LEARNED_V4}`;

export function detectElementRefresh(nft: NftBackend, env: Record<string, string | undefined>, release: string): { method: RefreshMethod; how: string } {
  const forced = env.EGRESSCTL_ELEMENT_REFRESH;
  if (forced === "refresh" || forced === "replace") return { method: forced, how: "EGRESSCTL_ELEMENT_REFRESH" };
  try {
    if (!nft.run(`add element ${SET} { ${SENTINEL} timeout 2s }`).ok) throw new Error("add");
    if (!nft.run(`add element ${SET} { ${SENTINEL} timeout 120s }`).ok) throw new Error("re-add");
    const got = nft.run(`get element ${SET} { ${SENTINEL} }`);
    if (!got.ok) throw new Error("get");
    const left = expiresSeconds(got.output);
    if (left === null) throw new Error("no expiry in the listing");
    return { method: left > 10 ? "refresh" : "replace", how: `measured: a re-added element had ${left.toFixed(0)} s left` };
  } catch (e) {
    // could not measure: judge by the kernel release instead
    const method = refreshesTimeouts(release) ? "refresh" : "replace";
    return { method, how: `kernel ${release} (measuring failed: ${(e as Error).message})` };
  } finally {
    nft.run(renderForget([{ family: 4, address: SENTINEL }]));
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
