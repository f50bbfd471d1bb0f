// IPv6 facts for this namespace. /proc/sys/net and /proc/net follow the reader's network
// namespace, so these describe the namespace probe runs in, not the host's.
import type { Ipv6Facts } from "../../core/probe/types.ts";
import { readText } from "./read.ts";

const LOOPBACK_HEX = "00000000000000000000000000000001";

export function ipv6Facts(): Ipv6Facts {
  const sys = readText("/proc/sys/net/ipv6/conf/all/disable_ipv6");
  if (!sys.ok) {
    // booted with ipv6.disable=1 (or no IPv6 at all): the whole tree is missing
    return { enabled: false, disableIpv6: null, loopback: false, error: `no IPv6 stack (${sys.error})` };
  }
  const disableIpv6 = Number(sys.value.trim());
  const addrs = readText("/proc/net/if_inet6");
  const loopback = addrs.ok && addrs.value.split("\n").some((l) => l.startsWith(LOOPBACK_HEX));
  const fact: Ipv6Facts = { enabled: disableIpv6 === 0 && loopback, disableIpv6, loopback };
  if (!addrs.ok) fact.error = addrs.error;
  else if (disableIpv6 !== 0) fact.error = `net.ipv6.conf.all.disable_ipv6=${disableIpv6}`;
  else if (!loopback) fact.error = "no ::1 on any interface";
  return fact;
}
