// The learner part: the name table (name -> addresses, with expiry), the proxy's learn
// sink (record the answer, then write its addresses into the kernel before the answer
// is sent), adoption of what a killed predecessor learned (at start), and the removals
// the kernel refused, retried by the self-test. Pruning on reload goes through the
// policy source, which hands the table to the reloader.
import type { Part } from "../../../core/lifecycle/lifecycle.ts";
import { tableSink } from "../../../core/learn/sink.ts";
import { LearnTable, type LearnBatch, type LearnSink } from "../../../core/learn/table.ts";
import type { AddressGuard } from "../../../core/learn/guard.ts";
import type { EventLog } from "../../../effects/log/events.ts";
import type { Enforcer } from "../enforcer.ts";
import { adopt } from "../learned-upkeep.ts";
import { PendingRemovals } from "../remove-learned.ts";
import type { PolicyView } from "./live-cell.ts";

export interface LearnerInputs {
  enforcer: Enforcer;
  policy: PolicyView;
  log: EventLog;
  /** the lifetime bound: adopted elements that outlive it are removed */
  maxLifetimeSec: number;
}

export interface Learner extends Part {
  readonly table: LearnTable;
  readonly pending: PendingRemovals;
  /** the proxy's learn sink; null where nothing is learned (dns-only, disabled) */
  readonly sink: LearnSink | null;
  /** which answered addresses may be learned; null where nothing is learned */
  readonly guard: AddressGuard | null;
}

export function learnerPart(i: LearnerInputs): Learner {
  const { enforcer, policy } = i;
  const table = new LearnTable();
  const pending = new PendingRemovals();
  // Modes that learn nothing keep no table and check no rebinding guard per answer.
  const learning = enforcer.mode === "dns+nftables";
  // A query allowed when it arrived may be answered after a reload denied its name: the
  // reload's prune has already run, so learning now would reopen what it closed. It is
  // checked when the answer arrives, and again (stillAllowed) by the enforcer's writer
  // right before the kernel write, in its job of the kernel lane: reloads run in that
  // lane too, so none falls between the check and the write (and a reload's forget
  // writes what waits first). Refusing makes the proxy answer SERVFAIL.
  const stillAllowed = (name: string) => policy.live.decide(name).action === "allow";
  const toKernel = tableSink(table, (els, name) => enforcer.learn(els, name, stillAllowed), Date.now);
  const sink: LearnSink = (batch: LearnBatch) => {
    if (policy.live.decide(batch.name).action !== "allow") return Promise.reject(new Error(`${batch.name} was denied by a reload while its answer was in flight`));
    return toKernel(batch);
  };
  return {
    name: "learner",
    table,
    pending,
    sink: learning ? sink : null,
    guard: learning ? (addr, name) => policy.live.guard(addr, name) : null,
    // what a killed serve learned: taken over (or removed) while DNS is answered
    start: () => adopt(enforcer, table, () => policy.live, i.log, pending, i.maxLifetimeSec),
    stop() {},
  };
}
