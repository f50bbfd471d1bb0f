import { expect, test } from "bun:test";
import { MAX_UPSTREAMS, parseResolvConf, parseUpstream, parseUpstreamList } from "../../../src/core/dns/upstreams.ts";

const self = [{ host: "127.0.0.1", port: 15353 }, { host: "::1", port: 15353 }];

test.each([
  ["198.51.100.53", "198.51.100.53:53"],
  ["198.51.100.53:5353", "198.51.100.53:5353"],
  ["2001:db8::1", "[2001:db8::1]:53"],
  ["[2001:DB8:0::1]:5353", "[2001:db8::1]:5353"],
  ["[2001:db8::1]", "[2001:db8::1]:53"],
  ["127.0.0.1", "127.0.0.1:53"],
])("accepts %p as %p", (text, label) => {
  const u = parseUpstream(text, self);
  expect(typeof u === "string" ? u : u.label).toBe(label);
});

test.each(["dns.google", "8.8.8.8:0", "198.51.100.53:70000", "[198.51.100.53]:53", "fe80::1%eth0", "0.0.0.0", "127.0.0.1:15353", "[::1]:15353", "1.2.3", ""])(
  "rejects %p",
  (text) => expect(typeof parseUpstream(text, self)).toBe("string"),
);

test("lists dedupe and cap", () => {
  const list = Array.from({ length: 10 }, (_, i) => `198.51.100.${i + 1}`).join(", ");
  const r = parseUpstreamList(`${list}, 198.51.100.1`);
  expect(r.upstreams.length).toBe(MAX_UPSTREAMS);
  expect(r.problems.length).toBe(3);
});

test("resolv.conf nameserver lines", () => {
  const r = parseResolvConf("# comment\nsearch example.com\nnameserver 198.51.100.53 # primary\nnameserver 2001:db8::53\n;nameserver 192.0.2.9\noptions ndots:5\nnameserver fe80::1%eth0\n");
  expect(r.upstreams.map((u) => u.label)).toEqual(["198.51.100.53:53", "[2001:db8::53]:53"]);
  expect(r.problems.length).toBe(1);
});

test.each([
  ["::ffff:198.51.100.53", "198.51.100.53:53"],
  ["[::ffff:198.51.100.53]:5353", "198.51.100.53:5353"],
  ["[::FFFF:c633:6435]", "198.51.100.53:53"], // the same, in hex groups
])("an IPv4-mapped %p goes out over IPv4: family 4, %p", (text, label) => {
  const u = parseUpstream(text, self);
  expect(u).toMatchObject({ family: 4, address: label.split(":")[0], label });
});

test("not mapped: ::ffff alone in other positions, and IPv4-compatible addresses, stay IPv6", () => {
  expect(parseUpstream("[::ffff:1:c633:6435]", self)).toMatchObject({ family: 6 });
  expect(parseUpstream("64:ff9b::198.51.100.53", self)).toMatchObject({ family: 6 });
});

test("IPv4-mapped forms of our own listener and of the unspecified address are refused", () => {
  expect(parseUpstream("[::ffff:127.0.0.1]:15353", self)).toMatch(/own DNS listener/);
  expect(parseUpstream("[::ffff:127.0.0.1]:15353", [{ host: "::ffff:127.0.0.1", port: 15353 }])).toMatch(/own DNS listener/);
  expect(parseUpstream("127.0.0.1:15353", [{ host: "::ffff:127.0.0.1", port: 15353 }])).toMatch(/own DNS listener/);
  expect(parseUpstream("::ffff:0.0.0.0", self)).toMatch(/unspecified/);
  expect(parseUpstream("[::ffff:127.0.0.1]:53", self)).toMatchObject({ family: 4, label: "127.0.0.1:53" });
});

test("a mapped address and its IPv4 form are one upstream", () => {
  const r = parseUpstreamList("198.51.100.53, ::ffff:198.51.100.53");
  expect(r.upstreams.map((u) => u.label)).toEqual(["198.51.100.53:53"]);
  expect(r.problems).toEqual(['"::ffff:198.51.100.53" is listed twice; using it once']);
});
