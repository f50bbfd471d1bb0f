// The table of non-public addresses, entry by entry, with the IPv4 forms carried inside
// IPv6 and the namespace's own addresses; the documentation ranges stay public.
import { describe, expect, test } from "bun:test";
import { parseAddress } from "../../../src/core/net/ip.ts";
import { nonPublic, type LocalAddresses } from "../../../src/core/net/special.ts";

const why = (s: string, local?: LocalAddresses) => nonPublic(parseAddress(s)!, local);

describe("IPv4", () => {
  test.each([
    ["0.0.0.0", /unspecified/],
    ["0.1.2.3", /this network/],
    ["10.0.0.1", /private/],
    ["10.255.255.255", /private/],
    ["100.64.0.1", /shared/],
    ["100.127.255.255", /shared/],
    ["127.0.0.1", /loopback/],
    ["127.8.9.10", /loopback/],
    ["169.254.169.254", /link-local.*metadata/],
    ["172.16.0.1", /private/],
    ["172.31.255.255", /private/],
    ["192.0.0.1", /IETF protocol/],
    ["192.0.0.170", /IETF protocol/],
    ["192.88.99.1", /6to4 relay/],
    ["192.168.1.1", /private/],
    ["198.18.0.1", /benchmarking/],
    ["198.19.255.255", /benchmarking/],
    ["224.0.0.1", /multicast/],
    ["239.255.255.250", /multicast/],
    ["240.0.0.1", /reserved/],
    ["255.255.255.255", /broadcast/],
  ])("%s is not public (%s)", (a, re) => {
    expect(why(a)).toMatch(re);
  });

  test.each([
    "1.1.1.1", "8.8.8.8", "9.255.255.255", "11.0.0.0", "100.63.255.255", "100.128.0.0", "126.255.255.255", "128.0.0.0",
    "169.253.255.255", "169.255.0.0", "172.15.255.255", "172.32.0.0", "192.0.0.9", "192.0.0.10", "192.0.1.0",
    "192.167.255.255", "192.169.0.0", "198.17.255.255", "198.20.0.0", "223.255.255.255",
    // documentation ranges: public here, so labs work
    "192.0.2.1", "198.51.100.10", "203.0.113.99",
  ])("%s is public", (a) => {
    expect(why(a)).toBeNull();
  });
});

describe("IPv6", () => {
  test.each([
    ["::", /unspecified/],
    ["::1", /loopback/],
    ["fe80::1", /link-local/],
    ["febf:ffff::1", /link-local/],
    ["fc00::1", /unique local/],
    ["fd00::1", /unique local/],
    ["fec0::1", /site-local/],
    ["ff02::1", /multicast/],
    ["100::1", /discard/],
    ["64:ff9b:1::1", /local-use/],
    ["2001:2::1", /IETF protocol/],
    ["2001:10::1", /IETF protocol/],
    ["3fff::1", /documentation \(RFC 9637\)/],
    ["5f00::1", /segment routing/],
    ["4000::1", /reserved/],
    ["1::1", /reserved/],
    ["e000::1", /reserved/],
  ])("%s is not public (%s)", (a, re) => {
    expect(why(a)).toMatch(re);
  });

  test.each(["2001:db8::1", "2001:db8:100::10", "2606:4700::1111", "2a00:1450::1", "2001:1::1", "2001:3::1", "2001:4:112::1", "2001:20::1", "2620:4f:8000::1"])("%s is public", (a) => {
    expect(why(a)).toBeNull();
  });

  test.each([
    ["::ffff:169.254.169.254", /IPv4-mapped form of 169\.254\.169\.254: link-local/],
    ["::ffff:10.0.0.1", /IPv4-mapped form of 10\.0\.0\.1: private/],
    ["::ffff:127.0.0.1", /IPv4-mapped form of 127\.0\.0\.1: loopback/],
    ["::10.0.0.1", /IPv4-compatible form of 10\.0\.0\.1: private/],
    ["::a9fe:a9fe", /IPv4-compatible form of 169\.254\.169\.254/],
    ["::2", /IPv4-compatible form of 0\.0\.0\.2: unspecified/],
    ["64:ff9b::a00:1", /NAT64 \(RFC 6052\) form of 10\.0\.0\.1: private/],
    ["64:ff9b::a9fe:a9fe", /NAT64.*169\.254\.169\.254/],
    ["2002:a00:1::1", /6to4 \(RFC 3056\) form of 10\.0\.0\.1: private/],
    ["2002:c0a8:101::", /6to4.*192\.168\.1\.1/],
    // Teredo: server 10.0.0.1 in bits 32-63; or client 192.168.1.1 bit-inverted in the low 32
    ["2001:0:a00:1::1", /Teredo \(RFC 4380\) form of 10\.0\.0\.1: private/],
    ["2001:0:c000:201::3f57:fefe", /Teredo \(RFC 4380\) form of 192\.168\.1\.1: private/],
  ])("%s carries a non-public IPv4 address", (a, re) => {
    expect(why(a)).toMatch(re);
  });

  test.each(["::ffff:198.51.100.10", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1", "2001:0:c000:201::f7f7:f7f7"])("%s carries a public IPv4 address: public", (a) => {
    expect(why(a)).toBeNull();
  });
});

describe("the namespace's own addresses and gateways", () => {
  const local: LocalAddresses = {
    4: new Map([[parseAddress("192.0.2.2")!.value, "address"], [parseAddress("192.0.2.1")!.value, "gateway via eth0"]]),
    6: new Map([[parseAddress("2001:db8:1::2")!.value, "address on eth0"]]),
  };
  test.each([
    ["192.0.2.2", /own address/],
    ["192.0.2.1", /own gateway via eth0/],
    ["2001:db8:1::2", /own address on eth0/],
    ["::ffff:192.0.2.1", /IPv4-mapped form of 192\.0\.2\.1: this namespace's own gateway/],
    ["64:ff9b::c000:201", /NAT64 .* own gateway/],
  ])("%s", (a, re) => {
    expect(why(a, local)).toMatch(re);
  });
  test("other documentation addresses stay public", () => {
    expect(why("192.0.2.3", local)).toBeNull();
    expect(why("2001:db8:1::3", local)).toBeNull();
  });
});
