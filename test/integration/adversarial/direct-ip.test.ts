// Direct connections to addresses no allowed name resolved to: IPv4, IPv6 and IPv4-mapped
// IPv6 (which leaves as IPv4), TCP and UDP. Refused at once (reset, or EPERM on send) and
// reported as net.denied with reason "default". The control: an allowed name's address,
// learned from the proxy's answer, is reached by the same identity.
import { describe, expect, test } from "bun:test";
import { IDENTITIES } from "../../support/attacker.ts";
import { attack, counter, hostFor, kdig, netDenied, useAdversarialLab } from "./support.ts";

const get = useAdversarialLab();

for (const who of IDENTITIES) {
  describe(who, () => {
    test("control: an allowed name resolves and its learned address is reached", async () => {
      const { lab } = get();
      expect((await kdig(lab, who, "api.example.com")).status).toBe("NOERROR");
      expect(await attack(lab, who, ["tcp", "198.51.100.10", "80"])).toBe("reached ok 198.51.100.10 80");
    });

    test("IPv4, TCP: reset at once; net.denied reason default", async () => {
      const { lab, served } = get();
      const before = await counter(lab, "denied_default");
      expect(await attack(lab, who, ["tcp", hostFor(who), "80"])).toMatch(/^ConnectionRefusedError/);
      const ev = await netDenied(served, hostFor(who), 80, "default", "tcp");
      expect(ev.level).toBe("warn");
      expect(await counter(lab, "denied_default")).toBeGreaterThan(before);
    });

    test("IPv6, TCP: reset at once; net.denied", async () => {
      const { lab, served } = get();
      expect(await attack(lab, who, ["tcp", hostFor(who, 6), "80"])).toMatch(/^ConnectionRefusedError/);
      await netDenied(served, hostFor(who, 6), 80, "default", "tcp");
    });

    test("IPv4-mapped IPv6: leaves as IPv4 and is judged as such", async () => {
      const { lab, served } = get();
      expect(await attack(lab, who, ["tcp", `::ffff:${hostFor(who)}`, "8080"])).toMatch(/^ConnectionRefusedError/);
      await netDenied(served, hostFor(who), 8080, "default", "tcp");
    });

    test("UDP, both families: send fails with EPERM; net.denied", async () => {
      const { lab, served } = get();
      expect(await attack(lab, who, ["udp", hostFor(who), "9"])).toBe("PermissionError errno=1");
      expect(await attack(lab, who, ["udp", hostFor(who, 6), "9"])).toBe("PermissionError errno=1");
      await netDenied(served, hostFor(who), 9, "default", "udp");
      await netDenied(served, hostFor(who, 6), 9, "default", "udp");
    });
  });
}
