// Encrypted DNS around the proxy. DoT (port 853, TCP and UDP) is refused to every
// address, even one an allowed name resolved to; DoH (443, TCP and UDP for HTTP/3) to the
// listed providers (the lab's stand-ins), even when an allowed name resolved to them.
// The control: port 443 of an allowed address is reached.
import { describe, expect, test } from "bun:test";
import { IDENTITIES } from "../../support/attacker.ts";
import { ALLOWED, LAB, attack, counter, hostFor, kdig, netDenied, useAdversarialLab } from "./support.ts";

// doh.example.com resolves to the DoH stand-ins (test/support/zones.ts)
const get = useAdversarialLab({ allow: [...ALLOWED, "doh.example.com"] });

for (const who of IDENTITIES) {
  describe(who, () => {
    test("control: port 443 of an allowed name's address is reached", async () => {
      const { lab } = get();
      expect((await kdig(lab, who, "api.example.com")).status).toBe("NOERROR");
      expect(await attack(lab, who, ["tcp", "198.51.100.10", "443"])).toBe("reached ok 198.51.100.10 443");
    });

    test("DoT to any address, TCP and UDP, both families: refused; net.denied reason dot", async () => {
      const { lab, served } = get();
      const before = await counter(lab, "denied_dot");
      expect(await attack(lab, who, ["tcp", hostFor(who), "853"])).toMatch(/^ConnectionRefusedError/);
      expect(await attack(lab, who, ["udp", hostFor(who), "853"])).toBe("PermissionError errno=1");
      expect(await attack(lab, who, ["tcp", hostFor(who, 6), "853"])).toMatch(/^ConnectionRefusedError/);
      await netDenied(served, hostFor(who), 853, "dot", "tcp");
      await netDenied(served, hostFor(who), 853, "dot", "udp");
      await netDenied(served, hostFor(who, 6), 853, "dot", "tcp");
      expect(await counter(lab, "denied_dot")).toBeGreaterThanOrEqual(before + 3);
    });

    test("DoT to an allowed, learned address: still refused, the event names the name", async () => {
      const { lab, served } = get();
      expect((await kdig(lab, who, "api.example.com")).status).toBe("NOERROR");
      expect(await attack(lab, who, ["tcp", "198.51.100.10", "853"])).toMatch(/^ConnectionRefusedError/);
      const ev = await netDenied(served, "198.51.100.10", 853, "dot", "tcp");
      expect(ev.name).toBe("api.example.com");
    });

    test("DoH to the providers, TCP and UDP (HTTP/3), both families, even learned from an allowed name: refused; reason doh", async () => {
      const { lab, served } = get();
      expect((await kdig(lab, who, "doh.example.com")).status).toBe("NOERROR");
      const before = await counter(lab, "denied_doh");
      expect(await attack(lab, who, ["tcp", LAB.dohV4, "443"])).toMatch(/^ConnectionRefusedError/);
      expect(await attack(lab, who, ["udp", LAB.dohV4, "443"])).toBe("PermissionError errno=1");
      expect(await attack(lab, who, ["tcp", LAB.dohV6, "443"])).toMatch(/^ConnectionRefusedError/);
      // one identity's attempts and the other's are the same flows: the kernel reports a
      // flow once a minute, and the counter counts each attempt
      expect(await counter(lab, "denied_doh")).toBeGreaterThanOrEqual(before + 3);
      await netDenied(served, LAB.dohV4, 443, "doh", "tcp");
      await netDenied(served, LAB.dohV4, 443, "doh", "udp");
      await netDenied(served, LAB.dohV6, 443, "doh", "tcp");
    });
  });
}
