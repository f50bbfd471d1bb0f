// OPENSANDBOX_EGRESS_NAMESERVER_EXEMPT, with OpenSandbox's meaning: a list of resolver
// addresses that DNS may reach as they are. DNS to them is not redirected to the proxy
// and the filter lets it out, and the proxy's own queries to an exempt upstream go
// unmarked, so they take the namespace's normal routing (a platform may route marked
// packets elsewhere). A platform uses it for a resolver the sandbox must reach directly,
// a node-local cache or a cluster DNS.
//
// What it costs, and why only single addresses and only port 53: queries to an exempt
// server are not judged, so any name resolves through it. In dns+nftables mode its
// answers are not learned either (unless the proxy asked), so the resolved addresses
// stay closed unless the policy allows them; only DNS itself (including tunnelling over
// DNS to that server) gets out. In dns-only mode nothing else stands behind the proxy: the
// exemption bypasses the name policy. A prefix would widen the hole to every host in it,
// and OpenSandbox accepts addresses only, so egressctl does too. OpenSandbox adds the
// servers to its allow set on every port; egressctl opens only UDP/TCP 53 (docs/security.md).
import { BITS, formatCidr, parseAddress, parseCidr, type Family } from "../net/ip.ts";
import { splitList, type CidrList } from "./cidr-list.ts";

export const NAMESERVER_EXEMPT_ENV = "OPENSANDBOX_EGRESS_NAMESERVER_EXEMPT";

export function nameserverExempt(spec: string | undefined): { list: CidrList; problems: string[] } {
  const list: CidrList = { 4: [], 6: [] };
  const problems: string[] = [];
  for (const e of splitList(spec ?? "")) {
    const c = parseCidr(e);
    if (!c) problems.push(`${NAMESERVER_EXEMPT_ENV} entry '${e}' is not an IP address`);
    else if (c.prefix !== BITS[c.family as Family]) problems.push(`${NAMESERVER_EXEMPT_ENV} entry '${e}' is a range; name single resolver addresses (a range would exempt DNS to every host in it)`);
    else list[c.family as Family].push(formatCidr(c));
  }
  return { list, problems };
}

/** Whether `address` is one of the exempt nameservers (`exempt`: addresses or full-length CIDRs), compared as addresses. */
export function exemptMatcher(exempt: readonly string[]): (address: string) => boolean {
  const keys = new Set(exempt.map((c) => key(c.replace(/\/\d+$/, ""))));
  return (address) => keys.has(key(address));
}

/**
 * Whether the proxy's queries to this upstream are exempt, so go unmarked: only on port
 * 53, since the ruleset lets exempt nameservers out on port 53 only. An exempt address
 * served on another port keeps the mark, or its queries would meet the default deny.
 */
export function exemptUpstream(isExempt: (address: string) => boolean, u: { address: string; port: number }): boolean {
  return u.port === 53 && isExempt(u.address);
}

function key(address: string): string {
  const a = parseAddress(address);
  return a ? `${a.family}/${a.value}` : address;
}
