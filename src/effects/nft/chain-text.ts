// The text listing of egressctl's base chains. nft 1.0.6 leaves chain comments, where the
// policy digest lives, out of its JSON listing but prints them in text; serve's self-test
// and doctor both read the digest from here (src/core/status/kernel-state.ts parses it).
import { CHAIN_FILTER, CHAIN_GUARD, CHAIN_NAT, TABLE_FAMILY, TABLE_NAME } from "../../core/ruleset/names.ts";
import type { NftBackend } from "./backend.ts";

export function chainsText(nft: NftBackend, withFilter = true): string {
  return [CHAIN_NAT, CHAIN_GUARD, ...(withFilter ? [CHAIN_FILTER] : [])]
    .map((c) => nft.run(`list chain ${TABLE_FAMILY} ${TABLE_NAME} ${c}`))
    .map((r) => (r.ok ? r.output : ""))
    .join("\n");
}
