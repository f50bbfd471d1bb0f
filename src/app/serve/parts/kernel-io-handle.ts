// The kernel I/O as a value the enforcer can be built with before it runs: calls made
// before start() are refused (the proxy may answer a query sent straight to its port
// before the ruleset exists: that answer is SERVFAIL, as a write into sets that do not
// exist yet would be), calls after start() go to the worker thread it opened.
import type { KernelIo } from "../../../effects/kernel/kernel-io.ts";

export interface KernelIoHandle {
  io: KernelIo;
  /** opens the kernel I/O; the reason when it cannot be opened */
  start(): Promise<string | null>;
  stop(): Promise<void>;
}

export function kernelIoHandle(open: () => Promise<KernelIo | { unavailable: string }>): KernelIoHandle {
  let real: KernelIo | null = null;
  const io = new Proxy({} as KernelIo, {
    get(_t, op: string) {
      return (...args: unknown[]) => {
        if (!real) return Promise.reject(new Error("the kernel I/O is not open (serve is starting or stopping)"));
        return (real[op as keyof KernelIo] as (...a: unknown[]) => Promise<unknown>)(...args);
      };
    },
  });
  return {
    io,
    async start() {
      const opened = await open();
      if ("unavailable" in opened) return opened.unavailable;
      real = opened;
      return null;
    },
    async stop() {
      const r = real;
      real = null;
      await r?.close();
    },
  };
}
