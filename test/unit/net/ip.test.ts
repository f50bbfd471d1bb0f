import { describe, expect, test } from "bun:test";
import { isIP } from "node:net";
import { cidrRange, formatAddress, formatCidr, parseAddress, parseCidr, parseIPv6 } from "../../../src/core/net/ip.ts";
import { int, pick, prng } from "../match/random.ts";

describe("parseAddress", () => {
  test.each([
    ["192.0.2.1", "192.0.2.1"],
    ["0.0.0.0", "0.0.0.0"],
    ["255.255.255.255", "255.255.255.255"],
    ["2001:DB8::1", "2001:db8::1"],
    ["::", "::"],
    ["::1", "::1"],
    ["1::", "1::"],
    ["::ffff:192.0.2.1", "::ffff:192.0.2.1"],
    ["::ffff:c000:201", "::ffff:192.0.2.1"],
    ["::fffe:c000:201", "::fffe:c000:201"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
    ["1:0:3:4:5:6:7:8", "1:0:3:4:5:6:7:8"],
  ])("%s -> %s", (input, canonical) => {
    const a = parseAddress(input)!;
    expect(a).not.toBeNull();
    expect(formatAddress(a.family, a.value)).toBe(canonical);
  });

  test.each([
    "256.0.0.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.-4", "", "::1::", "1:::2", "1:2:3:4:5:6:7:8:9",
    "12345::", "g::1", "1.2.3.4::", "1.2.3.4::1", "::1.2.3.4:1", "fe80::1%eth0", " 1.2.3.4", "1:2:3:4:5:6:7::8",
  ])("rejects %p", (input) => {
    expect(parseAddress(input)).toBeNull();
  });
});

describe("parseCidr", () => {
  test("masks host bits and says so", () => {
    const c = parseCidr("10.1.2.3/8")!;
    expect(formatCidr(c)).toBe("10.0.0.0/8");
    expect(c.hostBitsSet).toBe(true);
    expect(parseCidr("10.0.0.0/8")!.hostBitsSet).toBe(false);
  });
  test("bare addresses are host prefixes", () => {
    expect(parseCidr("192.0.2.1")!.prefix).toBe(32);
    expect(parseCidr("2001:db8::1")!.prefix).toBe(128);
  });
  test.each(["10.0.0.0/33", "2001:db8::/129", "10.0.0.0/", "10.0.0.0/08", "10.0.0.0/-1", "10.0.0.0/8/8", "x/8"])("rejects %p", (s) => {
    expect(parseCidr(s)).toBeNull();
  });
  test("ranges of /0 cover the whole family", () => {
    expect(cidrRange(parseCidr("0.0.0.0/0")!)).toEqual({ start: 0n, end: 0xffffffffn });
    expect(cidrRange(parseCidr("::/0")!).end).toBe((1n << 128n) - 1n);
    expect(cidrRange(parseCidr("192.0.2.0/24")!)).toEqual({ start: 0xc0000200n, end: 0xc00002ffn });
  });
});

// Properties, seeded (IP_SEED=n reproduces a failure): round trips through parse and
// format, checked against node:net's isIP and Bun's WHATWG URL parser, whose IPv6
// serialisation is the RFC 5952 canonical form. Deliberate differences, asserted below:
// ip.ts keeps IPv4-mapped addresses dotted (::ffff:192.0.2.1, RFC 5952 section 5) where
// URL prints hex; and ip.ts rejects zone ids (fe80::1%eth0), which isIP accepts.
const SEED = Number(process.env.IP_SEED ?? 20260) >>> 0;
const RUNS = 4000;
const MAPPED = 0xffffn << 32n;

/** IPv6 values biased toward the interesting shapes: zero runs, mapped, compatible. */
function randomV6(rnd: () => number): bigint {
  const shape = int(rnd, 0, 9);
  if (shape === 0) return MAPPED | BigInt(int(rnd, 0, 0xffffffff));
  if (shape === 1) return BigInt(int(rnd, 0, 0xffffffff)); // ::a.b.c.d, ::1, ::
  let v = 0n;
  for (let g = 0; g < 8; g++) {
    const r = rnd();
    v = (v << 16n) | BigInt(r < 0.5 ? 0 : r < 0.75 ? int(rnd, 1, 0xff) : int(rnd, 0, 0xffff));
  }
  return v;
}

const groupsOf = (v: bigint) => Array.from({ length: 8 }, (_, i) => Number((v >> BigInt((7 - i) * 16)) & 0xffffn));

/** Other legal spellings of the same value: full, padded, upper case, any zero run compressed, dotted tail. */
function spellings(rnd: () => number, v: bigint): string[] {
  const g = groupsOf(v);
  const out = [g.map((x) => x.toString(16)).join(":"), g.map((x) => x.toString(16).padStart(4, "0")).join(":").toUpperCase()];
  const zeros = g.map((x, i) => (x === 0 ? i : -1)).filter((i) => i >= 0);
  if (zeros.length) {
    const start = pick(rnd, zeros);
    let end = start;
    while (end + 1 < 8 && g[end + 1] === 0 && rnd() < 0.8) end++;
    out.push(`${g.slice(0, start).map((x) => x.toString(16)).join(":")}::${g.slice(end + 1).map((x) => x.toString(16)).join(":")}`);
  }
  const low = v & 0xffffffffn;
  out.push(`${g.slice(0, 6).map((x) => x.toString(16)).join(":")}:${formatAddress(4, low)}`);
  return out;
}

describe(`properties (IP_SEED=${SEED})`, () => {
  test("IPv4: format then parse is the identity; isIP and URL agree", () => {
    const rnd = prng(SEED);
    for (let i = 0; i < RUNS; i++) {
      const v = BigInt(int(rnd, 0, 0xffffffff));
      const s = formatAddress(4, v);
      expect(parseAddress(s)).toEqual({ family: 4, value: v });
      expect(isIP(s)).toBe(4);
      expect(new URL(`http://${s}/`).hostname).toBe(s);
    }
  });

  test("IPv6: format then parse is the identity, the form is canonical, isIP agrees", () => {
    const rnd = prng(SEED + 1);
    for (let i = 0; i < RUNS; i++) {
      const v = randomV6(rnd);
      const s = formatAddress(6, v);
      expect(parseAddress(s)).toEqual({ family: 6, value: v });
      expect(isIP(s)).toBe(6);
      expect(s).toBe(s.toLowerCase());
      const viaUrl = new URL(`http://[${s}]/`).hostname.slice(1, -1);
      if (v >> 32n === 0xffffn) {
        expect(s).toBe(`::ffff:${formatAddress(4, v & 0xffffffffn)}`);
        expect(parseIPv6(viaUrl)).toBe(v);
      } else {
        expect(s).toBe(viaUrl);
      }
    }
  });

  test("IPv6: every legal spelling of a value parses to it and formats canonically", () => {
    const rnd = prng(SEED + 2);
    for (let i = 0; i < RUNS; i++) {
      const v = randomV6(rnd);
      for (const s of spellings(rnd, v)) {
        expect([s, isIP(s)]).toEqual([s, 6]);
        expect([s, parseIPv6(s)]).toEqual([s, v]);
        expect(formatAddress(6, parseIPv6(s)!)).toBe(formatAddress(6, v));
      }
    }
  });

  test("mutated and random strings: parseAddress accepts exactly what isIP accepts (zone ids aside)", () => {
    const rnd = prng(SEED + 3);
    const alphabet = "0123456789abcdefABCDEFg:.%/ ";
    for (let i = 0; i < RUNS * 4; i++) {
      let s = rnd() < 0.5 ? formatAddress(6, randomV6(rnd)) : rnd() < 0.5 ? formatAddress(4, BigInt(int(rnd, 0, 0xffffffff))) : pick(rnd, spellings(rnd, randomV6(rnd)));
      for (let m = int(rnd, 0, 3); m > 0; m--) {
        const at = int(rnd, 0, s.length);
        const op = int(rnd, 0, 2);
        s = op === 0 ? s.slice(0, at) + s.slice(at + 1) : op === 1 ? s.slice(0, at) + pick(rnd, [...alphabet]) + s.slice(at) : s.slice(0, at) + s.slice(at, at + 2) + s.slice(at);
      }
      const parsed = parseAddress(s);
      const want = s.includes("%") ? 0 : isIP(s);
      expect([s, parsed?.family ?? 0]).toEqual([s, want]);
    }
  });

  test("CIDR: formatCidr is a fixed point and the range holds the written address", () => {
    const rnd = prng(SEED + 4);
    for (let i = 0; i < RUNS; i++) {
      const six = rnd() < 0.5;
      const v = six ? randomV6(rnd) : BigInt(int(rnd, 0, 0xffffffff));
      const prefix = int(rnd, 0, six ? 128 : 32);
      const text = `${formatAddress(six ? 6 : 4, v)}/${prefix}`;
      const c = parseCidr(text)!;
      expect(formatCidr(parseCidr(formatCidr(c))!)).toBe(formatCidr(c));
      const r = cidrRange(c);
      expect(v >= r.start && v <= r.end).toBe(true);
      expect(c.hostBitsSet).toBe(c.network !== v);
    }
  });
});

test("IPv4-compatible addresses format in hex, unlike nft's listing", () => {
  // nft (glibc inet_ntop) prints ::102:304 as "::1.2.3.4" in `nft -j list`; RFC 5952 and
  // URL print hex. Anything comparing kernel listings with planned sets must compare
  // parsed values, not strings, or such addresses will look different.
  expect(formatAddress(6, parseIPv6("::1.2.3.4")!)).toBe("::102:304");
  expect(parseIPv6("::1.2.3.4")).toBe(parseIPv6("::102:304"));
});
