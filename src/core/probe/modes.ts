// Enforcement modes (CONTRACT section 4) and the names users may give them. Shared by
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

/** Parses a mode name or alias (case-insensitive, surrounding space ignored); null if unknown. */
export function parseMode(s: string): Mode | "auto" | null {
  return ALIASES[s.trim().toLowerCase()] ?? null;
}

/** Every accepted spelling, for usage messages. */
export const MODE_SPELLINGS = Object.keys(ALIASES);

/** Strength order: a stronger mode enforces everything a weaker one does. */
export function strength(m: Mode): number {
  return MODES.indexOf(m);
}
