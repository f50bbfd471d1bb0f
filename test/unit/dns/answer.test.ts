import { describe, expect, test } from "bun:test";
import { chainedAnswer, learnTtl, readAnswer, setId } from "../../../src/core/dns/answer.ts";
import { formatAddress, formatV6, parseAddress } from "../../../src/core/net/ip.ts";
import { LEARN_TTL_MAX, LEARN_TTL_MIN } from "../../../src/core/ruleset/names.ts";
import { dnsPacket } from "./helpers.ts";

type Ans = dnsPacket.Answer;
const A = (name: string, data: string, ttl = 300): Ans => ({ type: "A", name, data, ttl });
const AAAA = (name: string, data: string, ttl = 300): Ans => ({ type: "AAAA", name, data, ttl });
const CNAME = (name: string, data: string, ttl = 300): Ans => ({ type: "CNAME", name, data, ttl });
const DNAME = (name: string, data: string, ttl = 300): Ans => ({ type: "DNAME", name, data, ttl } as unknown as Ans);

function response(name: string, answers: Ans[], opts: { id?: number; type?: string; tc?: boolean } = {}): Buffer {
  return dnsPacket.encode({
    type: "response",
    id: opts.id ?? 7,
    flags: opts.tc ? dnsPacket.TRUNCATED_RESPONSE : 0,
    questions: [{ type: (opts.type ?? "A") as "A", name }],
    answers,
  });
}
const expectFor = (name: string, qtype = 1) => ({ id: 7, name, qtype, qclass: 1 });

describe("readAnswer", () => {
  test.each<[string, Ans[], string[], number]>([
    ["plain", [A("api.example.com", "198.51.100.10")], ["198.51.100.10"], 300],
    ["unrelated owner ignored", [A("api.example.com", "198.51.100.10"), A("other.example.com", "198.51.100.11")], ["198.51.100.10"], 300],
    [
      "CNAME chain followed, out of order",
      [A("cdn.example.org", "198.51.100.20", 60), CNAME("api.example.com", "web.example.net"), CNAME("web.example.net", "cdn.example.org"), AAAA("cdn.example.org", "2001:db8:100::20", 120)],
      ["198.51.100.20", "2001:db8:100::20"],
      120,
    ],
    ["CNAME loop terminates", [CNAME("api.example.com", "b.example.com"), CNAME("b.example.com", "api.example.com"), A("b.example.com", "198.51.100.1")], ["198.51.100.1"], 300],
    ["case-insensitive owners", [A("API.EXAMPLE.COM", "198.51.100.10")], ["198.51.100.10"], 300],
    ["duplicates once", [A("api.example.com", "198.51.100.10"), A("api.example.com", "198.51.100.10")], ["198.51.100.10"], 300],
    ["no addresses", [], [], 0],
  ])("%s", (_n, answers, want, ttl) => {
    const r = readAnswer(response("api.example.com", answers), expectFor("api.example.com"));
    expect(r?.addresses.map((a) => a.address)).toEqual(want);
    expect(r?.ttl).toBe(ttl);
  });

  test.each<[string, string, Ans[], string[] | null, string[]]>([
    ["no chain: nothing allocated for it", "api.example.com", [A("api.example.com", "198.51.100.10")], null, ["198.51.100.10"]],
    [
      "a CNAME chain, in order, out of record order",
      "api.example.com",
      [A("cdn.example.org", "198.51.100.20"), CNAME("web.example.net", "cdn.example.org"), CNAME("api.example.com", "web.example.net")],
      ["api.example.com", "web.example.net", "cdn.example.org"],
      ["198.51.100.20"],
    ],
    [
      "a DNAME with its synthesized CNAME: owner and target join the chain, the path follows the CNAME",
      "x.d.example.com",
      [DNAME("d.example.com", "evil.example.net"), CNAME("x.d.example.com", "x.evil.example.net"), A("x.evil.example.net", "198.51.100.66"), A("d.example.com", "198.51.100.1")],
      ["x.d.example.com", "d.example.com", "evil.example.net", "x.evil.example.net"],
      ["198.51.100.66"],
    ],
    [
      "a DNAME without a synthesized CNAME is substituted",
      "a.b.d.example.com",
      [DNAME("d.example.com", "t.example.net"), A("a.b.t.example.net", "198.51.100.67")],
      ["a.b.d.example.com", "d.example.com", "t.example.net", "a.b.t.example.net"],
      ["198.51.100.67"],
    ],
    ["a DNAME does not apply to its own owner", "d.example.com", [DNAME("d.example.com", "t.example.net"), A("d.example.com", "198.51.100.1")], null, ["198.51.100.1"]],
    ["a DNAME elsewhere in the tree does not apply", "x.other.example.com", [DNAME("d.example.com", "t.example.net")], null, []],
    [
      "a CNAME loop ends the chain",
      "api.example.com",
      [CNAME("api.example.com", "b.example.com"), CNAME("b.example.com", "api.example.com")],
      ["api.example.com", "b.example.com"],
      [],
    ],
  ])("chain: %s", (_n, qname, answers, chain, addresses) => {
    const r = readAnswer(response(qname, answers), expectFor(qname));
    expect(r?.chain).toEqual(chain);
    expect(r?.addresses.map((a) => a.address)).toEqual(addresses);
  });

  test("chain: at most 16 hops are followed", () => {
    const links = Array.from({ length: 30 }, (_, i) => CNAME(`n${i}.example.com`, `n${i + 1}.example.com`));
    const r = readAnswer(response("n0.example.com", links), expectFor("n0.example.com"));
    expect(r?.chain?.length).toBe(17);
  });

  test("300 records are all read; TC is reported", () => {
    const many = Array.from({ length: 300 }, (_, i) => A("many.example.com", `198.51.${i >> 8}.${i & 255}`));
    const r = readAnswer(response("many.example.com", many, { tc: true }), expectFor("many.example.com"));
    expect(r?.addresses.length).toBe(300);
    expect(r?.truncated).toBe(true);
  });

  test.each<[string, Buffer]>([
    ["wrong id", response("api.example.com", [], { id: 8 })],
    ["wrong name", response("evil.example.com", [])],
    ["wrong type", response("api.example.com", [], { type: "AAAA" })],
    ["a query", dnsPacket.encode({ type: "query", id: 7, questions: [{ type: "A", name: "api.example.com" }] })],
    ["truncated", response("api.example.com", [A("api.example.com", "198.51.100.10")]).subarray(0, 40)],
    ["garbage", Buffer.from("not a dns message at all, really")],
  ])("rejects %s", (_n, buf) => {
    expect(readAnswer(buf, expectFor("api.example.com"))).toBeNull();
  });

  test("an answer pointer loop is rejected, not followed", () => {
    const buf = Buffer.from(response("api.example.com", [A("api.example.com", "198.51.100.10")]));
    // the answer's owner is a pointer to offset 12; make it point to itself
    const at = buf.indexOf(Buffer.from([0xc0, 12]), 12);
    buf[at + 1] = at;
    expect(readAnswer(buf, expectFor("api.example.com"))).toBeNull();
  });

  test("setId restores only the ID, in place", () => {
    const r = response("api.example.com", [A("api.example.com", "198.51.100.10")]);
    const rest = Buffer.from(r.subarray(2));
    const out = setId(r, 0xbeef);
    expect(out).toBe(r);
    expect(out.readUInt16BE(0)).toBe(0xbeef);
    expect(out.subarray(2)).toEqual(rest);
  });

  test("a record pointing back at the question is read as the question's name", () => {
    // header, question API.Example.com A IN, then two A records: one owned by a pointer
    // to offset 12 (how real servers write it; dns-packet never compresses), one not
    const question = response("API.Example.com", []).subarray(12);
    const rdata = (ip: number[]) => Buffer.from([0, 1, 0, 1, 0, 0, 1, 44, 0, 4, ...ip]);
    const other = Buffer.from([5, ...Buffer.from("other"), 7, ...Buffer.from("example"), 3, ...Buffer.from("com"), 0]);
    const header = Buffer.from([0, 7, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0]);
    const r = Buffer.concat([header, question, Buffer.from([0xc0, 0x0c]), rdata([198, 51, 100, 10]), other, rdata([198, 51, 100, 11])]);
    expect(readAnswer(r, expectFor("api.example.com"))).toMatchObject({ addresses: [{ family: 4, address: "198.51.100.10" }], ttl: 300 });
  });
});

test.each([
  [0, LEARN_TTL_MIN],
  [1, LEARN_TTL_MIN],
  [300, 300],
  [10 ** 9, LEARN_TTL_MAX],
])("learnTtl(%p) = %p", (ttl, want) => expect(learnTtl(ttl)).toBe(want));

test("formatV6 writes RFC 5952 text: the longest zero run compressed, the first on ties, IPv4-mapped dotted", () => {
  const cases: [number[], string][] = [
    [new Array(16).fill(0), "::"],
    [[...new Array(15).fill(0), 1], "::1"],
    [[0x20, 0x01, 0x0d, 0xb8, ...new Array(12).fill(0)], "2001:db8::"],
    [[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0], "2001:db8:0:1::1:0"], // the longer run of two
    [[0x20, 0x01, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1], "2001:0:0:1::1"], // the longer run of three
    [[0x20, 0x01, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1], "2001::1:0:0:1:1"], // equal runs: the first
    [[0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 0], "2001:db8:1:2:3:4:5:0"], // one zero group: not compressed
    [[...new Array(10).fill(0), 0xff, 0xff, 192, 0, 2, 1], "::ffff:192.0.2.1"],
    [[...new Array(12).fill(0), 192, 0, 2, 1], "::c000:201"],
    [new Array(16).fill(0xff), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
  ];
  for (const [c, text] of cases) expect(formatV6(Uint8Array.from([9, 9, ...c]), 2)).toBe(text);
  // random addresses: the text parses back to the same 16 bytes, and formatAddress(6) agrees
  for (let n = 0; n < 2000; n++) {
    const c = Array.from({ length: 16 }, () => (Math.random() < 0.5 ? 0 : Math.floor(Math.random() * 256)));
    const big = c.reduce((v, b) => (v << 8n) | BigInt(b), 0n);
    const text = formatV6(Uint8Array.from(c), 0);
    expect(parseAddress(text)).toEqual({ family: 6, value: big });
    expect(text).not.toMatch(/(^|:)0[0-9a-f]/); // no leading zeros in a group
    // at most one run compressed
    expect(text.split("::").length).toBeLessThanOrEqual(2);
    expect(formatAddress(6, big)).toBe(text);
  }
});

// Resolvers write the owner of each answer record as a pointer to the question (C0 0C);
// dns-packet writes names in full. readAnswer reads the compressed form without making
// strings (directAnswer) and everything else with the general reader: both must agree.
describe("readAnswer on compressed answers (the form resolvers send)", () => {
  const wireName = (name: string) => Buffer.concat([...name.split(".").filter(Boolean).map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, "latin1")])), Buffer.from([0])]);
  interface Rec { type: number; klass?: number; ttl?: number; data: Buffer; owner?: string }
  function compressed(qname: string, recs: Rec[], opts: { id?: number; qtype?: number; tc?: boolean } = {}): Buffer {
    const head = Buffer.alloc(12);
    head.writeUInt16BE(opts.id ?? 7, 0);
    head.writeUInt16BE(0x8000 | (opts.tc ? 0x0200 : 0), 2);
    head.writeUInt16BE(1, 4);
    head.writeUInt16BE(recs.length, 6);
    const q = Buffer.concat([wireName(qname), Buffer.from([0, opts.qtype ?? 1, 0, 1])]);
    const body = recs.map((r) => {
      const fixed = Buffer.alloc(10);
      fixed.writeUInt16BE(r.type, 0);
      fixed.writeUInt16BE(r.klass ?? 1, 2);
      fixed.writeUInt32BE(r.ttl ?? 300, 4);
      fixed.writeUInt16BE(r.data.length, 8);
      return Buffer.concat([r.owner === undefined ? Buffer.from([0xc0, 12]) : wireName(r.owner), fixed, r.data]);
    });
    return Buffer.concat([head, q, ...body]);
  }
  const a4 = (s: string) => Buffer.from(s.split(".").map(Number));
  const a6 = (i: number) => Buffer.from([0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), i]);

  test("a plain compressed answer: addresses in order, duplicates once, the longest TTL, TC and rcode", () => {
    const buf = compressed("API.Example.com", [
      { type: 1, data: a4("198.51.100.10"), ttl: 60 },
      { type: 28, data: a6(1), ttl: 120 },
      { type: 1, data: a4("198.51.100.10"), ttl: 900 }, // a duplicate: its TTL does not count
      { type: 16, data: Buffer.from([3, 0x61, 0x62, 0x63]) }, // TXT: skipped
      { type: 1, klass: 3, data: a4("198.51.100.99") }, // class CH: skipped
      { type: 1, data: a4("198.51.100.11"), ttl: 0x80000001 }, // top bit: TTL 0
    ], { tc: true });
    const r = readAnswer(buf, expectFor("api.example.com"));
    expect(r).toEqual({
      truncated: true,
      rcode: 0,
      addresses: [{ family: 4, address: "198.51.100.10" }, { family: 6, address: "2001:db8::1" }, { family: 4, address: "198.51.100.11" }],
      ttl: 120,
      chain: null,
    });
  });

  test.each<[string, Buffer, ReturnType<typeof expectFor>]>([
    ["another ID", compressed("api.example.com", [{ type: 1, data: a4("198.51.100.10") }], { id: 8 }), expectFor("api.example.com")],
    ["another name", compressed("api.example.org", [{ type: 1, data: a4("198.51.100.10") }]), expectFor("api.example.com")],
    ["a longer name", compressed("api.example.com.evil", [{ type: 1, data: a4("198.51.100.10") }]), expectFor("api.example.com")],
    ["another type", compressed("api.example.com", [{ type: 1, data: a4("198.51.100.10") }], { qtype: 28 }), expectFor("api.example.com")],
    ["a record cut short", compressed("api.example.com", [{ type: 1, data: a4("198.51.100.10") }]).subarray(0, -1), expectFor("api.example.com")],
  ])("not an answer to the query: %s", (_n, buf, e) => {
    expect(readAnswer(buf, e)).toBeNull();
  });

  test("the same as the general reader on many shapes: CNAMEs, full owners, odd names, huge answers", () => {
    let answered = 0;
    // [the name on the wire, its comparable text]: an odd byte (0xE9) is escaped
    const names: [string, string][] = [["api.example.com", "api.example.com"], ["CDN.example.org", "cdn.example.org"], ["odd\u00e9.example.com", "odd\\233.example.com"], ["", ""]];
    let rnd = 12345;
    const pick = (n: number) => ((rnd = (rnd * 1103515245 + 12345) & 0x7fffffff) % n);
    for (let k = 0; k < 3000; k++) {
      const [wire, text] = names[pick(names.length)]!;
      const recs: Rec[] = Array.from({ length: pick(k % 10 === 0 ? 40 : 6) }, () => {
        const kind = pick(10);
        const owner = pick(4) === 0 ? names[pick(2)]![0] : undefined;
        if (kind < 5) return { type: 1, data: a4(`198.51.100.${pick(20)}`), ttl: pick(1000), owner };
        if (kind < 8) return { type: 28, data: a6(pick(20)), ttl: pick(1000), owner };
        if (kind < 9) return { type: 5, data: wireName("cdn.example.org"), owner };
        return { type: 16, data: Buffer.from([1, 0x61]), owner };
      });
      const buf = compressed(wire, recs);
      const e = expectFor(text);
      const got = readAnswer(buf, e);
      if (got) answered++;
      expect(got).toEqual(chainedAnswer(buf, e));
    }
    expect(answered).toBe(3000); // every one is an answer to its query: the comparison is not of nulls
  });
});
