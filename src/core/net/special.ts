// Which addresses are not public: the IANA IPv4 and IPv6 Special-Purpose Address
// Registries (RFC 6890 and its updates), entries marked not globally reachable, plus
// the whole IPv6 space outside global unicast (2000::/3), plus IPv4 addresses embedded
// in IPv6 (v4-mapped, v4-compatible, NAT64, 6to4, Teredo), judged as the IPv4 address
// they carry. An answer naming such an address must not open it (docs/security.md).
//
// Deliberate exceptions: the documentation ranges 192.0.2.0/24, 198.51.100.0/24,
// 203.0.113.0/24 and 2001:db8::/32 count as public, so labs built on them work; and the
// registry's globally reachable entries inside reserved blocks (PCP/TURN anycast, AMT,
// AS112, ORCHIDv2, drone DETs) are public. Pure; a table, so it is read and tested
// entry by entry.
import { cidrRange, formatAddress, parseCidr, type Address, type Family } from "./ip.ts";

interface Entry {
  family: Family;
  start: bigint;
  end: bigint;
  /** why it is not public; null: public (an exception inside a wider entry) */
  reason: string | null;
  /** cidr text, for reasons and tests */
  cidr: string;
}

const entry = (cidr: string, reason: string | null): Entry => {
  const c = parseCidr(cidr);
  if (!c) throw new Error(`special.ts: bad CIDR ${cidr}`);
  return { family: c.family, ...cidrRange(c), reason, cidr };
};

/**
 * First match wins, so exceptions come before the block they are carved out of.
 * IPv4: every non-global entry of the registry, and all of class E.
 */
const SPECIAL_V4: readonly Entry[] = [
  entry("0.0.0.0/8", "unspecified (\"this network\", RFC 791)"),
  entry("10.0.0.0/8", "private (RFC 1918)"),
  entry("100.64.0.0/10", "shared address space (carrier-grade NAT, RFC 6598)"),
  entry("127.0.0.0/8", "loopback (RFC 1122)"),
  entry("169.254.0.0/16", "link-local (RFC 3927; cloud metadata services live at 169.254.169.254)"),
  entry("172.16.0.0/12", "private (RFC 1918)"),
  entry("192.0.0.9/32", null), // PCP anycast (RFC 7723): globally reachable
  entry("192.0.0.10/32", null), // TURN anycast (RFC 8155): globally reachable
  entry("192.0.0.0/24", "IETF protocol assignments (RFC 6890)"),
  entry("192.0.2.0/24", null), // TEST-NET-1 (RFC 5737): documentation, public here
  entry("192.88.99.0/24", "6to4 relay anycast (deprecated, RFC 7526)"),
  entry("192.168.0.0/16", "private (RFC 1918)"),
  entry("198.18.0.0/15", "benchmarking (RFC 2544)"),
  entry("198.51.100.0/24", null), // TEST-NET-2: documentation, public here
  entry("203.0.113.0/24", null), // TEST-NET-3: documentation, public here
  entry("224.0.0.0/4", "multicast (RFC 5771)"),
  entry("255.255.255.255/32", "limited broadcast (RFC 919)"),
  entry("240.0.0.0/4", "reserved (RFC 1112)"),
];

/** IPv6 blocks that carry an IPv4 address; judged by that address */
type Embedding = { cidr: string; what: string; v4: (v: bigint) => bigint[] };
const low32 = (v: bigint) => v & 0xffffffffn;
const EMBEDDINGS: readonly (Embedding & { start: bigint; end: bigint })[] = (
  [
    { cidr: "::ffff:0:0/96", what: "IPv4-mapped", v4: (v) => [low32(v)] },
    { cidr: "64:ff9b::/96", what: "NAT64 (RFC 6052)", v4: (v) => [low32(v)] },
    { cidr: "2002::/16", what: "6to4 (RFC 3056)", v4: (v) => [(v >> 80n) & 0xffffffffn] },
    // Teredo (RFC 4380): the server's address, and the client's, bit-inverted
    { cidr: "2001::/32", what: "Teredo (RFC 4380)", v4: (v) => [(v >> 64n) & 0xffffffffn, low32(v) ^ 0xffffffffn] },
    // v4-compatible (deprecated, RFC 4291); :: and ::1 are decided by the table first
    { cidr: "::/96", what: "IPv4-compatible", v4: (v) => [low32(v)] },
  ] as Embedding[]
).map((e) => ({ ...e, ...cidrRange(parseCidr(e.cidr)!) }));

/** IPv6: first match wins; embeddings are handled before the rest of this table. */
const SPECIAL_V6: readonly Entry[] = [
  entry("::/128", "unspecified"),
  entry("::1/128", "loopback"),
  entry("64:ff9b:1::/48", "local-use IPv4/IPv6 translation (RFC 8215)"),
  entry("100::/64", "discard-only (RFC 6666)"),
  entry("2001:db8::/32", null), // documentation (RFC 3849): public here
  entry("2001:1::1/128", null), // PCP anycast: globally reachable
  entry("2001:1::2/128", null), // TURN anycast: globally reachable
  entry("2001:1::3/128", null), // DNS-SD SRP anycast: globally reachable
  entry("2001:3::/32", null), // AMT: globally reachable
  entry("2001:4:112::/48", null), // AS112-v6: globally reachable
  entry("2001:20::/28", null), // ORCHIDv2: globally reachable
  entry("2001:30::/28", null), // drone remote ID DETs: globally reachable
  entry("2001::/23", "IETF protocol assignments (RFC 2928)"),
  entry("3fff::/20", "documentation (RFC 9637)"),
  entry("5f00::/16", "segment routing SIDs (RFC 9602)"),
  entry("2000::/3", null), // global unicast: public unless listed above
  entry("fc00::/7", "unique local (ULA, RFC 4193)"),
  entry("fe80::/10", "link-local (RFC 4291)"),
  entry("fec0::/10", "site-local (deprecated, RFC 3879)"),
  entry("ff00::/8", "multicast (RFC 4291)"),
  entry("::/0", "reserved (outside global unicast 2000::/3)"),
];

/** Addresses of the namespace itself (its interfaces' addresses, its gateways). */
export interface LocalAddresses {
  /** values per family, with what each is ("address of eth0", "gateway") */
  4: ReadonlyMap<bigint, string>;
  6: ReadonlyMap<bigint, string>;
}

export const NO_LOCAL: LocalAddresses = { 4: new Map(), 6: new Map() };

function lookup(table: readonly Entry[], v: bigint): Entry | null {
  for (const e of table) if (v >= e.start && v <= e.end) return e;
  return null;
}

/**
 * Why `a` is not public, or null when it is: the registry's reason, or the namespace's
 * own address or gateway (`local`), also when carried inside an IPv6 address.
 */
export function nonPublic(a: Address, local: LocalAddresses = NO_LOCAL): string | null {
  if (a.family === 4) return v4Reason(a.value, local);
  const own = local[6].get(a.value);
  if (own) return `this namespace's own ${own}`;
  for (const e of EMBEDDINGS) {
    if (a.value < e.start || a.value > e.end) continue;
    if (e.cidr === "::/96" && a.value <= 1n) break; // :: and ::1: the table says
    for (const v4 of e.v4(a.value)) {
      const why = v4Reason(v4, local);
      if (why) return `${e.what} form of ${formatAddress(4, v4)}: ${why}`;
    }
    return null;
  }
  return lookup(SPECIAL_V6, a.value)?.reason ?? null;
}

function v4Reason(v: bigint, local: LocalAddresses): string | null {
  const own = local[4].get(v);
  if (own) return `this namespace's own ${own}`;
  return lookup(SPECIAL_V4, v)?.reason ?? null;
}
