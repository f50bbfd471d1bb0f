// --inbound-from: any (default), none, or CIDRs; never a mix, never a silently dropped entry.
import { expect, test } from "bun:test";
import { inboundView, parseInboundFrom } from "../../../src/core/ruleset/inbound.ts";

test.each([
  [undefined, "any"],
  ["", "any"],
  [" any ", "any"],
  ["NONE", "none"],
  ["198.51.100.7, 2001:db8::/32", ["198.51.100.7/32", "2001:db8::/32"]],
])("%p is %p", (spec, view) => {
  const i = parseInboundFrom(spec);
  expect("error" in i ? i.error : inboundView(i)).toEqual(view as any);
});

test.each(["any,198.51.100.0/24", "none, any", "example.com", "198.51.100.0/33"])("%p is an error", (spec) => {
  expect(parseInboundFrom(spec)).toHaveProperty("error");
});
