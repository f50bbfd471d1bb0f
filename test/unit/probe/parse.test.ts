// Parsers for the /proc files that fact gathering reads (the reading itself is tested
// for real in test/integration/probe).
import { expect, test } from "bun:test";
import { capabilities } from "../../../src/effects/probe/facts.ts";
import { defaultRoutes4, defaultRoutes6, parseProcNetDev } from "../../../src/effects/probe/netns.ts";

test("interface names from /proc/net/dev", () => {
  const text = `Inter-|   Receive                            |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes
    lo:    3193      29    0    0    0     0          0         0     3193
  eth0: 122474016    2962    0    0    0     0          0         0   172497
cali1a2b3c4d: 0 0 0 0 0 0 0 0 0
`;
  expect(parseProcNetDev(text)).toEqual(["lo", "eth0", "cali1a2b3c4d"]);
});

test("IPv4 default routes from /proc/net/route", () => {
  const text = `Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
eth0	00000000	010200C0	0003	0	0	0	00000000	0	0	0
eth0	000200C0	00000000	0001	0	0	0	00FFFFFF	0	0	0
wg0	00000000	00000000	0001	0	0	0	00000080	0	0	0
`;
  expect(defaultRoutes4(text)).toEqual(["eth0"]);
});

test("IPv6 default routes from /proc/net/ipv6_route, leaving out unreachable ones on lo", () => {
  const z = "0".repeat(32);
  const text = [
    `${z} 00 ${z} 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003     eth0`,
    `${z} 00 ${z} 00 ${z} ffffffff 00000001 00000000 00200200       lo`,
    `20010db8000000000000000000000000 40 ${z} 00 ${z} 00000100 00000001 00000000 00000001     eth1`,
  ].join("\n");
  expect(defaultRoutes6(text)).toEqual(["eth0"]);
});

test.each([
  ["000001fffeffffff", true],
  ["000001fffeffefff", false], // what setpriv --inh-caps=-net_admin --bounding-set=-net_admin leaves
  ["0000000000001000", true],
  ["0000000000000000", false],
])("CapEff %s -> CAP_NET_ADMIN %p", (hex, want) => {
  const status = `Name:\tx\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t${hex}\n`;
  expect(capabilities({ ok: true, value: status })).toEqual({ netAdmin: want, effective: hex });
});

test("unreadable or odd status is an error, not a throw", () => {
  expect(capabilities({ ok: false, error: "EACCES" })).toMatchObject({ netAdmin: false, error: expect.stringContaining("EACCES") });
  expect(capabilities({ ok: true, value: "Name: x\n" })).toMatchObject({ netAdmin: false, error: expect.stringContaining("CapEff") });
});
