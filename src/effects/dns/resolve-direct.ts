// Resolves a name serve itself needs (the deny webhook's host) straight from the
// upstream resolvers, over marked TCP: not through the system resolver, whose queries
// the redirect would hand to serve's own proxy and judge by the sandbox's policy.
import dnsPacket from "dns-packet";
import { CLASS_IN, TYPE_A, TYPE_AAAA } from "../../core/dns/wire.ts";
import type { LearnedAddress } from "../../core/dns/answer.ts";
import type { Upstream } from "../../core/dns/upstreams.ts";
import { normaliseName } from "../../core/match/domain.ts";
import { tcpQuery } from "./upstream-tcp.ts";

/** A and AAAA of `name` from the first upstream that answers; [] when none does. */
export async function resolveDirect(name: string, upstreams: readonly Upstream[], markFor: (u: Upstream) => number | null, timeoutMs: number): Promise<LearnedAddress[]> {
  const qname = normaliseName(name);
  if (qname === null) return [];
  for (const up of upstreams) {
    const answers = await Promise.all(([[TYPE_A, "A"], [TYPE_AAAA, "AAAA"]] as const).map(async ([qtype, type]) => {
      const query = dnsPacket.encode({ type: "query", id: 0, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name: qname }] });
      return tcpQuery(up, query, { name: qname, qtype, qclass: CLASS_IN }, timeoutMs, markFor(up));
    }));
    const addresses = answers.flatMap((a) => (a.ok ? a.info.addresses : []));
    if (answers.some((a) => a.ok)) return addresses;
  }
  return [];
}
