import { describe, expect, test } from "bun:test";
import { cidrRange, formatAddress, formatCidr, parseAddress, parseCidr } from "../../../src/core/net/ip.ts";

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
