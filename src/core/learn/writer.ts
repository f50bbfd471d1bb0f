// Kernel writes of learned addresses, as few and as large as the guarantees allow:
//   - an answer whose addresses the kernel already holds long enough writes nothing
//     (KernelExpiry) and may be sent at once;
//   - the others wait for the next flush, which runs once per event-loop turn (the
//     caller's `schedule`), after every answer that arrived in that turn asked: all of
//     them go to the kernel in ONE transaction, one group of elements per name;
//   - each waiting answer is released only after that transaction committed; when it
//     fails, every answer in it fails (the proxy sends SERVFAIL), none is released.
// Pure apart from what is passed in (the write, the scheduler, the clock).
import type { KernelExpiry } from "./kernel-expiry.ts";
import type { LearnElement } from "./table.ts";

/** Elements learned under one name: one `add element` line per set, with the name as comment. */
export interface LearnGroup {
  name: string;
  elements: LearnElement[];
}

export type WriteResult = { ok: true } | { ok: false; error: string };

export interface LearnWriterDeps {
  /** One kernel transaction holding every group; synchronous. */
  write(groups: readonly LearnGroup[]): WriteResult;
  /** Runs `flush` once, after the other callbacks of this turn (setImmediate). */
  schedule(flush: () => void): void;
  /** monotonic milliseconds */
  now(): number;
  /** what the kernel already holds; null writes every answer (kernels that do not refresh timeouts) */
  kernel: KernelExpiry | null;
  /** failures worth one immediate retry (the transaction committed nothing) */
  transient?: (error: string) => boolean;
}

interface Waiter {
  name: string;
  elements: LearnElement[];
  stillWanted?: () => boolean;
  resolve: () => void;
  reject: (e: Error) => void;
}

/** netlink and kernel errors that say "try again", not "this is wrong" */
export const TRANSIENT = /\b(EBUSY|ENOBUFS|EINTR|EAGAIN)\b|Device or resource busy|No buffer space available|Interrupted system call|Resource temporarily unavailable/;

export class LearnWriter {
  private waiting: Waiter[] = [];
  private scheduled = false;
  /** counters: answers that needed no write, transactions, transactions that failed, retries */
  readonly counts = { covered: 0, writes: 0, failed: 0, retried: 0 };

  constructor(private readonly d: LearnWriterDeps) {}

  /**
   * Nothing (undefined) when the kernel already holds every element long enough: the
   * answer may be sent now. Otherwise a promise settled by the next flush. `stillWanted`
   * is asked again at the flush, right before the write: false rejects this answer and
   * writes nothing for it (a reload denied its name meanwhile).
   */
  learn(elements: readonly LearnElement[], name: string, stillWanted?: () => boolean): Promise<void> | undefined {
    const todo = this.d.kernel ? this.d.kernel.plan(elements, this.d.now()) : elements.map((e) => ({ ...e }));
    if (todo.length === 0) {
      this.counts.covered++;
      return undefined;
    }
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ name, elements: todo, stillWanted, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        this.d.schedule(() => {
          this.scheduled = false;
          this.flush();
        });
      }
    });
  }

  /** Writes what is waiting, now (the scheduled flush, or before a removal). */
  flush(): void {
    const batch = this.waiting;
    if (batch.length === 0) return;
    this.waiting = [];
    const go: Waiter[] = [];
    for (const w of batch) {
      if (!w.stillWanted || w.stillWanted()) go.push(w);
      else w.reject(new Error(`${w.name} was denied by a reload while its answer was in flight`));
    }
    if (go.length === 0) return;
    const groups = new Map<string, LearnElement[]>();
    const once = new Map<string, LearnElement>();
    for (const w of go) {
      for (const e of w.elements) {
        // each address once per transaction, with the longest timeout asked for; the
        // first name keeps it (the kernel keeps an element's first comment anyway)
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
    const now = this.d.now(); // before the write: the record errs short
    let r = this.attempt(list);
    if (!r.ok && this.d.transient?.(r.error)) {
      this.counts.retried++;
      r = this.attempt(list);
    }
    if (!r.ok) {
      this.counts.failed++;
      const err = new Error(r.error);
      for (const w of go) w.reject(err);
      return;
    }
    this.counts.writes++;
    this.d.kernel?.wrote([...once.values()], now);
    for (const w of go) w.resolve();
  }

  /**
   * Before addresses are removed from the kernel: what waits is written first (asking
   * stillWanted under the new policy), so no earlier write can land after the removal.
   */
  beforeRemoval(): void {
    this.flush();
  }

  /** After addresses were removed from the kernel: the next answer holding them writes them. */
  removed(addresses: readonly { address: string }[]): void {
    this.d.kernel?.forget(addresses);
  }

  /** After the learned sets may have been replaced: every address is written again. */
  forgetAll(): void {
    this.d.kernel?.clear();
  }

  private attempt(groups: readonly LearnGroup[]): WriteResult {
    try {
      return this.d.write(groups);
    } catch (e) {
      return { ok: false, error: e instanceof Error ? e.message : String(e) };
    }
  }
}
