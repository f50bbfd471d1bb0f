// The DNS-only fallback for namespaces without nftables: an iptables nat chain that
// redirects port-53 traffic to the proxy, except the proxy's own marked upstream
// queries; two raw chains that keep those queries and their answers untracked (as
// the nftables ruleset does, docs/ruleset.md "Untracked DNS": a tracked, unredirected
// flow would outlive the proxy's socket and carry a later query from the same port past
// the proxy); and a filter chain, the DNS guard, as the nftables ruleset's dns_guard:
// NAT redirects only a flow's first packet, so a flow another host opened from port 53
// would carry the application's DNS out unredirected; every unmarked port-53 packet
// still on its way out after NAT is dropped. Rendered as iptables-restore input so it
// loads in one commit per family.
import { EXEMPT_MARK } from "./names.ts";

export const IPT_CHAIN = "EGRESSCTL-DNS";
export const IPT_NOTRACK_OUT = "EGRESSCTL-NOTRACK-OUT";
export const IPT_NOTRACK_IN = "EGRESSCTL-NOTRACK-IN";
export const IPT_GUARD = "EGRESSCTL-DNS-GUARD";

/** our chains and where each is hooked: table, built-in chain */
export const IPT_HOOKS = [
  { table: "nat", hook: "OUTPUT", chain: IPT_CHAIN },
  { table: "raw", hook: "OUTPUT", chain: IPT_NOTRACK_OUT },
  { table: "raw", hook: "PREROUTING", chain: IPT_NOTRACK_IN },
  { table: "filter", hook: "OUTPUT", chain: IPT_GUARD },
] as const;

export type IptablesChain = (typeof IPT_HOOKS)[number]["chain"];

/**
 * iptables-restore --noflush input for one family: (re)creates our chains and hooks each
 * once (`hooked`: those already hooked). `exempt`: that family's exempt nameservers
 * (nameserver-exempt.ts), not redirected.
 */
export function renderIptablesRedirect(family: 4 | 6, proxyPort: number, hooked: ReadonlySet<IptablesChain>, exempt: readonly string[] = []): string {
  const mark = `0x${EXEMPT_MARK.toString(16)}`;
  const exemptDns = (chain: string, target: string) => exempt.flatMap((c) => ["udp", "tcp"].map((p) => `-A ${chain} -d ${c} -p ${p} --dport 53 -j ${target}`));
  const hook = (table: string) => IPT_HOOKS.filter((h) => h.table === table && !hooked.has(h.chain)).map((h) => `-I ${h.hook} 1 -j ${h.chain}`);
  return [
    "*nat",
    `:${IPT_CHAIN} - [0:0]`, // declaring an existing chain flushes it under --noflush
    `-A ${IPT_CHAIN} -m mark --mark ${mark} -j RETURN`,
    ...exemptDns(IPT_CHAIN, "RETURN"),
    `-A ${IPT_CHAIN} -p udp --dport 53 -j REDIRECT --to-ports ${proxyPort}`,
    `-A ${IPT_CHAIN} -p tcp --dport 53 -j REDIRECT --to-ports ${proxyPort}`,
    ...hook("nat"),
    "COMMIT",
    "*raw",
    `:${IPT_NOTRACK_OUT} - [0:0]`,
    `:${IPT_NOTRACK_IN} - [0:0]`,
    ...["udp", "tcp"].map((p) => `-A ${IPT_NOTRACK_OUT} -m mark --mark ${mark} -p ${p} --dport 53 -j CT --notrack`),
    ...["udp", "tcp"].map((p) => `-A ${IPT_NOTRACK_IN} -p ${p} --sport 53 -j CT --notrack`),
    ...hook("raw"),
    "COMMIT",
    "*filter",
    `:${IPT_GUARD} - [0:0]`,
    // loopback, and DNS already redirected to the proxy: its destination is loopback by
    // now, but -o may still name the interface chosen before NAT (and with --dns-port 53
    // its port is 53 still), so the destination is what tells
    `-A ${IPT_GUARD} -o lo -j RETURN`,
    `-A ${IPT_GUARD} -d ${family === 4 ? "127.0.0.0/8" : "::1/128"} -j RETURN`,
    `-A ${IPT_GUARD} -m mark --mark ${mark} -j RETURN`,
    ...exemptDns(IPT_GUARD, "RETURN"),
    // any conntrack state: a reply-direction packet of a flow opened from outside included
    ...["udp", "tcp"].map((p) => `-A ${IPT_GUARD} -p ${p} --dport 53 -j DROP`),
    ...hook("filter"),
    "COMMIT",
    "",
  ].join("\n");
}
