// Query floods. One identity sends UDP queries for ever-new denied names as fast as it
// can (tens of thousands a second here); meanwhile the other identity's allowed queries
// are answered, over UDP with a stub resolver's retries (a flood fills the proxy's UDP
// socket queue, so a datagram may be lost, as with any resolver) and over TCP; serve
// stays up, and the log stays bounded (dns.denied is rate-limited per name and globally,
// and says how many lines it left out).
import { expect, test } from "bun:test";
import { IDENTITIES } from "../../support/attacker.ts";
import { LAB, attackSpawn, kdig, useAdversarialLab } from "./support.ts";

const get = useAdversarialLab();

for (const who of IDENTITIES) {
  const other = IDENTITIES.find((x) => x !== who)!;
  test(`${who} floods; ${other}'s allowed queries are answered meanwhile; the log stays bounded`, async () => {
    const { lab, served } = get();
    const logged = () => served.events.filter((e) => e.event === "dns.denied" && String(e.name).endsWith(".flood.evil.example.com")).length;
    const loggedBefore = logged();
    const flood = attackSpawn(lab, who, ["flood", LAB.dnsV4, "53", "4"]);
    try {
      // wait until the flood is really under way: the proxy has denied some of its names
      await served.waitEvent(() => logged() > loggedBefore);
      for (let i = 0; i < 3; i++) {
        expect((await kdig(lab, other, "api.example.com", ["+retry=2", "+timeout=2"])).status).toBe("NOERROR");
        expect((await kdig(lab, other, "api.example.com", ["+tcp"])).status).toBe("NOERROR");
      }
      const sent = Number((await flood.waitLine(/^sent \d+/)).split(" ")[1]);
      expect(sent).toBeGreaterThan(1000);
      // far fewer lines than queries, and the lines say how many were left out
      expect(logged() - loggedBefore).toBeLessThan(sent / 4);
      expect(served.events.some((e) => e.event === "dns.denied" && (e.suppressedGlobal ?? 0) > 0)).toBe(true);
    } finally {
      await flood.stop();
    }
    expect(served.proc.exitCode).toBeNull();
    // and the flooder itself is answered again, once its backlog is drained
    expect((await kdig(lab, who, "api.example.com", ["+retry=2", "+timeout=2"])).status).toBe("NOERROR");
  }, 60_000);
}
