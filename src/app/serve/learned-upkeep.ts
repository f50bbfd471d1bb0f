// Serve's upkeep of what it learned: adopting a killed predecessor's learned elements,
// turning the kernel's denied-flow sets into net.denied events, and picking a learned
// address the self-test can look for in the kernel.
import { Adoption, type AdoptableEntry } from "../../core/learn/adopt.ts";
import type { LearnTable } from "../../core/learn/table.ts";
import { DeniedFlowTracker } from "../../core/events/net-denied.ts";
import type { Ring } from "../../core/events/ring.ts";
import type { EventLog } from "../../effects/log/events.ts";
import type { Enforcer } from "./enforcer.ts";
import type { LivePolicy } from "./live-policy.ts";
import { removeLearned, type PendingRemovals } from "./remove-learned.ts";

/**
 * Takes over the learned elements a killed serve left in the kernel (docs/serve.md).
 * Removed instead: those of names the policy does not allow, those that outlive the
 * lifetime bound (a longer-lived element is learned again when its name is asked
 * again), and those the address guard would not learn today.
 */
export async function adopt(enforcer: Enforcer, table: LearnTable, live: () => LivePolicy, log: EventLog, pending: PendingRemovals, maxLifetimeSec: number): Promise<void> {
  if (enforcer.mode !== "dns+nftables") return;
  const t0 = performance.now();
  // Each slice (about 2,048, from the kernel I/O thread) is judged as it arrives, by the
  // policy in force then, while that thread reads the rest: the kernel's dump of a full
  // set and this work overlap, and DNS is answered between slices.
  const admissible = (e: AdoptableEntry) => e.expiresSec <= maxLifetimeSec && live().guard(e, e.name!).learn;
  const adoption = new Adoption(table, Date.now(), admissible);
  const entries: AdoptableEntry[] = [];
  // Slices can arrive faster than they are judged, and the thread's messages may be
  // handled back to back: they queue here and are taken one per turn of the event loop.
  const queue: AdoptableEntry[][] = [];
  let taking: Promise<void> | null = null;
  let failure: unknown = null;
  const takeQueued = async () => {
    for (let slice = queue.shift(); slice; slice = queue.shift()) {
      adoption.take(slice);
      await new Promise<void>((r) => setImmediate(r));
    }
  };
  const whole = await enforcer.learnedEntries((slice) => {
    queue.push(slice);
    for (const e of slice) entries.push(e);
    taking ??= takeQueued()
      .catch((e) => void (failure ??= e))
      .finally(() => (taking = null));
  });
  await taking;
  if (failure) throw failure;
  if (entries.length === 0 && whole) return;
  const policy = live();
  const { adopted, remove } = adoption.finish((name) => policy.decide(name).action === "allow");
  const removing = new Set(remove.map((r) => r.address));
  enforcer.adopted(entries.filter((e) => !removing.has(e.address)).map((e) => ({ family: e.family, address: e.address, timeoutSec: e.expiresSec })));
  await removeLearned((a) => enforcer.forget(a), table, remove, log, "adoption", pending);
  // not whole: neither netlink nor libnftables read the sets through; what was read is
  // adopted, the rest stays in the kernel unjudged until its own lifetime ends
  const fields = { adopted, removed: remove.length, ms: Math.round(performance.now() - t0) };
  if (whole) log.emit("learned.adopted", fields);
  else log.emit("learned.adopted", { ...fields, incomplete: true }, "warn");
}

/**
 * net.denied events: once a second, the flows the kernel noted in its denied sets that
 * were not there at the last look, with the name the address was learned under when
 * serve knows it (an address learned, then cut off by a deny CIDR, DoT or DoH rule).
 * The sets are read over netlink by the kernel I/O thread; a read still under way (a
 * slow kernel) makes the next tick wait its turn rather than pile up.
 */
export function watchNetDenied(enforcer: Pick<Enforcer, "deniedFlows">, table: LearnTable, log: EventLog, violations: Ring<Record<string, unknown>>, everyMs = 1000): ReturnType<typeof setInterval> {
  const tracker = new DeniedFlowTracker();
  let reading = false;
  return setInterval(async () => {
    if (reading) return;
    reading = true;
    try {
      const flows = await enforcer.deniedFlows();
      const now = Date.now();
      for (const f of tracker.newFlows(flows)) {
        const name = table.namesOf(f.destination, now)[0];
        const rec = { destination: f.destination, port: f.port, protocol: f.protocol, reason: f.reason ?? "unknown", ...(name ? { name } : {}) };
        violations.push({ event: "net.denied", at: new Date(now).toISOString(), ...rec });
        log.emitLimited(f.destination, "net.denied", rec, "warn");
      }
    } catch (e) {
      // a timer's exception would end serve; the events are worth less than the process
      log.emitLimited("net.denied", "serve.error", { what: "net.denied", error: (e as Error).message }, "error");
    } finally {
      reading = false;
    }
  }, everyMs);
}
