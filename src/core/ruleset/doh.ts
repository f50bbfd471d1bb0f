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
 * The list for OpenSandbox's two settings together: OPENSANDBOX_EGRESS_BLOCK_DOH_443=false
 * turns the address block off, else OPENSANDBOX_EGRESS_DOH_BLOCKLIST (when set) replaces
 * the built-in list. One place, so apply and serve cannot read them differently.
 */
export function dohFromSettings(block: boolean, override: string | undefined): { list: DohList; problems: string[] } {
  return dohList(block ? override : "");
}

/**
 * The DoH list in force: the override when the variable is set (even to "", which
 * disables DoH blocking by address), else the built-in list. Bad entries are reported,
 * not silently dropped, so a typo cannot quietly unblock a provider.
 */
export function dohList(override: string | undefined): { list: DohList; problems: string[] } {
  return parseCidrList(override === undefined ? BUILTIN_DOH : splitList(override), "DoH blocklist");
}
