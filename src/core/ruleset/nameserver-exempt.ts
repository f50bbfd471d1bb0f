// OPENSANDBOX_EGRESS_NAMESERVER_EXEMPT, with OpenSandbox's meaning: DNS to these servers
// is not redirected to the proxy, and the filter lets it out. A platform uses it for a
// resolver the sandbox must reach as-is (a node-local cache, a cluster DNS).
//
// What it costs, and why the filter opens only port 53: queries to an exempt server are
// not judged, so any name resolves through it. In dns+nftables mode its answers are not
// learned either, so the resolved addresses stay closed unless the policy allows them;
// only DNS itself (including tunnelling over DNS to that server) gets out. In dns-only
// mode nothing else stands behind the proxy: the exemption bypasses the name policy.
// OpenSandbox adds the servers to its allow set on every port; egressctl opens only
// UDP/TCP 53 to them (docs/security.md).
import { parseCidrList, splitList, type CidrList } from "./cidr-list.ts";

export const NAMESERVER_EXEMPT_ENV = "OPENSANDBOX_EGRESS_NAMESERVER_EXEMPT";

export function nameserverExempt(spec: string | undefined): { list: CidrList; problems: string[] } {
  return parseCidrList(splitList(spec ?? ""), NAMESERVER_EXEMPT_ENV);
}
