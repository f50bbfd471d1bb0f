// Gathers every fact probe (and serve, before picking its mode) needs about the
// namespace it runs in. Reads only, never throws: a fact that cannot be read carries an
// error string. The only kernel conversation is an nftables check-mode transaction,
// which the kernel validates and aborts. Overrides: docs/probe.md.
import { CAP_NET_ADMIN } from "../../core/caps/privileged.ts";
import { release } from "node:os";
import type { CapabilityFact, KernelFact, ProbeFacts } from "../../core/probe/types.ts";
import { iptablesFacts } from "./iptables.ts";
import { ipv6Facts } from "./ipv6.ts";
import { binaryFact, kernelFact, libraryFact, type OpenNftBackend } from "./nftables.ts";
import { netnsFacts } from "./netns.ts";
import { readText } from "./read.ts";
import { openNftBackend } from "../nft/backend.ts";
import { kernelWith, type KernelSettings } from "../../core/config/kernel-settings.ts";

export interface GatherDeps {
  /** defaults to the real backend, as `kernel` chooses it */
  openNftBackend?: OpenNftBackend;
  /** how the kernel is reached (EGRESSCTL_NFT_BACKEND, ...); the defaults when absent */
  kernel?: Partial<KernelSettings>;
}

export async function gatherFacts(deps: GatherDeps = {}): Promise<ProbeFacts> {
  const env = kernelWith(deps.kernel);
  const open = deps.openNftBackend ?? (() => openNftBackend(env));
  return {
    kernel: kernelRelease(),
    capabilities: capabilities(),
    nftables: { library: libraryFact(env), binary: binaryFact(env), kernel: await kernelFact(open) },
    iptables: iptablesFacts(env),
    ipv6: ipv6Facts(),
    netns: netnsFacts(env),
  };
}

function kernelRelease(): KernelFact {
  const r = readText("/proc/sys/kernel/osrelease");
  if (r.ok) return { release: r.value.trim() };
  try {
    return { release: release() };
  } catch {
    return { release: null, error: r.error };
  }
}

/** CAP_NET_ADMIN from the effective set: that is what the kernel checks, not CapPrm. */
export function capabilities(status = readText("/proc/self/status")): CapabilityFact {
  if (!status.ok) return { netAdmin: false, effective: null, error: `/proc/self/status: ${status.error}` };
  const hex = /^CapEff:\s*([0-9a-fA-F]+)$/m.exec(status.value)?.[1];
  if (!hex) return { netAdmin: false, effective: null, error: "no CapEff line in /proc/self/status" };
  return { netAdmin: ((BigInt(`0x${hex}`) >> CAP_NET_ADMIN) & 1n) === 1n, effective: hex };
}
