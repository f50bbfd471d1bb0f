// The kernel ops (kernel-ops.ts) as serve calls them: every call a promise, answered by
// the worker thread that holds the kernel I/O (kernel-worker.ts), or, for tests and
// harnesses that inject a writer of their own, by the same ops run in this thread.
// A call's notes (netlink given up for libnftables) reach `onNote` before its answer.
import type { KernelOps, KernelOpsOptions } from "./kernel-ops.ts";
import { kernelOps, openKernelOps } from "./kernel-ops.ts";
import type { NftBackend } from "../nft/backend.ts";
import { unpackEntries, type PackedEntries } from "../../core/learn/packed-entries.ts";
import type { LearnedEntry } from "../../core/status/kernel-state.ts";

type Async<T> = { [K in keyof T]: T[K] extends (...a: infer A) => infer R ? (...a: A) => Promise<Awaited<R>> : never };

/** the kernel ops, asynchronous; `close` also ends the worker */
export type KernelIo = Omit<Async<KernelOps>, "notes">;

const OPEN_TIMEOUT_MS = 10_000;

const OPS = ["install", "write", "remove", "flushLearned", "kernelState", "learnedEntries", "holdsLearned", "deniedFlows", "cleanup", "close"] as const;

/**
 * Where the worker's entry is: beside this file when run from source; in the compiled
 * binary, at its path under the bundle's root (src/, the entry points' common
 * directory; scripts/compile.ts names it as a second entry point).
 */
function workerUrl(): string {
  return import.meta.url.includes("$bunfs") ? "./effects/kernel/kernel-worker.ts" : new URL("./kernel-worker.ts", import.meta.url).href;
}

/** Starts the worker and opens the kernel ops in it; `unavailable` when they cannot be opened. */
export async function startKernelWorker(o: Omit<KernelOpsOptions, "openNetlink">, onNote: (note: string) => void): Promise<KernelIo | { unavailable: string }> {
  const worker = new Worker(workerUrl());
  worker.unref();
  let next = 1;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; onSlice?: (entries: LearnedEntry[]) => void }>();
  let dead: Error | null = null;
  const failAll = (e: Error) => {
    dead = e;
    for (const w of waiting.values()) w.reject(e);
    waiting.clear();
  };
  worker.onmessage = (e: MessageEvent) => {
    const m = e.data as { id: number; ok: boolean; value: unknown; notes: string[] } | { id: number; slice: PackedEntries };
    const w = waiting.get(m.id);
    if ("slice" in m) return w?.onSlice?.(unpackEntries(m.slice));
    for (const n of m.notes) onNote(n);
    if (!w) return;
    waiting.delete(m.id);
    if (m.ok) w.resolve(m.value);
    else w.reject(new Error(String(m.value)));
  };
  worker.onerror = (e) => failAll(new Error(`kernel worker failed: ${e.message}`));
  const call = (op: string, args: unknown[], onSlice?: (entries: LearnedEntry[]) => void): Promise<any> => {
    if (dead) return Promise.reject(dead);
    const id = next++;
    return new Promise((resolve, reject) => {
      waiting.set(id, { resolve, reject, onSlice });
      worker.postMessage({ id, op, args });
    });
  };
  // a worker that never answers (its code missing from a build) must not hang serve's start
  let timer: ReturnType<typeof setTimeout> | undefined;
  const opened = (await Promise.race([
    call("open", [o]).catch((e: Error) => ({ unavailable: e.message })),
    new Promise((r) => (timer = setTimeout(() => r({ unavailable: `the kernel I/O thread did not start within ${OPEN_TIMEOUT_MS / 1000} s` }), OPEN_TIMEOUT_MS))),
  ])) as { opened: true } | { unavailable: string };
  clearTimeout(timer);
  if ("unavailable" in opened) {
    worker.terminate();
    return opened;
  }
  const io = Object.fromEntries(OPS.map((op) => [op, (...args: unknown[]) => call(op, args)])) as unknown as KernelIo;
  return {
    ...io,
    // a function cannot cross to the worker: it stays here and the worker's slices come to it
    learnedEntries: (onSlice) => call("learnedEntries", [], onSlice),
    async close() {
      await call("close", []).catch(() => {});
      failAll(new Error("kernel worker closed"));
      worker.terminate();
    },
  };
}

/** The same ops in this thread (tests, harnesses, tools): each call blocks until the kernel answers. */
function kernelInProcess(ops: KernelOps, onNote: (note: string) => void): KernelIo {
  const wrap = (op: (typeof OPS)[number]) => async (...args: unknown[]) => {
    try {
      return await (ops[op] as (...a: unknown[]) => unknown)(...args);
    } finally {
      for (const n of ops.notes()) onNote(n);
    }
  };
  return Object.fromEntries(OPS.map((op) => [op, wrap(op)])) as unknown as KernelIo;
}

export function openKernelInProcess(backend: NftBackend | null, o: KernelOpsOptions, onNote: (note: string) => void): KernelIo | { unavailable: string } {
  const ops = backend ? kernelOps(backend, o) : openKernelOps(o);
  return "unavailable" in ops ? ops : kernelInProcess(ops, onNote);
}
