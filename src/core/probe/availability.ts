// Why each enforcement mode cannot run in this namespace (null: it can). The rules of
// docs/probe.md ("How the mode is chosen"): every enforcing mode needs CAP_NET_ADMIN; dns+nftables needs
// nftables (library or binary) AND a kernel that accepts the transaction; dns-only needs
// any way to redirect port 53, nftables or else the iptables nat table.
import type { Mode } from "./modes.ts";
import type { ProbeFacts } from "./types.ts";

export function unavailability(facts: ProbeFacts): Record<Mode, string | null> {
  const { nftables: nft, iptables: ipt, capabilities: caps } = facts;
  const capWhy = caps.netAdmin
    ? null
    : `no CAP_NET_ADMIN in the effective capability set${caps.error ? ` (${caps.error})` : ""}: cannot redirect DNS or filter packets`;
  const nftWhy = !nft.library.available && !nft.binary.available
    ? `nftables unusable (libnftables: ${nft.library.error ?? "not found"}; nft binary: ${nft.binary.error ?? "not found"})`
    : !nft.kernel.accepts
      ? `the kernel refused an nftables check transaction: ${nft.kernel.error ?? "unknown error"}`
      : null;
  const iptWhy = !ipt.available
    ? `iptables: ${ipt.error ?? "not found"}`
    : !ipt.natUsable
      ? `iptables cannot use the nat table: ${ipt.error ?? "unknown error"}`
      : null;
  return {
    disabled: null,
    "dns-only": capWhy ?? (nftWhy && iptWhy ? `${nftWhy}; ${iptWhy}` : null),
    "dns+nftables": capWhy ?? nftWhy,
  };
}
