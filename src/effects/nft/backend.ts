// The kernel backend: runs one nft script as one transaction. Prefers libnftables in
// process (about 40x cheaper per call than spawning `nft`, which matters when serve adds
// learned addresses per DNS answer) and falls back to the `nft` binary.
// EGRESSCTL_NFT_BACKEND=library|binary|none forces a choice (tests, probe, benchmarks);
// EGRESSCTL_LIBNFTABLES_PATH points at another libnftables.so; both arrive resolved, as
// KernelSettings (src/core/config/kernel-settings.ts).
import { kernelWith, type KernelSettings } from "../../core/config/kernel-settings.ts";
import { openBinaryBackend } from "./binary.ts";
import { openLibraryBackend } from "./libnftables.ts";
import type { NftResult } from "./result.ts";

export type { NftResult } from "./result.ts";

export interface NftBackend {
  readonly kind: "library" | "binary";
  /** one script, one transaction; `check` asks the kernel to validate without committing */
  run(script: string, opts?: { check?: boolean }): NftResult;
  /** `nft -j list table inet egressctl` parsed; null when the table does not exist */
  listTableJson(): unknown | null;
  /** `nft -j list set inet egressctl NAME` parsed; null when absent */
  listSetJson(name: string): unknown | null;
}

export function openNftBackend(settings: Partial<KernelSettings> = {}): NftBackend | { unavailable: string } {
  const k = kernelWith(settings);
  const want = k.nftBackend;
  if (want === "none") return { unavailable: "nftables disabled by EGRESSCTL_NFT_BACKEND=none" };
  if (!["auto", "library", "binary"].includes(want)) {
    return { unavailable: `EGRESSCTL_NFT_BACKEND must be auto, library, binary or none, got '${want}'` };
  }
  const reasons: string[] = [];
  if (want !== "binary") {
    const lib = openLibraryBackend(k.libnftablesPath);
    if ("unavailable" in lib) reasons.push(lib.unavailable);
    else return lib;
  }
  if (want !== "library") {
    const bin = openBinaryBackend(k.path);
    if ("unavailable" in bin) reasons.push(bin.unavailable);
    else return bin;
  }
  return { unavailable: reasons.join("; ") };
}
