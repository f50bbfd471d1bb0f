// The parts that keep watch once serve is ready: the kernel's denied-flow sets turned
// into net.denied events (read once a second, over netlink, in the kernel I/O thread),
// and the namespace's own addresses and gateways for the address guard (re-read once a
// second; local-watch.ts). Each is a timer started and stopped with serve.
import type { Part } from "../../../core/lifecycle/lifecycle.ts";
import type { Ring } from "../../../core/events/ring.ts";
import type { LearnTable } from "../../../core/learn/table.ts";
import type { LocalAddresses } from "../../../core/net/special.ts";
import type { EventLog } from "../../../effects/log/events.ts";
import type { Enforcer } from "../enforcer.ts";
import { watchNetDenied } from "../learned-upkeep.ts";
import { watchLocalAddresses } from "../local-watch.ts";
import type { Learner } from "./learner.ts";
import type { LiveCell } from "./live-cell.ts";

function timerPart(name: string, begin: () => ReturnType<typeof setInterval>): Part {
  let timer: ReturnType<typeof setInterval> | null = null;
  return {
    name,
    start() {
      timer = begin();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}

export function netDeniedPart(enforcer: Pick<Enforcer, "deniedFlows">, table: LearnTable, log: EventLog, violations: Ring<Record<string, unknown>>): Part {
  return timerPart("net.denied watch", () => watchNetDenied(enforcer, table, log, violations));
}

export function localAddressPart(initial: LocalAddresses, cell: LiveCell, enforcer: Pick<Enforcer, "exclusive">, learner: Pick<Learner, "table" | "pending">, log: EventLog): Part {
  return timerPart("local-address watch", () =>
    watchLocalAddresses(initial, { live: () => cell.live, swap: (next) => cell.swap(next), table: learner.table, enforcer, log, pending: learner.pending }),
  );
}
