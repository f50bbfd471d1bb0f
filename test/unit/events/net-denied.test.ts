import { describe, expect, test } from "bun:test";
import { DeniedFlowTracker, readDeniedFlows } from "../../../src/core/events/net-denied.ts";
import { Ring } from "../../../src/core/events/ring.ts";
import { createRateLimiter } from "../../../src/core/events/rate-limit.ts";

// the shape nft 1.0.6 prints for a concatenated dynamic set (checked on this kernel)
const listing = (elems: [string, string, number, number][], code = 4) => ({
  nftables: [
    { metainfo: { version: "1.0.6" } },
    { set: { name: "denials4", elem: elems.map(([a, p, port, expires]) => ({ elem: { val: { concat: [a, p, port, code] }, expires } })) } },
  ],
});

describe("readDeniedFlows", () => {
  test("reads address, protocol, port and expiry; ignores what it cannot read", () => {
    const l = listing([["198.51.100.11", "tcp", 80, 59]]);
    (l.nftables[1] as any).set.elem.push({ elem: { val: "garbage" } }, null);
    expect(readDeniedFlows(l, 4)).toEqual([{ family: 4, destination: "198.51.100.11", protocol: "tcp", port: 80, reason: "default", expiresSec: 59 }]);
    expect(readDeniedFlows(null, 4)).toEqual([]);
    expect(readDeniedFlows({ nftables: [{ set: { name: "denials6" } }] }, 6)).toEqual([]);
  });

  test("the reason comes from the code the deny chain stored; an unknown code is null", () => {
    expect(readDeniedFlows(listing([["198.51.100.11", "udp", 53, 59]], 5), 4)[0]!.reason).toBe("dns");
    expect(readDeniedFlows(listing([["198.51.100.11", "udp", 53, 59]], 6), 4)[0]!.reason).toBe("inbound");
    expect(readDeniedFlows(listing([["198.51.100.11", "udp", 53, 59]], 99), 4)[0]!.reason).toBeNull();
  });
});

describe("DeniedFlowTracker", () => {
  test("a flow is reported once while the kernel keeps it, and again once re-added", () => {
    const t = new DeniedFlowTracker();
    const a = (exp: number) => readDeniedFlows(listing([["198.51.100.11", "tcp", 80, exp]]), 4);
    expect(t.newFlows(a(59)).length).toBe(1);
    expect(t.newFlows(a(58)).length).toBe(0);
    expect(t.newFlows(a(30)).length).toBe(0);
    // expired and re-added between two looks: more time left than before
    expect(t.newFlows(a(59)).length).toBe(1);
    // gone, then back
    expect(t.newFlows([]).length).toBe(0);
    expect(t.newFlows(a(60)).length).toBe(1);
    // another port on the same address is another flow
    const two = readDeniedFlows(listing([["198.51.100.11", "tcp", 80, 59], ["198.51.100.11", "udp", 9, 59]]), 4);
    expect(t.newFlows(two).map((f) => f.protocol)).toEqual(["udp"]);
  });
});

describe("Ring and rate limiter", () => {
  test("the ring keeps the newest items, newest first", () => {
    const r = new Ring<number>(3);
    for (let i = 1; i <= 5; i++) r.push(i);
    expect(r.newestFirst()).toEqual([5, 4, 3]);
    expect(r.newestFirst(2)).toEqual([5, 4]);
    expect(new Ring<number>(3).newestFirst()).toEqual([]);
  });

  test("the limiter admits a burst, then refills, and reports what it suppressed", () => {
    const l = createRateLimiter({ burst: 2, perSecond: 1 });
    expect(l.admit("k", 0)).toBe(0);
    expect(l.admit("k", 0)).toBe(0);
    expect(l.admit("k", 0)).toBeNull();
    expect(l.admit("k", 100)).toBeNull();
    expect(l.admit("other", 100)).toBe(0); // per key
    expect(l.admit("k", 1200)).toBe(2); // refilled; two were suppressed
  });
});
