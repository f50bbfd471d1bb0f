// DNS to any other server or port. Every port-53 packet the application sends, to any
// address, over UDP or TCP, IPv4 or IPv6, is redirected to the proxy and judged; DNS to
// any other port is just a flow to an address no name allowed. The control: an allowed
// name asked of a host that runs no DNS server is answered, by the proxy.
import { describe, expect, test } from "bun:test";
import { IDENTITIES } from "../../support/attacker.ts";
import { LAB, attack, dnsDenied, hostFor, kdig, netDenied, useAdversarialLab } from "./support.ts";

const get = useAdversarialLab();

for (const who of IDENTITIES) {
  describe(who, () => {
    test("control: an allowed name asked of a random world address on port 53 is answered by the proxy", async () => {
      const { lab } = get();
      // 203.0.113.200 runs no DNS server: only the redirect can answer
      expect(await attack(lab, who, ["dns", "203.0.113.200", "53", "api.example.com", "1", "udp"])).toBe("rcode 0 ede -");
    });

    for (const [server, proto] of [["203.0.113.200", "udp"], ["203.0.113.200", "tcp"], ["2001:db8:200::200", "udp"], ["2001:db8:200::200", "tcp"], [LAB.dnsV4, "tcp"]] as const) {
      test(`a denied name to ${server} port 53 over ${proto}: NXDOMAIN from the proxy, dns.denied`, async () => {
        const { lab, served } = get();
        const name = `bypass-${who}-${proto}-${server.includes(":") ? 6 : 4}-${server === LAB.dnsV4 ? "up" : "rnd"}.example.net`;
        const r = await attack(lab, who, ["dns", server, "53", name, "1", proto]);
        expect(r).toBe("rcode 3 ede blocked by egressctl default deny");
        const ev = await dnsDenied(served, name);
        expect(ev).toMatchObject({ rule: "default deny", level: "warn" });
      });
    }

    test("the proxy asked directly (127.0.0.1:15353, [::1]:15353): the same policy", async () => {
      const { lab, served } = get();
      for (const server of ["127.0.0.1", "::1"]) {
        expect(await attack(lab, who, ["dns", server, "15353", `direct-${who}.example.net`, "16", "udp"])).toBe("rcode 3 ede blocked by egressctl default deny");
      }
      await dnsDenied(served, `direct-${who}.example.net`);
    });

    test("DNS to another port (5353) of any address, UDP and TCP: refused at once, net.denied", async () => {
      const { lab, served } = get();
      expect(await attack(lab, who, ["dns", hostFor(who), "5353", `port-${who}.example.net`, "1", "udp"])).toBe("PermissionError errno=1");
      expect(await attack(lab, who, ["dns", hostFor(who), "5353", `port-${who}.example.net`, "1", "tcp"])).toMatch(/^ConnectionRefusedError/);
      // even to the upstream itself: only the proxy's marked queries reach it
      expect((await kdig(lab, who, `port-${who}.example.net`, [`@${LAB.dnsV4}`, "-p", "5353"])).status).toMatch(/^NOANSWER/);
      await netDenied(served, hostFor(who), 5353, "default", "udp");
      await netDenied(served, hostFor(who), 5353, "default", "tcp");
      await netDenied(served, LAB.dnsV4, 5353, "default", "udp");
    });
  });
}
