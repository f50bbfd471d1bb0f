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
import { parseAddress, type Family } from "../net/ip.ts";
import { parseCidrList, splitList, type CidrList } from "./cidr-list.ts";

export const NAMESERVER_EXEMPT_ENV = "OPENSANDBOX_EGRESS_NAMESERVER_EXEMPT";

const FULL: Record<Family, number> = { 4: 32, 6: 128 };

export function nameserverExempt(spec: string | undefined): { list: CidrList; problems: string[] } {
  const entries = splitList(spec ?? "");
  const ranges = entries.filter((e) => {
    const m = /\/(\d+)$/.exec(e);
    const a = parseAddress(e.replace(/\/\d+$/, ""));
    return m && a && Number(m[1]) !== FULL[a.family];
  });
  const r = parseCidrList(entries.filter((e) => !ranges.includes(e)), NAMESERVER_EXEMPT_ENV);
  for (const e of ranges) r.problems.push(`${NAMESERVER_EXEMPT_ENV} entry '${e}' is a range; name single resolver addresses (a range would exempt DNS to every host in it)`);
  return r;
}

/** Whether `address` is one of the exempt nameservers (compared as addresses, not text). */
export function exemptMatcher(list: CidrList): (address: string) => boolean {
  const keys = new Set([...list[4], ...list[6]].map((c) => key(c.replace(/\/\d+$/, ""))));
  return (address) => keys.has(key(address));
}

function key(address: string): string {
  const a = parseAddress(address);
  return a ? `${a.family}/${a.value}` : address;
}
