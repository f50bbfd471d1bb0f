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
//
// The same record counts the elements per family, for the learned sets' bound
// (bounds.ts): kept also where re-adding does not refresh timeouts (`skip: false`:
// every answer is written then, but still counted).
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

export interface KernelExpiryOptions {
  /** seconds written on top of what an answer needs (default HEADROOM_SEC) */
  headroomSec?: number;
  /** no element is written for longer than this (seconds; default: no cap) */
  maxLifetimeSec?: number;
  /** skip answers the kernel already covers (default true; false where re-adding does not refresh) */
  skip?: boolean;
}

/** a sweep to make room runs at most this often: a full set is not swept per answer */
const ROOM_SWEEP_MS = 1000;

export class KernelExpiry {
  private until = new Map<string, number>();
  /**
   * Elements recorded before a clear(): not trusted for skipping any more (the sets may
   * have been created anew), still counted toward the bound until they expire or are
   * written again (then they move back to `until`). The count errs high, never low.
   */
  private unsure = new Map<string, number>();
  private lastSweep = 0;
  private readonly counts = { 4: 0, 6: 0 };
  private readonly headroomSec: number;
  private readonly maxLifetimeSec: number;
  private readonly skip: boolean;

  constructor(opts: KernelExpiryOptions | number = {}) {
    const o = typeof opts === "number" ? { headroomSec: opts } : opts;
    this.headroomSec = o.headroomSec ?? HEADROOM_SEC;
    this.maxLifetimeSec = o.maxLifetimeSec ?? Number.POSITIVE_INFINITY;
    this.skip = o.skip ?? true;
  }

  /**
   * The elements of `needed` the kernel does not already hold for at least their
   * `timeoutSec` from `now`, each with the timeout to write (needed + headroom, at most
   * the lifetime bound). Empty when the kernel already covers them all: the answer can
   * go out at once.
   */
  plan(needed: readonly LearnElement[], now: number): LearnElement[] {
    const out: LearnElement[] = [];
    for (const e of needed) {
      if (this.skip) {
        const until = this.until.get(e.address);
        if (until !== undefined && until >= now + e.timeoutSec * 1000) continue;
      }
      out.push({ family: e.family, address: e.address, timeoutSec: Math.min(this.maxLifetimeSec, e.timeoutSec + this.headroomSec) });
    }
    return out;
  }

  /**
   * How many more elements of `family` fit below `max` at `now`. Swept first when the
   * record says full (at most once a second), so expired elements make room.
   */
  room(family: 4 | 6, max: number, now: number): number {
    if (this.counts[family] >= max && now - this.lastSweep >= ROOM_SWEEP_MS) this.sweep(now);
    return Math.max(0, max - this.counts[family]);
  }

  /** elements recorded per family (expired ones until the next sweep) */
  count(family: 4 | 6): number {
    return this.counts[family];
  }

  /**
   * Records elements the kernel committed. `now` must be taken before the write: the
   * kernel's clock for the element starts at the commit, so the record errs short.
   */
  wrote(elements: readonly LearnElement[], now: number): void {
    if (now - this.lastSweep >= SWEEP_EVERY_MS) this.sweep(now);
    // A re-add sets the element's timeout to what is written (Linux >= 6.10), and
    // plan() only ever writes more than what is recorded, so the new value replaces it.
    for (const e of elements) this.set(e.address, now + e.timeoutSec * 1000);
  }

  /** Addresses removed from the kernel (prune, adoption): the next answer writes them. */
  forget(addresses: readonly { address: string }[]): void {
    for (const a of addresses) this.drop(a.address);
  }

  /**
   * The kernel may have lost everything (the table was replaced): write everything again.
   * The elements stay counted until they expire: if the sets did survive, they are full
   * of them still.
   */
  clear(): void {
    for (const [a, u] of this.until) this.unsure.set(a, u);
    this.until.clear();
  }

  /**
   * Elements found in the kernel (adoption at start): counted toward the bound, not
   * trusted for skipping (their expiry was read before `now`, so a record of it could
   * err long): the first answer for each writes it again.
   */
  found(elements: readonly LearnElement[], now: number): void {
    for (const e of elements) {
      if (this.until.has(e.address) || this.unsure.has(e.address)) continue;
      this.unsure.set(e.address, now + e.timeoutSec * 1000);
      this.counts[e.family]++;
    }
  }

  /** The learned sets were emptied: nothing is in them any more. */
  empty(): void {
    this.until.clear();
    this.unsure.clear();
    this.counts[4] = this.counts[6] = 0;
  }

  /** Whether `address` counts as being in the kernel at `now` (for the bound). */
  counted(address: string, now: number): boolean {
    return (this.until.get(address) ?? this.unsure.get(address) ?? 0) > now;
  }

  /** Known until when the kernel holds `address` (monotonic ms), for tests and doctor. */
  holds(address: string, now: number): number | null {
    const u = this.until.get(address);
    return u !== undefined && u > now ? u : null;
  }

  get size(): number {
    return this.until.size + this.unsure.size;
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [a, u] of this.until) if (u <= now) this.drop(a);
    for (const [a, u] of this.unsure) if (u <= now) this.drop(a);
  }

  private set(address: string, until: number): void {
    if (this.unsure.delete(address)) this.until.set(address, until);
    else {
      if (!this.until.has(address)) this.counts[familyOf(address)]++;
      this.until.set(address, until);
    }
  }

  private drop(address: string): void {
    if (this.until.delete(address) || this.unsure.delete(address)) this.counts[familyOf(address)]--;
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

const familyOf = (address: string): 4 | 6 => (address.includes(":") ? 6 : 4);
