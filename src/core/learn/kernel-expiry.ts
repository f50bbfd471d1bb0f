// What the kernel already holds: per learned address, until when (monotonic ms) the
// element we last wrote lasts. An answer whose addresses the kernel already holds long
// enough needs no kernel write at all, which is most answers (the same addresses come
// back again and again). Pure, with time passed in.
//
// Only what we wrote and saw committed is recorded, so the record can be too short (an
// element still in the kernel that we do not know of: it is written again, harmless)
// but never too long, as long as every removal goes through forget(): kernel timeouts
// are tracked here, prune/forget and failed writes are reported by the caller.
// Monotonic time, because kernel timeouts are relative: a wall-clock step backwards
// must not make an expired element look present.
import type { LearnElement } from "./table.ts";

/**
 * Written on top of the lifetime an answer needs, so the next answers for the same
 * address find it covered and write nothing: an address answered steadily is refreshed
 * once per HEADROOM_SEC instead of once per answer. The price: an element may stay in
 * the kernel up to this much longer than the longest TTL that asked for it.
 */
export const HEADROOM_SEC = 60;

/** expired records are swept at most this often, so memory follows the kernel */
const SWEEP_EVERY_MS = 30_000;

export class KernelExpiry {
  private until = new Map<string, number>();
  private lastSweep = 0;

  constructor(private readonly headroomSec = HEADROOM_SEC) {}

  /**
   * The elements of `needed` the kernel does not already hold for at least their
   * `timeoutSec` from `now`, each with the timeout to write (needed + headroom).
   * Empty when the kernel already covers them all: the answer can go out at once.
   */
  plan(needed: readonly LearnElement[], now: number): LearnElement[] {
    const out: LearnElement[] = [];
    for (const e of needed) {
      const until = this.until.get(e.address);
      if (until !== undefined && until >= now + e.timeoutSec * 1000) continue;
      out.push({ family: e.family, address: e.address, timeoutSec: e.timeoutSec + this.headroomSec });
    }
    return out;
  }

  /**
   * Records elements the kernel committed. `now` must be taken before the write: the
   * kernel's clock for the element starts at the commit, so the record errs short.
   */
  wrote(elements: readonly LearnElement[], now: number): void {
    if (now - this.lastSweep >= SWEEP_EVERY_MS) this.sweep(now);
    // A re-add sets the element's timeout to what is written (Linux >= 6.10), and
    // plan() only ever writes more than what is recorded, so the new value replaces it.
    for (const e of elements) this.until.set(e.address, now + e.timeoutSec * 1000);
  }

  /** Addresses removed from the kernel (prune, adoption): the next answer writes them. */
  forget(addresses: readonly { address: string }[]): void {
    for (const a of addresses) this.until.delete(a.address);
  }

  /** The kernel may have lost everything (the table was replaced): write everything again. */
  clear(): void {
    this.until.clear();
  }

  /** Known until when the kernel holds `address` (monotonic ms), for tests and doctor. */
  holds(address: string, now: number): number | null {
    const u = this.until.get(address);
    return u !== undefined && u > now ? u : null;
  }

  get size(): number {
    return this.until.size;
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [a, u] of this.until) if (u <= now) this.until.delete(a);
  }
}

/**
 * Whether re-adding an element refreshes its timeout (Linux >= 6.10). Before that the
 * element keeps its first expiry, so a record of what we wrote would outlive the
 * element: the caller then writes every answer, as without this record.
 */
export function refreshesTimeouts(release: string): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) return false;
  const major = Number(m[1]);
  return major > 6 || (major === 6 && Number(m[2]) >= 10);
}
