// Keeps the address guard's view of this namespace's own addresses and gateways current:
// re-read from /proc/net every second (cheap: a few small text files; netlink route
// notifications would need a socket polled on a timer all the same). When they changed,
// the policy in force gets a guard for the new set (one object swap, as a reload, and in
// the kernel lane like one, so neither undoes the other), the change is logged, and
// learned addresses the guard now rejects (an address that became the namespace's own)
// are removed from the kernel. An address added between two reads
// counts from the next read: at most a second later.
import type { LearnTable } from "../../core/learn/table.ts";
import { localSignature } from "../../core/net/local-addresses.ts";
import { formatAddress } from "../../core/net/ip.ts";
import type { LocalAddresses } from "../../core/net/special.ts";
import type { EventLog } from "../../effects/log/events.ts";
import { readLocalAddresses } from "../../effects/sys/local-addresses.ts";
import type { Enforcer } from "./enforcer.ts";
import { withLocal, type LivePolicy } from "./live-policy.ts";
import { removeGuarded, type PendingRemovals } from "./remove-learned.ts";

const LOCAL_REREAD_MS = 1000;

export interface LocalWatchContext {
  live(): LivePolicy;
  swap(next: LivePolicy): void;
  table: LearnTable;
  enforcer: Pick<Enforcer, "exclusive">;
  log: EventLog;
  pending: PendingRemovals;
}

export function watchLocalAddresses(initial: LocalAddresses, ctx: LocalWatchContext, read = readLocalAddresses): ReturnType<typeof setInterval> {
  let signature = localSignature(initial);
  return setInterval(() => {
    try {
      const { local } = read();
      const next = localSignature(local);
      if (next === signature) return;
      signature = next;
      void ctx.enforcer
        .exclusive(async (k) => {
          const live = withLocal(ctx.live(), local);
          ctx.swap(live);
          ctx.log.emit("guard.local", { addresses: localList(local) });
          await removeGuarded(k.forget, ctx.table, live.guard, ctx.log, "guard", ctx.pending);
        })
        .catch((e) => ctx.log.emitLimited("guard.local", "serve.error", { what: "local addresses", error: (e as Error).message }, "error"));
    } catch (e) {
      // a timer's exception would end serve; the guard keeps the previous set meanwhile
      ctx.log.emitLimited("guard.local", "serve.error", { what: "local addresses", error: (e as Error).message }, "error");
    }
  }, LOCAL_REREAD_MS);
}

/** "192.0.2.2: address", "192.0.2.1: gateway via eth0", ... for logs and /status */
export function localList(l: LocalAddresses): string[] {
  const out: string[] = [];
  for (const f of [4, 6] as const) for (const [v, what] of l[f]) out.push(`${formatAddress(f, v)}: ${what}`);
  return out;
}
