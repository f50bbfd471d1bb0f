import { describe, expect, test } from "bun:test";
import { kernelStateFrom, readKernelState } from "../../../src/core/status/kernel-state.ts";
import { measureLevel } from "../../../src/core/status/level.ts";

const D1 = "a".repeat(64);
const D2 = "b".repeat(64);
const listing = {
  nftables: [
    { metainfo: { version: "1.0.6" } },
    { set: { name: "learned4", elem: [{ elem: { val: "198.51.100.10", timeout: 300, expires: 250, comment: "api.example.com" } }, { elem: { val: "198.51.100.11", expires: 10 } }] } },
    { set: { name: "learned6", elem: ["2001:db8::1"] } },
    { chain: { name: "output", type: "filter", hook: "output" } },
    { counter: { name: "denied_default", packets: 3, bytes: 180 } },
    { chain: { name: "dns_redirect", type: "nat", hook: "output" } },
    { chain: { name: "dns_guard", type: "filter", hook: "output" } },
    { set: { name: "upstreams4", elem: [{ elem: { val: { concat: ["198.51.100.53", 53] }, comment: "1 configured" } }] } },
    { set: { name: "denials4", elem: [{ elem: { val: { concat: ["198.51.100.9", "tcp", 80, 4] }, expires: 50 } }] } },
  ],
};
const text = (d: string) => `table inet egressctl {\n\tchain output {\n\t\tcomment "egressctl policy sha256:${d}"\n`;

describe("readKernelState", () => {
  test("hooks, learned elements with names and expiry, the digest from the text listing", () => {
    const k = readKernelState(listing, text(D1) + text(D1));
    expect(k).toMatchObject({ present: true, digest: D1, filterHooked: true, natHooked: true, guardHooked: true, learned: { 4: 2, 6: 1 } });
    expect(k.counters).toEqual({ denied_default: { packets: 3, bytes: 180 } });
    // the recorded upstreams, from their own sets only (not from denials4's concatenations)
    expect(k.recordedUpstreams).toEqual({ origin: "configured", upstreams: [{ family: 4, address: "198.51.100.53", port: 53 }] });
    expect(k.learnedEntries).toEqual([
      { family: 4, address: "198.51.100.10", name: "api.example.com", expiresSec: 250 },
      { family: 4, address: "198.51.100.11", name: null, expiresSec: 10 },
      { family: 6, address: "2001:db8::1", name: null, expiresSec: 0 },
    ]);
  });

  test("chains carrying different digests: mixed, which matches no policy", () => {
    expect(readKernelState(listing, text(D1) + text(D2)).digest).toBe(`mixed:${D1},${D2}`);
  });

  test("the always lists' digest after the policy's; none without it", () => {
    const A = "c".repeat(24);
    const withAlways = `table inet egressctl {\n\tchain output {\n\t\tcomment "egressctl policy sha256:${D1} always ${A}"\n`;
    expect(readKernelState(listing, withAlways)).toMatchObject({ digest: D1, alwaysDigest: A });
    expect(readKernelState(listing, text(D1)).alwaysDigest).toBeNull();
  });

  test("absent or unreadable: not present", () => {
    expect(readKernelState(null).present).toBe(false);
    expect(readKernelState({ nftables: "x" }).present).toBe(false);
  });
});

describe("kernelStateFrom (serve's cheaper reads)", () => {
  const chains = (d: string) => `table inet egressctl {\n\tchain dns_guard {\n\t\ttype filter hook output priority -5; policy accept;\n\t\tcomment "egressctl policy sha256:${d}"\n\t}\n\tchain dns_redirect {\n\t\ttype nat hook output priority -100; policy accept;\n\t\tcomment "egressctl policy sha256:${d}"\n\t}\n}\n`;
  test("the guard's hook from the chains' text, the recorded upstreams as read", () => {
    const ups = { origin: "configured" as const, upstreams: [{ family: 4 as const, address: "198.51.100.53", port: 53 }] };
    const k = kernelStateFrom({ chains: chains(D1), counters: [], learned: [], upstreams: ups });
    expect(k).toMatchObject({ present: true, digest: D1, guardHooked: true, natHooked: true, filterHooked: false, recordedUpstreams: ups });
    expect(kernelStateFrom({ chains: chains(D1).replace("type filter hook output priority -5; ", ""), counters: [], learned: [] })).toMatchObject({ guardHooked: false, recordedUpstreams: null });
  });
});

describe("measureLevel", () => {
  const k = readKernelState(listing, text(D1));
  const ok = { redirectReachedProxy: true, kernel: k, expectedDigest: D1, learnedPresent: true };
  test("everything holds: the intended level", () => {
    expect(measureLevel("dns+nftables", ok)).toEqual({ level: "dns+nftables", findings: [] });
    expect(measureLevel("dns-only", { ...ok, kernel: null, expectedDigest: null })).toEqual({ level: "dns-only", findings: [] });
  });
  test("no redirect: disabled, whatever else holds", () => {
    expect(measureLevel("dns+nftables", { ...ok, redirectReachedProxy: false }).level).toBe("disabled");
  });
  test("filter unhooked, another digest, a learned address missing: dns-only, each said", () => {
    const m = measureLevel("dns+nftables", { ...ok, kernel: { ...k, filterHooked: false, digest: D2 }, learnedPresent: false });
    expect(m.level).toBe("dns-only");
    expect(m.findings.length).toBe(3);
  });
  test("the kernel holds other always lists (or none where serve has some): dns-only, said", () => {
    const m = measureLevel("dns+nftables", { ...ok, expectedAlways: "c".repeat(24) });
    expect(m.level).toBe("dns-only");
    expect(m.findings[0]).toMatch(/always addresses none, serve loaded c{24}/);
    expect(measureLevel("dns+nftables", { ...ok, expectedAlways: null }).findings).toEqual([]);
  });

  test("the DNS guard unhooked: a finding; below the intended level in dns+nftables", () => {
    const m = measureLevel("dns+nftables", { ...ok, kernel: { ...k, guardHooked: false } });
    expect(m).toEqual({ level: "dns-only", findings: [expect.stringMatching(/DNS guard chain is not hooked/)] });
    const d = measureLevel("dns-only", { ...ok, kernel: { ...k, guardHooked: false }, expectedDigest: null });
    expect(d.level).toBe("dns-only");
    expect(d.findings).toEqual([expect.stringMatching(/DNS guard chain is not hooked/)]);
  });
  test("disabled stays disabled", () => {
    expect(measureLevel("disabled", ok).level).toBe("disabled");
  });
});
