// Removing learned addresses from the kernel (a reload's prune, adoption's removals,
// addresses the address guard rejects after a change).
// If the kernel refuses, the enforcer empties the learned sets instead (fail closed); the
// name table must then forget everything too, or it would believe in elements the kernel
// no longer holds. If even that fails, the addresses stay pending: retried on every
// self-test until the kernel takes the removal, and reported by the self-test meanwhile.
import type { AddressGuard } from "../../core/learn/guard.ts";
import type { LearnTable } from "../../core/learn/table.ts";
import type { EventLog } from "../../effects/log/events.ts";
import type { ForgetResult } from "./enforcer.ts";

type Address = { family: 4 | 6; address: string };

/** the kernel removal: the enforcer's `forget`, or a session's inside a reload */
export type Forget = (addresses: Address[]) => Promise<ForgetResult>;

export class PendingRemovals {
  private left = new Map<string, Address>();

  get size(): number {
    return this.left.size;
  }

  add(list: readonly Address[]): void {
    for (const a of list) this.left.set(a.address, a);
  }

  /** Tries again; true when nothing is pending any more. */
  async retry(forget: Forget, table: LearnTable, log: EventLog): Promise<boolean> {
    if (this.left.size === 0) return true;
    const list = [...this.left.values()];
    this.left.clear();
    await removeLearned(forget, table, list, log, "retry", this);
    return this.left.size === 0;
  }
}

export async function removeLearned(forget: Forget, table: LearnTable, addresses: Address[], log: EventLog, why: string, pending: PendingRemovals): Promise<void> {
  // A reload calls this after its swap, when the change has landed: an exception here
  // must neither reach the caller (the HTTP API would answer 500 for a change in force)
  // nor lose the addresses. It counts as a removal the kernel did not take.
  let r: ForgetResult;
  try {
    r = await forget(addresses);
  } catch (e) {
    r = { ok: false, error: `unexpected error: ${(e as Error).message}`, flushed: false };
  }
  if (r.ok) {
    if (why === "retry") log.emit("learned.removed", { why, addresses: addresses.length }, "warn");
    return;
  }
  if (r.flushed) {
    table.clear();
    log.emit("learned.flushed", { why, error: r.error, addresses: addresses.length }, "error");
    return;
  }
  pending.add(addresses);
  log.emit("learned.remove_failed", { why, error: r.error, pending: pending.size }, "error");
}

/**
 * Removes learned addresses the guard in force rejects now (a reload took away the allow
 * rule that opened a private range, or an address became the namespace's own): from the
 * table under every name, then from the kernel, as a prune does.
 */
export async function removeGuarded(forget: Forget, table: LearnTable, guard: AddressGuard, log: EventLog, why: string, pending: PendingRemovals): Promise<void> {
  const now = Date.now();
  const drop = table.dropAddresses((a) => !guard(a, table.namesOf(a.address, now)[0] ?? "").learn);
  if (drop.length) await removeLearned(forget, table, drop, log, why, pending);
}
