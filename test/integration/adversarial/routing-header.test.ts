// IPv6 routing headers. Any application may set IPV6_RTHDR (no privilege needed): with a
// type-4 segment routing header naming an allowed first hop and a denied final segment,
// the packet's destination at the filter is the allowed hop, and a host that forwards
// segment-routed packets (here the world, seg6_enabled=1) delivers it to the denied
// address. The filter therefore drops every IPv6 packet that carries a routing header
// (reason "rthdr"). The control shows the attack reaching the denied address once that
// one rule is removed. Its IPv4 counterpart, a source route option (IP_OPTIONS with LSRR),
// the kernel itself refuses to either identity: it needs CAP_NET_RAW.
import { describe, expect, test } from "bun:test";
import { IDENTITIES } from "../../support/attacker.ts";
import { ALLOWED, attack, counter, hostFor, netDenied, useAdversarialLab } from "./support.ts";

const FIRST_HOP = "2001:db8:100::10";
const get = useAdversarialLab({
  allow: [...ALLOWED, FIRST_HOP],
  // the world forwards segment-routed packets, on every interface
  before: async (lab) => {
    const r = await lab.exec("world", ["sh", "-c", "for f in /proc/sys/net/ipv6/conf/*/seg6_enabled; do echo 1 > $f; done"]);
    if (r.code !== 0) throw new Error(`seg6_enabled: ${r.stderr}`);
  },
});

describe("a type-4 routing header: allowed first hop, denied final segment", () => {
  test("control: the first hop itself is allowed and reached", async () => {
    const { lab } = get();
    expect(await attack(lab, "nobody", ["udp", FIRST_HOP, "9"])).toBe(`reached ok ${FIRST_HOP} x`);
  });

  test("control: without the filter's routing-header rule the datagram reaches the denied address", async () => {
    const { lab, served } = get();
    const list = await lab.exec("sandbox", ["nft", "-a", "list", "chain", "inet", "egressctl", "output"]);
    const handle = /exthdr rt exists goto deny_rthdr # handle (\d+)/.exec(list.stdout)![1]!;
    expect((await lab.exec("sandbox", ["nft", "delete", "rule", "inet", "egressctl", "output", "handle", handle])).code).toBe(0);
    try {
      // the echo comes from the denied address: the world delivered it there
      expect(await attack(lab, "nobody", ["srh", "2001:db8:100::66", FIRST_HOP, "9"])).toBe("reached ok 2001:db8:100::66 srh");
    } finally {
      served.proc.kill("SIGHUP"); // re-installs the unchanged policy, the rule with it
      await served.waitEvent((e) => e.event === "policy.reinstalled");
    }
  });

  for (const who of IDENTITIES) {
    test(`${who}: the kernel takes the header, the filter refuses the datagram (EPERM); net.denied reason rthdr`, async () => {
      const { lab, served } = get();
      const before = await counter(lab, "denied_rthdr");
      const port = who === "nobody" ? 9 : 443; // one flow per identity: each is reported once a minute
      // setsockopt succeeds (an error there would read "setsockopt ..."); the send is refused
      expect(await attack(lab, who, ["srh", hostFor(who, 6), FIRST_HOP, String(port)])).toBe("PermissionError errno=1");
      // the flow as the filter saw it: to the first hop
      await netDenied(served, FIRST_HOP, port, "rthdr", "udp");
      expect(await counter(lab, "denied_rthdr")).toBeGreaterThan(before);
    });
  }
});

describe("IPv4: a loose source route option", () => {
  for (const who of IDENTITIES) {
    test(`${who}: the kernel refuses the option (EPERM: it needs CAP_NET_RAW)`, async () => {
      const { lab } = get();
      expect(await attack(lab, who, ["lsrr", "198.51.100.66", "198.51.100.10", "9"])).toBe("setsockopt PermissionError errno=1");
    });
  }
});
