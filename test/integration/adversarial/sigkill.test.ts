// serve SIGKILLed (a crash, an OOM kill). The ruleset stays in force while it is down:
// addresses nobody allowed stay refused, DNS has nowhere to go (the redirect points at a
// closed port; a capture on the world's side shows none of it arrives), and what was
// learned stays reachable. The restarted serve adopts the table and reports, from the
// kernel's denied-flow sets, the refusals that happened while it was down.
import { describe, expect, test } from "bun:test";
import { IDENTITIES } from "../../support/attacker.ts";
import { LAB, attack, capture, hostFor, kdig, netDenied, restart, useAdversarialLab } from "./support.ts";

const get = useAdversarialLab();
let cap: Awaited<ReturnType<typeof capture>>;

describe("while serve is down", () => {
  test("SIGKILL: the table stays", async () => {
    const ctx = get();
    for (const who of IDENTITIES) expect((await kdig(ctx.lab, who, "api.example.com")).status).toBe("NOERROR");
    cap = await capture(ctx.lab, ["port", "53"]);
    await ctx.served.stop("SIGKILL");
    expect((await ctx.lab.exec("sandbox", ["nft", "list", "chain", "inet", "egressctl", "output"])).code).toBe(0);
  });

  for (const who of IDENTITIES) {
    test(`${who}: denied addresses refused, DNS answered by nobody, the learned address still reached`, async () => {
      const { lab } = get();
      expect(await attack(lab, who, ["tcp", hostFor(who), "80"])).toMatch(/^ConnectionRefusedError/);
      expect(await attack(lab, who, ["udp", hostFor(who, 6), "9"])).toBe("PermissionError errno=1");
      // the redirect sends every port-53 packet to the proxy's port, where nothing listens:
      // no answer (checked on the world's side below: nothing arrives there either)
      expect(await attack(lab, who, ["dns", LAB.dnsV4, "53", `down-${who}.example.net`, "1", "udp"])).toMatch(/^(ConnectionRefusedError|TimeoutError)/);
      expect(await attack(lab, who, ["dns", "203.0.113.200", "53", `down-${who}.example.net`, "1", "tcp"])).toMatch(/^(ConnectionRefusedError|TimeoutError)/);
      expect(await attack(lab, who, ["tcp", "198.51.100.10", "80"])).toBe("reached ok 198.51.100.10 80");
    });
  }
});

describe("the restart", () => {
  test("adopts what was learned and reports what was refused while it was down", async () => {
    const ctx = get();
    const s = await restart(ctx);
    expect(s.events.find((e) => e.event === "learned.adopted")?.adopted).toBeGreaterThanOrEqual(1);
    for (const who of IDENTITIES) {
      await netDenied(s, hostFor(who), 80, "default", "tcp");
      await netDenied(s, hostFor(who, 6), 9, "default", "udp");
    }
    for (const who of IDENTITIES) expect((await kdig(ctx.lab, who, `after-${who}.example.net`)).status).toBe("NXDOMAIN");
    // the proxy forwards an allowed name again; once the capture shows it, it has shown
    // everything before it: none of the queries sent while serve was down
    expect((await kdig(ctx.lab, "nobody", "back.ok.example.com")).status).toBe("NXDOMAIN");
    await cap.until("back");
    await cap.stop();
    expect(cap.text()).not.toContain("down-");
  });
});
