// Names with bytes no policy name can contain (a space, NUL, a dot inside a label, bytes
// above 0x7f), even under an allowed wildcard: denied by the proxy (NXDOMAIN, EDE naming
// why) and reported as dns.denied; they never go upstream (exfiltration.test.ts checks
// that on the upstream's side). The control: an ordinary name under the same wildcard is
// forwarded (Knot answers NXDOMAIN itself, without egressctl's EDE).
import { describe, expect, test } from "bun:test";
import { IDENTITIES } from "../../support/attacker.ts";
import { LAB, attack, useAdversarialLab } from "./support.ts";

const get = useAdversarialLab();
const ODD_EDE = "blocked by egressctl: name has characters no policy name can match";

for (const who of IDENTITIES) {
  describe(who, () => {
    test("control: an ordinary name under the allowed wildcard is forwarded", async () => {
      const { lab } = get();
      expect(await attack(lab, who, ["dns", LAB.dnsV4, "53", `plain-${who}.ok.example.com`, "1", "udp"])).toBe("rcode 3 ede -");
    });

    test.each([
      ["a space", "a\\x20b"],
      ["NUL", "a\\x00b"],
      ["a dot inside a label", "a\\x2eb"],
      ["bytes above 0x7f", "\\xff\\xfe"],
      ["a control byte", "\\x07bell"],
    ])("%s under the allowed wildcard: NXDOMAIN with the EDE, dns.denied", async (_what, label) => {
      const { lab, served } = get();
      for (const proto of ["udp", "tcp"]) {
        const r = await attack(lab, who, ["dns", LAB.dnsV4, "53", `${label}-${who}-${proto}.ok.example.com`, "1", proto]);
        expect(r).toBe(`rcode 3 ede ${ODD_EDE}`);
      }
      const ev = await served.waitEvent((e) => e.event === "dns.denied" && typeof e.name === "string" && e.name.includes(`-${who}-tcp.ok.example.com`) && e.rule === "name has characters no policy name can match");
      expect(ev.level).toBe("warn");
    });
  });
}
