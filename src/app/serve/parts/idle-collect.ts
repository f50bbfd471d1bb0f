// The idle collector: once a burst of DNS is over, one full garbage collection, so the
// memory the burst's short-lived objects took goes back (the allocator returns freed
// pages to the system shortly after) instead of staying resident until the collector
// happens to run. Only when serve has nothing to answer: a query that arrives during
// the collection waits for it (a few milliseconds).
import type { Part } from "../../../core/lifecycle/lifecycle.ts";

/** how often the query count is looked at; a look with no new query means idle */
const IDLE_TICK_MS = 250;
/** queries answered since the last collection that make a burst worth collecting after */
export const BURST_QUERIES = 20_000;

export function idleCollectPart(queries: () => number, collect: () => void = () => Bun.gc(true), tickMs = IDLE_TICK_MS): Part {
  let timer: ReturnType<typeof setInterval> | null = null;
  return {
    name: "idle collector",
    start() {
      let last = queries();
      let since = 0;
      timer = setInterval(() => {
        const n = queries();
        if (n !== last) {
          since += n - last;
          last = n;
        } else if (since >= BURST_QUERIES) {
          since = 0;
          collect();
        }
      }, tickMs);
      timer.unref?.();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}
