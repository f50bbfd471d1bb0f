// The in-process record of what was learned: name -> addresses with expiry, and the
// reverse (address -> names sharing it). Pure, with time passed in (milliseconds).
// The kernel's timed sets enforce; this table exists to answer "which addresses does no
// allowed name need any more" on a policy change, to give each kernel element the
// longest lifetime any of its names needs, and to show /learned.
import type { LearnedAddress } from "../dns/answer.ts";

export interface LearnBatch {
  /** the allowed query name the addresses were learned under */
  name: string;
  addresses: readonly LearnedAddress[];
  /** seconds, already clamped to LEARN_TTL_MIN..LEARN_TTL_MAX */
  ttl: number;
}

/**
 * Called by the proxy before it sends the answer. Nothing returned: the addresses are
 * already enforced, answer now. A promise: awaited first; a rejection (or a throw)
 * makes the answer SERVFAIL.
 */
export type LearnSink = (batch: LearnBatch) => Promise<void> | void;

/** What the kernel adapter adds: the element and the timeout it should carry. */
export interface LearnElement extends LearnedAddress {
  timeoutSec: number;
}

/** At least 256 per name are promised (docs/dns.md, "The learned table"); 1024 leaves room for large CDN pools. */
export const MAX_PER_NAME = 1024;
/**
 * Names held at once. A wildcard allow over a zone that answers every name (a wildcard
 * record) would otherwise let a program grow the table without bound, one random name
 * per query. When full, the name answered longest ago is forgotten (O(1), Map order);
 * its kernel elements simply live out their timeouts.
 */
export const MAX_NAMES = 65_536;
/** expired entries are swept at most this often, so the table follows the TTLs */
const SWEEP_EVERY_MS = 30_000;

interface Entry extends LearnedAddress {
  expiresAt: number;
}

export class LearnTable {
  private byName = new Map<string, Map<string, Entry>>();
  private byAddress = new Map<string, Set<string>>();
  private lastSweep = 0;

  constructor(
    private readonly maxPerName = MAX_PER_NAME,
    private readonly maxNames = MAX_NAMES,
  ) {}

  /**
   * Records a batch and returns the elements for the kernel, each with the longest
   * remaining lifetime among all names holding it: a short-TTL name sharing an address
   * must not cut short the element a long-TTL name still needs (a re-add resets expiry).
   */
  add(batch: LearnBatch, now: number): LearnElement[] {
    if (now - this.lastSweep >= SWEEP_EVERY_MS) this.expire(now);
    const entries = this.entriesOf(batch.name);
    const expiresAt = now + batch.ttl * 1000;
    const out: LearnElement[] = [];
    for (const a of batch.addresses) {
      this.hold(batch.name, entries, a, expiresAt);
      out.push({ family: a.family, address: a.address, timeoutSec: Math.ceil((this.latestExpiry(a.address, now) - now) / 1000) });
    }
    return out;
  }

  /**
   * One element a previous serve left in the kernel (adoption): recorded like `add`, but
   * returns nothing to write (it is in the kernel). Tens of thousands at start, while
   * DNS waits: no arrays, no lifetime computation.
   */
  adopt(name: string, a: LearnedAddress, expiresAt: number): void {
    this.hold(name, this.entriesOf(name), a, expiresAt);
  }

  private entriesOf(name: string): Map<string, Entry> {
    let entries = this.byName.get(name);
    if (!entries) {
      if (this.byName.size >= this.maxNames) this.evictOldestName();
      this.byName.set(name, (entries = new Map()));
    } else if (this.byName.size >= this.maxNames) {
      // only when full does order matter: a name answered again moves to the back, so
      // eviction takes the name answered longest ago, not the one first seen
      this.byName.delete(name);
      this.byName.set(name, entries);
    }
    return entries;
  }

  private hold(name: string, entries: Map<string, Entry>, a: LearnedAddress, expiresAt: number): void {
    const old = entries.get(a.address);
    if (old) {
      old.expiresAt = Math.max(old.expiresAt, expiresAt);
      return;
    }
    if (entries.size >= this.maxPerName) this.evictSoonest(name, entries);
    entries.set(a.address, { family: a.family, address: a.address, expiresAt });
    let names = this.byAddress.get(a.address);
    if (!names) this.byAddress.set(a.address, (names = new Set()));
    names.add(name);
  }

  /** Names that currently hold `address` (unexpired at `now`). */
  namesOf(address: string, now: number): string[] {
    const names = this.byAddress.get(address);
    if (!names) return [];
    return [...names].filter((n) => (this.byName.get(n)?.get(address)?.expiresAt ?? 0) > now);
  }

  /**
   * After a policy change: forgets names `isAllowed` now rejects, and returns the
   * unexpired addresses that no remaining allowed name holds, to delete from the kernel.
   * Addresses already expired are not returned: the kernel dropped them by itself.
   */
  prune(isAllowed: (name: string) => boolean, now: number): LearnedAddress[] {
    this.expire(now);
    const orphans = new Map<string, LearnedAddress>();
    for (const [name, entries] of this.byName) {
      if (isAllowed(name)) continue;
      this.byName.delete(name);
      for (const e of entries.values()) {
        const names = this.byAddress.get(e.address)!;
        names.delete(name);
        if (names.size === 0) {
          this.byAddress.delete(e.address);
          orphans.set(e.address, { family: e.family, address: e.address });
        }
      }
    }
    return [...orphans.values()];
  }

  /**
   * Forgets the addresses `drop` picks, under every name (the guard rejects them now: one
   * became this namespace's own address, say); returns them, to delete from the kernel.
   */
  dropAddresses(drop: (a: LearnedAddress) => boolean): LearnedAddress[] {
    const out: LearnedAddress[] = [];
    for (const [address, names] of this.byAddress) {
      let family: 4 | 6 | undefined;
      for (const n of names) family ??= this.byName.get(n)?.get(address)?.family;
      if (family === undefined || !drop({ family, address })) continue;
      for (const n of [...names]) {
        const entries = this.byName.get(n);
        if (!entries) continue;
        this.forget(n, entries, address);
        if (entries.size === 0) this.byName.delete(n);
      }
      out.push({ family, address });
    }
    return out;
  }

  /** Forgets everything: the kernel's learned sets were emptied. */
  clear(): void {
    this.byName.clear();
    this.byAddress.clear();
  }

  /** Drops expired entries. */
  expire(now: number): void {
    this.lastSweep = now;
    for (const [name, entries] of this.byName) {
      for (const e of entries.values()) if (e.expiresAt <= now) this.forget(name, entries, e.address);
      if (entries.size === 0) this.byName.delete(name);
    }
  }

  /** name -> addresses with expiry (ms since epoch), for /learned and doctor. */
  snapshot(now: number): Record<string, { family: 4 | 6; address: string; expiresAt: number }[]> {
    this.expire(now);
    const out: Record<string, { family: 4 | 6; address: string; expiresAt: number }[]> = {};
    for (const name of [...this.byName.keys()].sort()) {
      out[name] = [...this.byName.get(name)!.values()].map((e) => ({ family: e.family, address: e.address, expiresAt: e.expiresAt }));
    }
    return out;
  }

  /** Some address that lives at least `forMs` past `now`, without sorting or copying the table. */
  someLiving(now: number, forMs: number): LearnedAddress | null {
    for (const entries of this.byName.values()) {
      for (const e of entries.values()) if (e.expiresAt - now > forMs) return { family: e.family, address: e.address };
    }
    return null;
  }

  /** distinct addresses held (for /status and /metrics) */
  get addressCount(): number {
    return this.byAddress.size;
  }

  get nameCount(): number {
    return this.byName.size;
  }

  private latestExpiry(address: string, now: number): number {
    let latest = now;
    for (const n of this.byAddress.get(address) ?? []) {
      const e = this.byName.get(n)?.get(address);
      if (e && e.expiresAt > latest) latest = e.expiresAt;
    }
    return latest;
  }

  private evictOldestName(): void {
    const oldest = this.byName.keys().next().value;
    if (oldest === undefined) return;
    const entries = this.byName.get(oldest)!;
    for (const address of [...entries.keys()]) this.forget(oldest, entries, address);
    this.byName.delete(oldest);
  }

  private evictSoonest(name: string, entries: Map<string, Entry>): void {
    let soonest: Entry | undefined;
    for (const e of entries.values()) if (!soonest || e.expiresAt < soonest.expiresAt) soonest = e;
    if (soonest) this.forget(name, entries, soonest.address);
  }

  private forget(name: string, entries: Map<string, Entry>, address: string): void {
    entries.delete(address);
    const names = this.byAddress.get(address);
    names?.delete(name);
    if (names && names.size === 0) this.byAddress.delete(address);
  }
}
