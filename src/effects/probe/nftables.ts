// nftables facts: is libnftables loadable, is `nft` on PATH, and does the kernel accept
// an nftables transaction here. Presence is checked lightly (dlopen, PATH lookup); the
// kernel check goes through the real backend (src/effects/nft/backend.ts) in check mode,
// so the kernel validates the whole batch and then aborts it: nothing is committed.
import { dlopen, FFIType } from "bun:ffi";
import type { NftKernelFact, ToolFact } from "../../core/probe/types.ts";
import type { KernelSettings } from "../../core/config/kernel-settings.ts";
import { which } from "./read.ts";

type Env = Pick<KernelSettings, "nftBackend" | "libnftablesPath" | "path">;

/** The part of the nftables backend (src/effects/nft/backend.ts) that probe needs. */
export interface NftCheckBackend {
  kind: "library" | "binary";
  run(script: string, opts?: { check?: boolean }): NftRun | Promise<NftRun>;
}
type NftRun = { ok: true; output: string } | { ok: false; error: string };
export type OpenNftBackend = () => NftCheckBackend | { unavailable: string };

/**
 * What serve will need from the kernel: an inet table, nat and filter chains on the
 * output hook, and a timed set. Names are throwaway; in check mode none of it lands.
 */
export const CHECK_SCRIPT = `add table inet egressctl_probe
add chain inet egressctl_probe nat_out { type nat hook output priority -100; policy accept; }
add chain inet egressctl_probe filter_out { type filter hook output priority 0; policy accept; }
add set inet egressctl_probe learned4 { type ipv4_addr; flags timeout; }
`;

function overridden(env: Env, which: "library" | "binary"): string | null {
  const v = env.nftBackend;
  if (v === "none") return "unavailable (disabled by EGRESSCTL_NFT_BACKEND=none)";
  if (v && v !== which && (v === "library" || v === "binary")) return `not used (EGRESSCTL_NFT_BACKEND=${v})`;
  return null;
}

export function libraryFact(env: Env): ToolFact {
  const off = overridden(env, "library");
  if (off) return { available: false, error: off };
  const path = env.libnftablesPath;
  try {
    // asking for the symbols we call makes a wrong library fail here, not in serve
    const lib = dlopen(path, {
      nft_ctx_new: { args: [FFIType.u32], returns: FFIType.ptr },
      nft_ctx_free: { args: [FFIType.ptr], returns: FFIType.void },
      nft_run_cmd_from_buffer: { args: [FFIType.ptr, FFIType.cstring], returns: FFIType.i32 },
    });
    lib.close();
    return { available: true, path };
  } catch (err) {
    return { available: false, path, error: `cannot load ${path}: ${(err as Error).message}` };
  }
}

export function binaryFact(env: Env): ToolFact {
  const off = overridden(env, "binary");
  if (off) return { available: false, error: off };
  const path = which("nft", env.path);
  return path ? { available: true, path } : { available: false, error: "no nft binary on PATH" };
}

export async function kernelFact(open: OpenNftBackend): Promise<NftKernelFact> {
  try {
    const backend = open();
    if ("unavailable" in backend) return { accepts: false, error: `not checked: ${backend.unavailable}` };
    const res = await backend.run(CHECK_SCRIPT, { check: true });
    if (res.ok) return { accepts: true, checkedWith: backend.kind };
    return { accepts: false, checkedWith: backend.kind, error: res.error.trim().split("\n")[0] ?? res.error };
  } catch (err) {
    return { accepts: false, error: `not checked: ${(err as Error).message}` };
  }
}
