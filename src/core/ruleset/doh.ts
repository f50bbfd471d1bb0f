// Which addresses count as DNS-over-HTTPS providers (blocked on port 443 unless a static
// allow rule covers them). The built-in list names real public resolvers; tests and
// operators replace it through OPENSANDBOX_EGRESS_DOH_BLOCKLIST, so no test ever has a
// reason to send a packet to a real public address. Pure: the caller passes the env text.
import { parseCidrList, splitList, type CidrList } from "./cidr-list.ts";

/** Well-known public DoH endpoints (anycast addresses of the big resolvers). */
export const BUILTIN_DOH: readonly string[] = [
  // Cloudflare (incl. 1.1.1.2/3 "families")
  "1.1.1.1", "1.0.0.1", "1.1.1.2", "1.0.0.2", "1.1.1.3", "1.0.0.3",
  "2606:4700:4700::1111", "2606:4700:4700::1001", "2606:4700:4700::1112",
  "2606:4700:4700::1002", "2606:4700:4700::1113", "2606:4700:4700::1003",
  // Google
  "8.8.8.8", "8.8.4.4", "2001:4860:4860::8888", "2001:4860:4860::8844",
  // Quad9
  "9.9.9.9", "149.112.112.112", "9.9.9.10", "149.112.112.10", "9.9.9.11", "149.112.112.11",
  "2620:fe::fe", "2620:fe::9", "2620:fe::10", "2620:fe::fe:10", "2620:fe::11", "2620:fe::fe:11",
  // OpenDNS / Cisco Umbrella
  "208.67.222.222", "208.67.220.220", "2620:119:35::35", "2620:119:53::53",
  // AdGuard
  "94.140.14.14", "94.140.15.15", "2a10:50c0::ad1:ff", "2a10:50c0::ad2:ff",
  // CleanBrowsing
  "185.228.168.9", "185.228.169.9", "2a0d:2a00:1::2", "2a0d:2a00:2::2",
  // NextDNS anycast ranges
  "45.90.28.0/24", "45.90.30.0/24", "2a07:a8c0::/33", "2a07:a8c1::/33",
];

export type DohList = CidrList;

/**
 * Where the DoH block sits, from OPENSANDBOX_EGRESS_BLOCK_DOH_443:
 * - "listed" (unset): egressctl's own default, the list (built-in unless
 *   OPENSANDBOX_EGRESS_DOH_BLOCKLIST replaces it) on port 443 after the static allows,
 *   so an explicit allow of a resolver's address wins;
 * - "operator" (true, with a usable list): the list on port 443 before every allow, as
 *   OpenSandbox's sidecar drops it;
 * - "strict" (true, without a usable list): all of port 443, as OpenSandbox's strict
 *   mode (HTTPS to allowed names is blocked too);
 * - "off" (false): no DoH block.
 */
export type DohStance = "listed" | "operator" | "strict" | "off";

export interface DohSettings {
  list: DohList;
  stance: DohStance;
  problems: string[];
}

const TRUE = /^(1|true|yes|y|on)$/i; // OpenSandbox's IsTruthy
const FALSE = /^(0|false|no|n|off)$/i;

/**
 * OpenSandbox's two settings together, read in one place so apply and serve cannot read
 * them differently. `block443` and `override` are the raw variables (undefined: unset).
 */
export function dohFromSettings(block443: string | undefined, override: string | undefined): DohSettings {
  const v = (block443 ?? "").trim();
  if (FALSE.test(v)) return { list: { 4: [], 6: [] }, stance: "off", problems: [] };
  if (TRUE.test(v)) {
    // as OpenSandbox: a list given and usable, else strict (a list of typos fails closed)
    const r = dohList(override ?? "");
    const usable = r.list[4].length + r.list[6].length > 0;
    return { list: r.list, stance: usable ? "operator" : "strict", problems: r.problems };
  }
  const r = dohList(override);
  const problems = v === "" ? r.problems : [`OPENSANDBOX_EGRESS_BLOCK_DOH_443 '${v}' is neither true nor false; read as unset`, ...r.problems];
  return { list: r.list, stance: "listed", problems };
}

/** the start-up warning of strict mode: it blocks more than DoH */
export const STRICT_443_WARNING =
  "OPENSANDBOX_EGRESS_BLOCK_DOH_443 is true without OPENSANDBOX_EGRESS_DOH_BLOCKLIST: all port 443 (TCP and UDP) is blocked, so HTTPS to allowed names is blocked too";

/**
 * The DoH list in force: the override when the variable is set (even to "", which
 * disables DoH blocking by address), else the built-in list. Bad entries are reported,
 * not silently dropped, so a typo cannot quietly unblock a provider.
 */
export function dohList(override: string | undefined): { list: DohList; problems: string[] } {
  return parseCidrList(override === undefined ? BUILTIN_DOH : splitList(override), "DoH blocklist");
}
