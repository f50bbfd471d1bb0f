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
