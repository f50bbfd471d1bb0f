// Removing learned addresses from the kernel (a reload's prune, adoption's removals).
// If the kernel refuses, the enforcer has emptied the learned sets instead (fail closed);
// the name table must then forget everything too, or it would believe in elements the
// kernel no longer holds. Said loudly: every allowed name is learned again on its next
// answer, but programs that cached an address see refused connections until then.
import type { LearnTable } from "../../core/learn/table.ts";
import type { EventLog } from "../../effects/log/events.ts";
import type { Enforcer } from "./enforcer.ts";

export function removeLearned(
  enforcer: Enforcer,
  table: LearnTable,
  addresses: { family: 4 | 6; address: string }[],
  log: EventLog,
  why: string,
): void {
  const r = enforcer.forget(addresses);
  if (r.ok) return;
  table.clear();
  log.emit("learned.flushed", { why, error: r.error, flushed: r.flushed, addresses: addresses.length }, "error");
}
