// Enforcement modes (docs/probe.md, "How the mode is chosen") and the names users may give them. Shared by
// probe (--require) and serve (--mode, OPENSANDBOX_EGRESS_MODE), so both accept the same
// spellings, including OpenSandbox's `dns` and `dns+nft`.
export const MODES = ["disabled", "dns-only", "dns+nftables"] as const;
export type Mode = (typeof MODES)[number];

const ALIASES: Record<string, Mode | "auto"> = {
  auto: "auto",
  disabled: "disabled",
  "dns-only": "dns-only",
  dns: "dns-only",
  "dns+nftables": "dns+nftables",
  "dns+nft": "dns+nftables",
};

/**
 * Parses a mode name or alias (case-insensitive, surrounding space ignored); null if
 * unknown. OpenSandbox's token form is read as its sidecar reads it: `dns` and `nft`
 * joined by `+` in any order, spaces around them ignored, `dns` required
 * (`nft+dns` = dns+nftables).
 */
export function parseMode(s: string): Mode | "auto" | null {
  const t = s.trim().toLowerCase();
  const alias = ALIASES[t];
  if (alias) return alias;
  const tokens = new Set(t.split("+").map((x) => x.trim()).filter(Boolean));
  if (tokens.size === 0 || !tokens.has("dns") || [...tokens].some((x) => x !== "dns" && x !== "nft")) return null;
  return tokens.has("nft") ? "dns+nftables" : "dns-only";
}

/** Every accepted spelling, for usage messages. */
export const MODE_SPELLINGS = Object.keys(ALIASES);

/** Strength order: a stronger mode enforces everything a weaker one does. */
export function strength(m: Mode): number {
  return MODES.indexOf(m);
}
