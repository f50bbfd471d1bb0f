// Attack: grow the kernel's learned sets (and serve's memory) without end by resolving
// ever-new allowed names under a wildcard, each with an address of its own, and keep them
// open for a day with long TTLs. Now each learned set holds at most
// --learn-max-elements addresses (here 16, the kernel's own `size` too): an answer that
// needs a new one is SERVFAIL with a learn.full event, while addresses already learned
// keep being refreshed; and no element lives longer than --learn-max-ttl, whatever the
// TTL, also when a restarted serve adopts what a killed one left.
import { expect, test } from "bun:test";
import { IDENTITIES } from "../../support/attacker.ts";
import { LAB, type Lab } from "../../support/lab.ts";
import { hostV4 } from "../../support/zones.ts";
import { args, learned, serve, status, useLab, writePolicy } from "../serve/helpers-serve.ts";
import { connectAs, digAs } from "./support.ts";

let lab: Lab;
let policy: string;
// 600: not the learned sets' default element timeout (300 s), which nft's listing leaves out
const BOUNDS = ["--learn-max-elements", "16", "--learn-max-ttl", "600"];

useLab((l) => {
  lab = l;
  policy = writePolicy(lab, JSON.stringify({ defaultAction: "deny", egress: [{ action: "allow", target: "*.fresh.example.com" }, { action: "allow", target: "long.example.com" }] }));
});

async function kernelSet(set: string): Promise<{ size?: number; elem?: unknown[] }> {
  const r = await lab.exec("sandbox", ["nft", "-j", "list", "set", "inet", "egressctl", set]);
  return JSON.parse(r.stdout).nftables.find((o: any) => o.set).set;
}

for (const who of IDENTITIES) {
  test(`${who}: ever-new names fill the set to its bound, then SERVFAIL with learn.full; learned ones keep working`, async () => {
    const s = await serve(lab, args(policy, LAB.dnsV4, BOUNDS));
    expect((await kernelSet("learned4")).size).toBe(16);
    const rcodes: string[] = [];
    for (let i = 0; i < 24; i++) rcodes.push((await digAs(lab, who, `n${i}.fresh.example.com`)).rcode);
    expect(rcodes).toEqual([...Array(16).fill("NOERROR"), ...Array(8).fill("SERVFAIL")]);
    const ev = await s.waitEvent((e) => e.event === "learn.full");
    expect(ev).toMatchObject({ name: "n16.fresh.example.com", reason: expect.stringContaining("learned set for IPv4 is full (16 elements)") });
    expect((await learned(lab)).length).toBe(16);
    // an address that did not fit stays closed; one that did is open and is refreshed
    expect((await connectAs(lab, who, hostV4(20))).result).toBe("refused");
    expect((await digAs(lab, who, "n3.fresh.example.com")).rcode).toBe("NOERROR");
    expect(await connectAs(lab, who, hostV4(3))).toMatchObject({ result: "ok" });
    const st = await status(s);
    expect(st.dns.learnFull).toBe(8);
    expect(st.learned).toMatchObject({ maxElements: 16, maxLifetimeSec: 600 });
    expect((await s.get("/metrics")).body).toMatch(/^egressctl_dns_learn_full_total 8$/m);
  });

  test(`${who}: a day-long TTL is learned for at most the lifetime bound`, async () => {
    await serve(lab, args(policy, LAB.dnsV4, BOUNDS));
    expect((await digAs(lab, who, "long.example.com")).answers).toEqual(["A 198.51.100.13"]);
    const el = ((await kernelSet("learned4")).elem ?? []).map((e: any) => e.elem).find((e: any) => e.val === "198.51.100.13");
    expect(el.timeout).toBeLessThanOrEqual(600);
    expect(el.timeout).toBeGreaterThan(500);
  });
}

test("a restart adopts what fits the bounds: over-long elements are removed, the adopted ones count toward the bound", async () => {
  const first = await serve(lab, args(policy, LAB.dnsV4, BOUNDS));
  for (let i = 0; i < 16; i++) expect((await digAs(lab, "nobody", `n${i}.fresh.example.com`)).rcode).toBe("NOERROR");
  await first.stop("SIGKILL");
  // same bounds: all adopted, and the set is full from the start
  const again = await serve(lab, args(policy, LAB.dnsV4, BOUNDS));
  expect(await again.waitEvent((e) => e.event === "learned.adopted")).toMatchObject({ adopted: 16, removed: 0 });
  expect((await digAs(lab, "nobody", "n40.fresh.example.com")).rcode).toBe("SERVFAIL");
  expect((await digAs(lab, "nobody", "n2.fresh.example.com")).rcode).toBe("NOERROR");
  await again.stop("SIGKILL");
  // a shorter lifetime bound: elements with more time left than it are removed
  const shorter = await serve(lab, args(policy, LAB.dnsV4, ["--learn-max-elements", "16", "--learn-max-ttl", "120"]));
  expect(await shorter.waitEvent((e) => e.event === "learned.adopted")).toMatchObject({ adopted: 0, removed: 16 });
  expect(await learned(lab)).toEqual([]);
  expect((await digAs(lab, "nobody", "n40.fresh.example.com")).rcode).toBe("NOERROR");
});
