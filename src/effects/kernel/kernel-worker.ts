// The worker thread that holds serve's kernel I/O (kernel-ops.ts): libnftables and the
// netlink sockets live here, so a slow kernel (a lost ack, the nf_tables commit mutex
// held by someone's large transaction, a ruleset install) blocks this thread, never the
// one answering DNS. The first message opens the kernel ops; each later one is a call
// ({id, op, args}) answered by {id, ok, value | error, notes}. Calls are made one at a
// time by serve's kernel lane; reads may arrive between and are answered in turn.
// learnedEntries, the one op with a callback, sends its slices as {id, slice} before
// its answer, packed (cloning tens of thousands of objects held DNS up for ~0.2 s).
import { openKernelOps, type KernelOps, type KernelOpsOptions } from "./kernel-ops.ts";
import { packEntries } from "../../core/learn/packed-entries.ts";
import type { LearnedEntry } from "../../core/status/kernel-state.ts";

declare const self: Worker;

let ops: KernelOps | null = null;

self.onmessage = async (e: MessageEvent) => {
  const m = e.data as { id: number; op: string; args: unknown[] };
  try {
    if (m.op === "open") {
      const opened = openKernelOps(m.args[0] as Omit<KernelOpsOptions, "openNetlink">);
      if ("unavailable" in opened) return reply(m.id, true, opened);
      ops = opened;
      return reply(m.id, true, { opened: true });
    }
    if (!ops) throw new Error("kernel worker: not opened");
    const fn = (ops as unknown as Record<string, (...a: unknown[]) => unknown>)[m.op];
    if (typeof fn !== "function") throw new Error(`kernel worker: no operation ${m.op}`);
    const args = m.op === "learnedEntries" ? [(entries: LearnedEntry[]) => self.postMessage({ id: m.id, slice: packEntries(entries) })] : m.args;
    reply(m.id, true, await fn(...args));
  } catch (err) {
    reply(m.id, false, err instanceof Error ? err.message : String(err));
  }
};

function reply(id: number, ok: boolean, value: unknown): void {
  self.postMessage({ id, ok, value, notes: ops?.notes() ?? [] });
}
