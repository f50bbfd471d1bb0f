// Attack: reach a denied name through an allowed one. The application asks for an
// allowed name whose answer is a CNAME (or a DNAME, under an allowed wildcard) to a name
// the policy denies; before, the denied name's addresses were learned and reachable.
// Now every owner name of the chain is judged: an explicit deny on any link makes the
// whole answer NXDOMAIN with an EDE naming that link, nothing is learned, and dns.denied
// names the chain. A chain through names no rule lists (a CDN) still works.
import { expect, test } from "bun:test";
import { IDENTITIES } from "../../support/attacker.ts";
import { LAB, type Lab } from "../../support/lab.ts";
import { adversarialZones } from "../../support/zones.ts";
import { args, learned, serve, useLab, writePolicy } from "../serve/helpers-serve.ts";
import { connectAs, digAs, resolveAs } from "./support.ts";

let lab: Lab;
let policy: string;

useLab(
  (l) => {
    lab = l;
    policy = writePolicy(lab, JSON.stringify({
      defaultAction: "deny",
      egress: [
        { action: "allow", target: "cn.example.com" },
        { action: "deny", target: "denied.example.com" },
        { action: "allow", target: "viacdn.example.com" },
        { action: "allow", target: "*.dn.example.com" },
        { action: "deny", target: "*.evilzone.example.com" },
      ],
    }));
  },
  { zones: adversarialZones() },
);

for (const who of IDENTITIES) {
  test(`${who}: a CNAME from an allowed name to a denied one is NXDOMAIN, names the link, opens nothing`, async () => {
    const s = await serve(lab, args(policy, LAB.dnsV4));
    const d = await digAs(lab, who, "cn.example.com");
    expect(d.rcode).toBe("NXDOMAIN");
    expect(d.answers).toEqual([]);
    expect(d.ede).toContain("blocked by egressctl rule egress[1] deny denied.example.com: denied.example.com is in the CNAME/DNAME chain of cn.example.com");
    expect((await resolveAs(lab, who, "cn.example.com")).addresses).toBeUndefined();
    const ev = await s.waitEvent((e) => e.event === "dns.denied" && e.name === "cn.example.com");
    expect(ev).toMatchObject({ link: "denied.example.com", chain: ["cn.example.com", "denied.example.com"], rule: "rule egress[1] deny denied.example.com" });
    // nothing learned: the denied name's address stays closed, refused at once
    expect(await learned(lab)).not.toContain("198.51.100.70");
    expect((await connectAs(lab, who, "198.51.100.70")).result).toBe("refused");
  });

  test(`${who}: a DNAME under an allowed wildcard into a denied subtree is NXDOMAIN, opens nothing`, async () => {
    const s = await serve(lab, args(policy, LAB.dnsV4));
    const d = await digAs(lab, who, "x.dn.example.com");
    expect(d.rcode).toBe("NXDOMAIN");
    expect(d.ede).toContain("x.evilzone.example.com is in the CNAME/DNAME chain of x.dn.example.com");
    const ev = await s.waitEvent((e) => e.event === "dns.denied" && e.name === "x.dn.example.com");
    expect(ev).toMatchObject({ link: "x.evilzone.example.com", chain: ["x.dn.example.com", "dn.example.com", "evilzone.example.com", "x.evilzone.example.com"] });
    expect(await learned(lab)).not.toContain("198.51.100.71");
    expect(await learned(lab, "learned6")).not.toContain("2001:db8:100::71");
    expect((await connectAs(lab, who, "198.51.100.71")).result).toBe("refused");
    expect((await connectAs(lab, who, "2001:db8:100::71")).result).toBe("refused");
  });

  test(`${who}: a chain through a name no rule lists (a CDN) still resolves and connects`, async () => {
    await serve(lab, args(policy, LAB.dnsV4));
    const d = await digAs(lab, who, "viacdn.example.com");
    expect(d).toMatchObject({ rcode: "NOERROR", answers: ["CNAME edge.cdnhost.example.com.", "A 198.51.100.73"] });
    expect(await connectAs(lab, who, "198.51.100.73")).toMatchObject({ result: "ok", body: "ok 198.51.100.73 80" });
  });
}

test("--audit: the chain denial is reported (audit: true) and the answer passes, unlearned", async () => {
  const s = await serve(lab, args(policy, LAB.dnsV4, ["--audit"]));
  const d = await digAs(lab, "nobody", "cn.example.com");
  expect(d).toMatchObject({ rcode: "NOERROR", answers: ["CNAME denied.example.com.", "A 198.51.100.70"] });
  const ev = await s.waitEvent((e) => e.event === "dns.denied" && e.name === "cn.example.com");
  expect(ev).toMatchObject({ audit: true, link: "denied.example.com" });
  expect(await learned(lab)).not.toContain("198.51.100.70");
  const v = JSON.parse((await s.get("/violations")).body);
  expect(v[0]).toMatchObject({ event: "dns.denied", name: "cn.example.com", link: "denied.example.com", audit: true });
});
