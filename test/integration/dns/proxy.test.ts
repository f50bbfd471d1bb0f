// The proxy in the lab sandbox against a real Knot upstream, queried by kdig and dig.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startKnot } from "../../support/knot.ts";
import { LAB, Lab } from "../../support/lab.ts";
import { answers, type Harness, kdig, startHarness, startStub } from "./support.ts";

const POLICY = JSON.stringify({
  defaultAction: "deny",
  egress: [
    { action: "allow", target: "api.example.com" },
    { action: "allow", target: "www.example.com" },
    { action: "deny", target: "evil.example.com" },
    { action: "allow", target: "many.example.com" },
    { action: "allow", target: "v6only.example.com" },
    { action: "allow", target: "rebind.example.com" },
    { action: "allow", target: "short.example.com" },
    { action: "deny", target: "203.0.113.96/28" },
  ],
});

let lab: Lab;
let h: Harness;
const P = "15353";

beforeAll(async () => {
  lab = await Lab.create();
  await startKnot(lab);
  h = await startHarness(lab, { policy: POLICY, upstreams: `${LAB.dnsV4}, [${LAB.dnsV6}]:53` });
});
afterAll(async () => {
  await lab?.destroy();
});

const learned = (name: string) => h.events.filter((e) => e.type === "learn" && e.name === name);

describe("denied names", () => {
  test("NXDOMAIN with EDE Blocked naming the rule, with EDNS", async () => {
    const out = await kdig(lab, ["@127.0.0.1", "-p", P, "+edns", "evil.example.com", "A"]);
    expect(out).toContain("status: NXDOMAIN");
    expect(out).toContain(";; EDE: 15 (Blocked): 'blocked by egressctl rule egress[2] deny evil.example.com'");
    await h.waitEvent("denied event", (e) => e.type === "dns.denied" && e.name === "evil.example.com");
  });

  test("default deny over TCP and IPv6 listener", async () => {
    const out = await kdig(lab, ["@::1", "-p", P, "+tcp", "+edns", "other.example.com", "TXT"]);
    expect(out).toContain("status: NXDOMAIN");
    expect(out).toContain("'blocked by egressctl default deny'");
  });

  test("without EDNS: plain NXDOMAIN, no OPT", async () => {
    const out = await kdig(lab, ["@127.0.0.1", "-p", P, "+noedns", "evil.example.com", "AAAA"]);
    expect(out).toContain("status: NXDOMAIN");
    expect(out).not.toContain("EDE");
    expect(out).not.toContain("EDNS PSEUDOSECTION");
  });

  test("dig agrees", async () => {
    const r = await lab.exec("sandbox", ["dig", "+time=5", "+tries=1", "@127.0.0.1", "-p", P, "evil.example.com"]);
    expect(r.stdout).toContain("status: NXDOMAIN");
    expect(r.stdout).toMatch(/EDE: 15 \(Blocked\)/);
  });
});

describe("allowed names", () => {
  test.each([
    ["api.example.com", "A"],
    ["api.example.com", "AAAA"],
    ["www.example.com", "A"],
    ["v6only.example.com", "AAAA"],
    ["v6only.example.com", "A"],
  ])("%s %s: the same answer as Knot, over UDP and TCP", async (name, type) => {
    const direct = await answers(lab, LAB.dnsV4, 53, name, type);
    expect(await answers(lab, "127.0.0.1", 15353, name, type)).toEqual(direct);
    expect(await answers(lab, "::1", 15353, name, type, ["+tcp"])).toEqual(direct);
  });

  test("a CNAME chain across zones is learned fully under the query name", async () => {
    // Knot is authoritative only and does not assemble cross-zone chains; a stub answers
    // www.example.com the way a recursive resolver would.
    const chain = [
      { type: "CNAME", name: "www.example.com", data: "web.example.net", ttl: 300 },
      { type: "CNAME", name: "web.example.net", data: "cdn.example.org", ttl: 300 },
      { type: "A", name: "cdn.example.org", data: "198.51.100.20", ttl: 120 },
      { type: "A", name: "unrelated.example.org", data: "198.51.100.21", ttl: 120 },
    ];
    await startStub(lab, { listen: "198.51.100.55", forward: LAB.dnsV4, static: { "www.example.com": chain } });
    const h2 = await startHarness(lab, { policy: POLICY, upstreams: "198.51.100.55", listen: [{ host: "127.0.0.1", port: 15354 }] });
    const got = await answers(lab, "127.0.0.1", 15354, "www.example.com", "A");
    expect(got).toEqual(["198.51.100.20", "198.51.100.21", "cdn.example.org.", "web.example.net."]);
    const ev = await h2.waitEvent("www learned", (e) => e.type === "learn");
    expect(ev).toMatchObject({ name: "www.example.com", addresses: ["198.51.100.20"], ttl: 120 });
    await h2.stop();
  });

  test("v6only is learned as IPv6", async () => {
    await h.waitEvent("v6only learned", (e) => e.type === "learn" && e.name === "v6only.example.com");
    expect(learned("v6only.example.com").flatMap((e) => e.addresses as string[])).toContain("2001:db8:100::30");
  });

  test("300 records: UDP answer truncated, retried over TCP, all 300 learned", async () => {
    const before = learned("many.example.com").length;
    const out = await kdig(lab, ["@127.0.0.1", "-p", P, "+notcp", "+ignore", "+noedns", "many.example.com", "A"]);
    expect(out).toMatch(/Flags: qr .*tc/);
    await h.waitEvent("many learned", () => learned("many.example.com").length > before);
    const batch = learned("many.example.com")[before]!;
    expect(new Set(batch.addresses as string[]).size).toBe(300);
    // the client's own TCP retry gets all 300
    expect((await answers(lab, "127.0.0.1", 15353, "many.example.com", "A")).length).toBe(300);
  });

  test("short TTLs are learned with at least LEARN_TTL_MIN", async () => {
    await answers(lab, "127.0.0.1", 15353, "short.example.com", "A");
    await h.waitEvent("short learned", (e) => e.type === "learn" && e.name === "short.example.com");
    expect(learned("short.example.com")[0]!.ttl).toBe(60);
  });

  test("rebinding guard: an address in a deny CIDR is answered but not learned", async () => {
    expect(await answers(lab, "127.0.0.1", 15353, "rebind.example.com", "A")).toEqual(["203.0.113.99"]);
    expect(learned("rebind.example.com")).toEqual([]);
    expect((await h.stats()).learnSkipped).toBeGreaterThan(0);
  });

});
