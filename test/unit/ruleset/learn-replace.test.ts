import { expect, test } from "bun:test";
import { renderLearn } from "../../../src/core/ruleset/learn.ts";
import { expiresSeconds } from "../../../src/effects/nft/element-refresh.ts";

test("replace mode: absent-safe add, delete, then the new element, in one script", () => {
  const els = [
    { family: 4 as const, address: "198.51.100.10", timeoutSec: 90 },
    { family: 6 as const, address: "2001:db8::10", timeoutSec: 90 },
  ];
  expect(renderLearn(els, "api.example.com", { replace: true })).toBe(
    [
      "add element inet egressctl learned4 { 198.51.100.10 timeout 1s }",
      "delete element inet egressctl learned4 { 198.51.100.10 }",
      'add element inet egressctl learned4 { 198.51.100.10 timeout 90s comment "api.example.com" }',
      "add element inet egressctl learned6 { 2001:db8::10 timeout 1s }",
      "delete element inet egressctl learned6 { 2001:db8::10 }",
      'add element inet egressctl learned6 { 2001:db8::10 timeout 90s comment "api.example.com" }',
      "",
    ].join("\n"),
  );
});

test("expiresSeconds reads nft's duration text", () => {
  expect(expiresSeconds("elements = { 0.0.0.1 timeout 2m expires 1m59s980ms }")).toBeCloseTo(119.98, 2);
  expect(expiresSeconds("{ 0.0.0.1 timeout 2s expires 1s500ms }")).toBeCloseTo(1.5, 3);
  expect(expiresSeconds("{ 0.0.0.1 timeout 1d expires 23h59m59s }")).toBe(86399);
  expect(expiresSeconds("{ 0.0.0.1 }")).toBeNull();
});
