// Which upstreams serve takes: configured ones always; else the set an earlier serve
// recorded in the kernel (pinned, whatever resolv.conf says now); else resolv.conf. And
// never one of the namespace's own addresses.
import { describe, expect, test } from "bun:test";
import { chooseUpstreams, type UpstreamInput } from "../../../src/core/dns/upstream-choice.ts";
import { ownAddresses, parseUpstream } from "../../../src/core/dns/upstreams.ts";
import { readRecordedUpstreams, upstreamComment } from "../../../src/core/ruleset/upstream-record.ts";

const self = [{ host: "127.0.0.1", port: 15353 }];
const own = ownAddresses(["192.0.2.2", "2001:db8:1::2", "fe80::1%veth0"]);
const conf = (text: string) => ({ ok: true as const, text });
const recorded = { upstreams: [{ family: 4 as const, address: "198.51.100.53", port: 53 }], origin: "resolv.conf" as const };
const base: UpstreamInput = { resolvConf: conf("nameserver 198.51.100.53\n"), recorded: null, self, own };
const labels = (c: ReturnType<typeof chooseUpstreams>) => c.upstreams.map((u) => u.label);

describe("chooseUpstreams", () => {
  test("first start: resolv.conf, said so", () => {
    const c = chooseUpstreams(base);
    expect(labels(c)).toEqual(["198.51.100.53:53"]);
    expect(c).toMatchObject({ origin: "resolv.conf", pinned: false, notes: [] });
  });

  test("a later start: the recorded set, not a rewritten resolv.conf; the difference is a warning", () => {
    const c = chooseUpstreams({ ...base, resolvConf: conf("nameserver 203.0.113.66\n"), recorded });
    expect(labels(c)).toEqual(["198.51.100.53:53"]);
    expect(c).toMatchObject({ origin: "resolv.conf", pinned: true });
    expect(c.notes).toEqual([{ event: "upstream.pinned", level: "warn", fields: expect.objectContaining({ upstreams: ["198.51.100.53:53"], resolvConf: ["203.0.113.66:53"] }) }]);
  });

  test("a later start with resolv.conf unchanged (or unreadable): pinned, an info note", () => {
    expect(chooseUpstreams({ ...base, recorded }).notes[0]).toMatchObject({ event: "upstream.pinned", level: "info" });
    expect(labels(chooseUpstreams({ ...base, resolvConf: { ok: false, error: "ENOENT" }, recorded }))).toEqual(["198.51.100.53:53"]);
  });

  test("configured upstreams win over the record, and say what they replace", () => {
    const c = chooseUpstreams({ ...base, spec: "198.51.100.54", recorded });
    expect(labels(c)).toEqual(["198.51.100.54:53"]);
    expect(c).toMatchObject({ origin: "configured", pinned: false });
    expect(c.notes[0]).toMatchObject({ event: "upstream.replaced", fields: { recorded: ["198.51.100.53:53"] } });
    expect(chooseUpstreams({ ...base, spec: "198.51.100.53", recorded }).notes).toEqual([]);
  });

  test("the namespace's own addresses are refused, from any source", () => {
    const c = chooseUpstreams({ ...base, resolvConf: conf("nameserver 127.0.0.53\nnameserver 192.0.2.2\nnameserver 2001:db8:1::2\nnameserver 198.51.100.53\n") });
    expect(labels(c)).toEqual(["198.51.100.53:53"]);
    expect(c.problems).toHaveLength(3);
    expect(c.problems[0]).toMatch(/address of this network namespace/);
    expect(chooseUpstreams({ ...base, spec: "[::1]:53" }).upstreams).toEqual([]);
    expect(typeof parseUpstream("fe80::1", [], own)).toBe("string");
  });

  test("--allow-local-upstream: a configured local upstream is let through, said (upstream.local); resolv.conf's never", () => {
    const c = chooseUpstreams({ ...base, spec: "127.0.0.1:5353, 198.51.100.53", allowLocal: true });
    expect(labels(c)).toEqual(["127.0.0.1:5353", "198.51.100.53:53"]);
    expect(c.local).toEqual(["127.0.0.1:5353"]);
    expect(c.notes).toEqual([expect.objectContaining({ event: "upstream.local", level: "warn", fields: expect.objectContaining({ upstreams: ["127.0.0.1:5353"] }) })]);
    const f = chooseUpstreams({ ...base, resolvConf: conf("nameserver 127.0.0.53\nnameserver 198.51.100.53\n"), allowLocal: true });
    expect(labels(f)).toEqual(["198.51.100.53:53"]);
    expect(f.local).toEqual([]);
    // a recorded configured one is kept under the opt-in, a recorded resolv.conf one is not
    const rec = (origin: "configured" | "resolv.conf") => ({ upstreams: [{ family: 4 as const, address: "127.0.0.1", port: 5353 }], origin });
    expect(labels(chooseUpstreams({ ...base, recorded: rec("configured"), allowLocal: true }))).toEqual(["127.0.0.1:5353"]);
    expect(labels(chooseUpstreams({ ...base, recorded: rec("resolv.conf"), allowLocal: true }))).toEqual(["198.51.100.53:53"]);
    expect(chooseUpstreams({ ...base, spec: "127.0.0.1:5353" }).upstreams).toEqual([]);
  });

  test("a recorded upstream that became the namespace's own is refused; resolv.conf is then read", () => {
    const c = chooseUpstreams({ ...base, recorded: { upstreams: [{ family: 4, address: "192.0.2.2", port: 53 }], origin: "configured" } });
    expect(labels(c)).toEqual(["198.51.100.53:53"]);
    expect(c.pinned).toBe(false);
    expect(c.problems[0]).toMatch(/^recorded upstream/);
  });
});

describe("readRecordedUpstreams", () => {
  const set = (elems: unknown[]) => ({ nftables: [{ metainfo: {} }, { set: { name: "upstreams4", elem: elems } }] });
  const el = (a: string, port: number, comment?: string) => ({ elem: { val: { concat: [a, port] }, ...(comment ? { comment } : {}) } });

  test("in the recorded order across both families, with their origin", () => {
    const r = readRecordedUpstreams([
      set([el("198.51.100.54", 53, upstreamComment(3, "configured")), el("198.51.100.53", 5353, upstreamComment(1, "configured"))]),
      set([el("2001:db8:100::53", 53, upstreamComment(2, "configured"))]),
    ]);
    expect(r).toEqual({
      origin: "configured",
      upstreams: [
        { family: 4, address: "198.51.100.53", port: 5353 },
        { family: 6, address: "2001:db8:100::53", port: 53 },
        { family: 4, address: "198.51.100.54", port: 53 },
      ],
    });
  });

  test("nothing recorded (no table, empty sets): null; junk is skipped; no comment sorts last", () => {
    expect(readRecordedUpstreams([null, null])).toBeNull();
    expect(readRecordedUpstreams([set([])])).toBeNull();
    const r = readRecordedUpstreams([set(["junk", el("nonsense", 53), el("198.51.100.9", 53), el("198.51.100.8", 53, "1 resolv.conf")])]);
    expect(r!.upstreams.map((u) => u.address)).toEqual(["198.51.100.8", "198.51.100.9"]);
    expect(r!.origin).toBe("resolv.conf");
  });
});
