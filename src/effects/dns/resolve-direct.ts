// Resolves a name serve itself needs (the deny webhook's host) straight from the
// upstream resolvers, over TCP marked as the proxy's own queries are: not through the
// system resolver, whose queries the redirect would hand to serve's own proxy and judge
// by the sandbox's policy. resolv.conf's search list applies (search-list.ts), as it
// would for any program in the namespace.
import dnsPacket from "dns-packet";
import { CLASS_IN, TYPE_A, TYPE_AAAA } from "../../core/dns/wire.ts";
import type { LearnedAddress } from "../../core/dns/answer.ts";
import { candidateNames, type SearchConfig } from "../../core/dns/search-list.ts";
import type { Upstream } from "../../core/dns/upstreams.ts";
import { normaliseName } from "../../core/match/domain.ts";
import { tcpQuery } from "./upstream-tcp.ts";

/**
 * A and AAAA of the first candidate name that any upstream answers with addresses; []
 * when none does. An upstream that fails, or answers without addresses, does not end
 * the search: the next one is asked.
 */
export async function resolveDirect(
  name: string,
  search: SearchConfig,
  upstreams: readonly Upstream[],
  markFor: (u: Upstream) => number | null,
  timeoutMs: number,
): Promise<LearnedAddress[]> {
  for (const candidate of candidateNames(name, search)) {
    const qname = normaliseName(candidate);
    if (qname === null) continue;
    for (const up of upstreams) {
      const answers = await Promise.all(([[TYPE_A, "A"], [TYPE_AAAA, "AAAA"]] as const).map(([qtype, type]) => {
        const query = dnsPacket.encode({ type: "query", id: 0, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name: qname }] });
        return tcpQuery(up, query, { name: qname, qtype, qclass: CLASS_IN }, timeoutMs, markFor(up));
      }));
      const addresses = answers.flatMap((a) => (a.ok ? a.info.addresses : []));
      if (addresses.length > 0) return addresses;
    }
  }
  return [];
}
