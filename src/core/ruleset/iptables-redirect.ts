// The DNS-only fallback for namespaces without nftables: an iptables nat chain that
// redirects port-53 traffic to the proxy, except the proxy's own marked upstream
// queries. Rendered as iptables-restore input so it loads in one commit per family.
import { EXEMPT_MARK } from "./names.ts";

export const IPT_CHAIN = "EGRESSCTL-DNS";

/**
 * iptables-restore --noflush input for one family: (re)creates our chain and hooks it
 * once. `exempt`: that family's exempt nameservers (nameserver-exempt.ts), not redirected.
 */
export function renderIptablesRedirect(proxyPort: number, hookAlreadyPresent: boolean, exempt: readonly string[] = []): string {
  const mark = `0x${EXEMPT_MARK.toString(16)}`;
  return [
    "*nat",
    `:${IPT_CHAIN} - [0:0]`, // declaring an existing chain flushes it under --noflush
    `-A ${IPT_CHAIN} -m mark --mark ${mark} -j RETURN`,
    ...exempt.flatMap((c) => ["udp", "tcp"].map((p) => `-A ${IPT_CHAIN} -d ${c} -p ${p} --dport 53 -j RETURN`)),
    `-A ${IPT_CHAIN} -p udp --dport 53 -j REDIRECT --to-ports ${proxyPort}`,
    `-A ${IPT_CHAIN} -p tcp --dport 53 -j REDIRECT --to-ports ${proxyPort}`,
    ...(hookAlreadyPresent ? [] : [`-I OUTPUT 1 -j ${IPT_CHAIN}`]),
    "COMMIT",
    "",
  ].join("\n");
}
