// How egressctl reaches the kernel, resolved once from the environment by the command
// (probe, apply, serve, doctor) and handed down as a value: nothing under src/effects
// reads the environment itself (test/unit/architecture.test.ts). Pure.
import { envFlag } from "./env-flag.ts";

export interface KernelSettings {
  /** EGRESSCTL_NFT_BACKEND: auto (default), library, binary or none; checked where the backend opens */
  nftBackend: string;
  /** EGRESSCTL_LIBNFTABLES_PATH: the libnftables to load */
  libnftablesPath: string;
  /** EGRESSCTL_IPTABLES: "none" turns the iptables fallback off */
  iptables: string;
  /** PATH: where the nft and iptables binaries are looked for */
  path: string;
  /** EGRESSCTL_ASSUME_SANDBOX: the namespace is a sandbox whatever the host signals say */
  assumeSandbox: boolean;
  /** EGRESSCTL_LEARN_WRITER: "nft" keeps learned writes on libnftables; else raw netlink where it opens */
  learnWriter: "netlink" | "nft";
  /** EGRESSCTL_ELEMENT_REFRESH: refresh or replace instead of measuring it; undefined: measure */
  elementRefresh?: "refresh" | "replace";
  /**
   * EGRESSCTL_KERNEL_IO: where serve's kernel I/O runs: "worker" (default), a thread of
   * its own; "inline", the thread that answers DNS (what `make bench-stall` compares)
   */
  kernelIo: "worker" | "inline";
}

export const DEFAULT_PATH = "/usr/sbin:/usr/bin:/sbin:/bin";

export const DEFAULT_KERNEL: Readonly<KernelSettings> = Object.freeze({
  nftBackend: "auto",
  libnftablesPath: "libnftables.so.1",
  iptables: "auto",
  path: DEFAULT_PATH,
  assumeSandbox: false,
  learnWriter: "netlink",
  kernelIo: "worker",
});

/** the defaults with some settings changed (tests, benchmarks: `{ nftBackend: "library" }`) */
export function kernelWith(k: Partial<KernelSettings> = {}): KernelSettings {
  return { ...DEFAULT_KERNEL, ...k };
}

export function kernelSettings(env: Record<string, string | undefined>): KernelSettings {
  const refresh = env.EGRESSCTL_ELEMENT_REFRESH;
  return {
    nftBackend: (env.EGRESSCTL_NFT_BACKEND ?? "auto").trim() || "auto",
    libnftablesPath: env.EGRESSCTL_LIBNFTABLES_PATH || DEFAULT_KERNEL.libnftablesPath,
    iptables: env.EGRESSCTL_IPTABLES || "auto",
    path: env.PATH ?? DEFAULT_PATH,
    assumeSandbox: envFlag(env.EGRESSCTL_ASSUME_SANDBOX, false),
    learnWriter: env.EGRESSCTL_LEARN_WRITER === "nft" ? "nft" : "netlink",
    kernelIo: env.EGRESSCTL_KERNEL_IO === "inline" ? "inline" : "worker",
    ...(refresh === "refresh" || refresh === "replace" ? { elementRefresh: refresh } : {}),
  };
}
