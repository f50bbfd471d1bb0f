import { expect, test } from "bun:test";
import { MODES, parseMode, strength } from "../../../src/core/probe/modes.ts";

test.each([
  ["auto", "auto"],
  ["disabled", "disabled"],
  ["dns-only", "dns-only"],
  ["dns", "dns-only"], // OpenSandbox
  ["dns+nftables", "dns+nftables"],
  ["dns+nft", "dns+nftables"], // OpenSandbox
  [" DNS+NFT ", "dns+nftables"],
  ["", null],
  ["nft", null],
  ["dns-nft", null],
  ["full", null],
] as const)("parseMode(%p) = %p", (s, want) => {
  expect(parseMode(s)).toBe(want);
});

test("strength orders modes weakest first", () => {
  expect(MODES.map(strength)).toEqual([0, 1, 2]);
  expect(strength("dns+nftables")).toBeGreaterThan(strength("dns-only"));
});
