// The namespace's own addresses and gateways, parsed from /proc/net text as the lab's
// sandbox namespace shows it.
import { expect, test } from "bun:test";
import { localSignature, parseLocalAddresses } from "../../../src/core/net/local-addresses.ts";
import { formatAddress } from "../../../src/core/net/ip.ts";

const FIB_TRIE = `Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 127.0.0.0/8 2 0 2
        +-- 127.0.0.0/31 1 0 0
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
        |-- 127.255.255.255
           /32 link BROADCAST
     +-- 192.0.2.0/24 2 0 2
        +-- 192.0.2.0/30 2 0 2
           |-- 192.0.2.0
              /24 link UNICAST
           |-- 192.0.2.2
              /32 host LOCAL
        |-- 192.0.2.255
           /32 link BROADCAST
`;
const IF_INET6 = `00000000000000000000000000000001 01 80 10 80       lo
20010db8000100000000000000000002 02 40 00 82    veth0
`;
const ROUTE = `Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
veth0	00000000	010200C0	0003	0	0	0	00000000	0	0	0
veth0	000200C0	00000000	0001	0	0	0	00FFFFFF	0	0	0
`;
const IPV6_ROUTE = `20010db8000100000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001    veth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 20010db8000100000000000000000001 00000400 00000001 00000000 00000003    veth0
`;

test("addresses, broadcast addresses and gateways of both families", () => {
  const l = parseLocalAddresses({ fibTrie: FIB_TRIE, ifInet6: IF_INET6, route: ROUTE, ipv6Route: IPV6_ROUTE, littleEndian: true });
  const show = (f: 4 | 6) => [...l[f]].map(([v, what]) => `${formatAddress(f, v)} ${what}`).sort();
  expect(show(4)).toEqual(["127.0.0.1 address", "127.255.255.255 broadcast address", "192.0.2.1 gateway via veth0", "192.0.2.2 address", "192.0.2.255 broadcast address"]);
  expect(show(6)).toEqual(["2001:db8:1::1 gateway via veth0", "2001:db8:1::2 address on veth0", "::1 address on lo"]);
});

test("/proc/net/route in big-endian byte order", () => {
  const l = parseLocalAddresses({ fibTrie: "", ifInet6: "", route: "Iface\tDestination\tGateway\nveth0\t00000000\tC0000201\t0003", ipv6Route: "", littleEndian: false });
  expect([...l[4].keys()].map((v) => formatAddress(4, v))).toEqual(["192.0.2.1"]);
});

test("empty or unreadable text gives no addresses; the signature tells changes apart", () => {
  const none = parseLocalAddresses({ fibTrie: "", ifInet6: "", route: "", ipv6Route: "", littleEndian: true });
  expect(none[4].size + none[6].size).toBe(0);
  const some = parseLocalAddresses({ fibTrie: FIB_TRIE, ifInet6: "", route: "", ipv6Route: "", littleEndian: true });
  expect(localSignature(none)).not.toBe(localSignature(some));
  expect(localSignature(some)).toBe(localSignature(parseLocalAddresses({ fibTrie: FIB_TRIE, ifInet6: "", route: "", ipv6Route: "", littleEndian: true })));
});
