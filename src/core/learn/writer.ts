// Kernel writes of learned addresses, as few and as large as the guarantees allow:
//   - an answer whose addresses the kernel already holds long enough writes nothing
//     (KernelExpiry) and may be sent at once;
//   - the others wait for the next flush, which runs once per event-loop turn (the
//     caller's `schedule`), after every answer that arrived in that turn asked, and
//     when the kernel lane is free (a write still under way: every answer that arrived
//     meanwhile joins the next one): all of them go to the kernel in ONE transaction,
//     one group of elements per name;
//   - each waiting answer is released only after that transaction committed; when it
//     fails, every answer in it fails (the proxy sends SERVFAIL), none is released.
//   - a learned set holds at most `maxElements` per family (bounds.ts): an answer that
//     needs a new element where there is no room fails with LearnFullError (SERVFAIL),
//     the others go ahead; when the kernel itself says full (its own `size`), the
//     answers that only refresh elements it holds are written again on their own.
//   - the write is asynchronous (serve's runs in a worker thread): answers that need no
//     write are released meanwhile, and the lane orders writes with removals and
//     installs; an address whose removal is decided is never taken as held until the
//     removal is done (the next answer writes it again, after the removal).
// Pure apart from what is passed in (the write, the scheduler, the clock, the lane).
import { isTransient } from "../errors/errno.ts";
import { Lane } from "../lifecycle/lane.ts";
import { isSetFull, LearnFullError } from "./bounds.ts";
import type { KernelExpiry } from "./kernel-expiry.ts";
import type { LearnElement } from "./table.ts";

/** Elements learned under one name: one `add element` line per set, with the name as comment. */
export interface LearnGroup {
  name: string;
  elements: LearnElement[];
}

/**
 * A failure's errno is what the writer decides on, never its text: a transient one
 * (errno.ts isTransient) is retried at once, a set-full one (bounds.ts isSetFull) fails
 * only the answers that add elements; null: neither.
 */
export type WriteResult = { ok: true } | { ok: false; error: string; errno: number | null };

export interface LearnWriterDeps {
  /** One kernel transaction holding every group. */
  write(groups: readonly LearnGroup[]): WriteResult | Promise<WriteResult>;
  /** Runs `flush` once, after the other callbacks of this turn (setImmediate). */
  schedule(flush: () => void): void;
  /** monotonic milliseconds */
  now(): number;
  /** what the kernel holds (skipping covered answers, counting elements); null: every answer is written, nothing counted */
  kernel: KernelExpiry | null;
  /** elements per learned set (per family); needs `kernel` to count; absent: no bound here */
  maxElements?: number;
  /** where the flushes queue with the other kernel work (serve's kernel lane); default one of its own */
  lane?: Lane;
}

interface Waiter {
  name: string;
  elements: LearnElement[];
  /** it adds elements the record does not hold (set at the flush) */
  adds?: boolean;
  stillWanted?: (name: string) => boolean;
  resolve: () => void;
  reject: (e: Error) => void;
}

export class LearnWriter {
  private waiting: Waiter[] = [];
  private scheduled = false;
  /** addresses whose removal is decided and not yet done, with how many removals */
  private removingNow = new Map<string, number>();
  readonly lane: Lane;
  /** counters: answers that needed no write, transactions, transactions that failed, retries */
  readonly counts = { covered: 0, writes: 0, failed: 0, retried: 0, full: 0 };

  constructor(private readonly d: LearnWriterDeps) {
    this.lane = d.lane ?? new Lane();
  }

  /**
   * Nothing (undefined) when the kernel already holds every element long enough: the
   * answer may be sent now. Otherwise a promise settled by the next flush. `stillWanted`
   * is asked again at the flush, right before the write: false rejects this answer and
   * writes nothing for it (a reload denied its name meanwhile).
   */
  learn(elements: readonly LearnElement[], name: string, stillWanted?: (name: string) => boolean): Promise<void> | undefined {
    const todo = this.d.kernel ? this.d.kernel.plan(elements, this.d.now()) : elements.map((e) => ({ ...e }));
    if (todo.length === 0) {
      this.counts.covered++;
      return undefined;
    }
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ name, elements: todo, stillWanted, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // a flush that threw (a bug) must not end the process: its answers time out
        // into SERVFAIL (the proxy's learn timeout), the next flush starts afresh
        this.d.schedule(() => void this.lane.run(() => this.flush()).catch(() => {}));
      }
    });
  }

  /**
   * Writes what is waiting, now: the scheduled flush, or a removal's first step. Call it
   * only from a job of the lane (it does not queue itself).
   */
  async flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.waiting;
    if (batch.length === 0) return;
    this.waiting = [];
    const go: Waiter[] = [];
    for (const w of batch) {
      if (!w.stillWanted || w.stillWanted(w.name)) go.push(w);
      else w.reject(new Error(`${w.name} was denied by a reload while its answer was in flight`));
    }
    if (go.length === 0) return;
    const now = this.d.now(); // before the write: the record errs short
    const admitted = this.admit(go, now);
    if (admitted.length === 0) return;
    let ok = admitted;
    // the groups of the last attempt are what the kernel committed: recorded below as written
    let groups = groupsOf(ok);
    let r = await this.attempt(groups);
    // "try again" failures committed nothing: one immediate retry
    if (!r.ok && isTransient(r.errno)) {
      this.counts.retried++;
      r = await this.attempt(groups);
    }
    if (!r.ok && isSetFull(r.errno)) {
      // the kernel's own bound: what only refreshes elements it holds still fits
      const refreshing = ok.filter((w) => !w.adds);
      for (const w of ok) if (w.adds) this.fail(w, new LearnFullError(w.elements.find((e) => !this.held(e, now))?.family ?? 4, this.d.maxElements ?? 0));
      ok = refreshing;
      groups = groupsOf(ok);
      r = ok.length ? await this.attempt(groups) : { ok: true };
    }
    if (!r.ok) {
      this.counts.failed++;
      const err = new Error(r.error);
      for (const w of ok) w.reject(err);
      return;
    }
    if (ok.length === 0) return;
    this.counts.writes++;
    // what the kernel committed, as written: each address once, with the longest timeout
    // (groupsOf); not what a removal decided meanwhile will take out again
    const written: LearnElement[] = [];
    for (const g of groups) for (const e of g.elements) if (!this.removingNow.has(e.address)) written.push(e);
    this.d.kernel?.wrote(written, now);
    for (const w of ok) w.resolve();
  }

  /**
   * The waiters that fit the bound, in order; the others are rejected as full. Marks
   * each admitted waiter that adds elements the record does not hold.
   */
  private admit(go: Waiter[], now: number): Waiter[] {
    const k = this.d.kernel;
    if (!k) {
      for (const w of go) w.adds = true; // nothing known: anything may be new
      return go;
    }
    const max = this.d.maxElements;
    const room = max === undefined ? null : { 4: -1, 6: -1 };
    const added = new Set<string>();
    const out: Waiter[] = [];
    for (const w of go) {
      const fresh = { 4: 0, 6: 0 };
      for (const e of w.elements) if (!added.has(e.address) && !this.held(e, now)) fresh[e.family]++;
      w.adds = fresh[4] + fresh[6] > 0;
      if (room && max !== undefined) {
        let full: 4 | 6 | null = null;
        for (const f of [4, 6] as const) {
          if (fresh[f] === 0) continue;
          if (room[f] < 0) room[f] = k.room(f, max, now);
          if (fresh[f] > room[f]) full = f;
        }
        if (full !== null) {
          this.fail(w, new LearnFullError(full, max));
          continue;
        }
        for (const f of [4, 6] as const) if (room[f] >= 0) room[f] -= fresh[f];
      }
      for (const e of w.elements) added.add(e.address);
      out.push(w);
    }
    return out;
  }

  private held(e: LearnElement, now: number): boolean {
    return this.d.kernel?.counted(e.address, now) ?? false;
  }

  private fail(w: Waiter, e: Error): void {
    this.counts.full++;
    w.reject(e);
  }

  /** Elements found in the kernel at start (adoption): counted toward the bound, written again when answered. */
  adopted(elements: readonly LearnElement[]): void {
    this.d.kernel?.found(elements, this.d.now());
  }

  /**
   * A removal of these addresses is decided (a reload's prune, adoption): from now on
   * no answer takes them as held, so each writes them again, after the removal. Call
   * `removed` once it is done (or failed). Then, in the removal's lane job, `flush`
   * first: what waits is written before the removal (asking stillWanted under the new
   * policy), so no earlier write can land after it.
   */
  removing(addresses: readonly { address: string }[]): void {
    for (const a of addresses) this.removingNow.set(a.address, (this.removingNow.get(a.address) ?? 0) + 1);
    this.d.kernel?.forget(addresses);
  }

  /** The removal is over: the next answer holding them writes them. */
  removed(addresses: readonly { address: string }[]): void {
    for (const a of addresses) {
      const n = (this.removingNow.get(a.address) ?? 1) - 1;
      if (n > 0) this.removingNow.set(a.address, n);
      else this.removingNow.delete(a.address);
    }
    this.d.kernel?.forget(addresses);
  }

  /** After the learned sets may have been replaced: every address is written again. */
  forgetAll(): void {
    this.d.kernel?.clear();
  }

  /** After the learned sets were emptied: nothing is counted any more either. */
  emptied(): void {
    this.d.kernel?.empty();
  }

  private async attempt(groups: readonly LearnGroup[]): Promise<WriteResult> {
    try {
      return await this.d.write(groups);
    } catch (e) {
      return { ok: false, error: e instanceof Error ? e.message : String(e), errno: null };
    }
  }
}

/**
 * One group per name, each address once per transaction with the longest timeout asked
 * for; the first name keeps it (the kernel keeps an element's first comment anyway).
 */
function groupsOf(waiters: readonly Waiter[]): LearnGroup[] {
  const groups = new Map<string, LearnElement[]>();
  const once = new Map<string, LearnElement>();
  for (const w of waiters) {
    for (const e of w.elements) {
      const had = once.get(e.address);
      if (had) {
        if (e.timeoutSec > had.timeoutSec) had.timeoutSec = e.timeoutSec;
        continue;
      }
      const el = { family: e.family, address: e.address, timeoutSec: e.timeoutSec };
      once.set(e.address, el);
      let g = groups.get(w.name);
      if (!g) groups.set(w.name, (g = []));
      g.push(el);
    }
  }
  const list: LearnGroup[] = [];
  for (const [name, elements] of groups) list.push({ name, elements });
  return list;
}

