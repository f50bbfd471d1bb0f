// Each fixture policy's rendered ruleset equals its golden .nft file byte for byte.
// Regenerate after an intended change with: UPDATE_GOLDEN=1 bun test test/unit/ruleset
// (then read the diff: it is the change to the kernel state).
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { goldenCases } from "../../golden/cases.ts";

const cases = goldenCases();

describe("golden rulesets", () => {
  test("at least 8 fixtures", () => expect(cases.length).toBeGreaterThanOrEqual(8));
  for (const c of cases) {
    test(c.name, () => {
      if (process.env.UPDATE_GOLDEN === "1" || !existsSync(c.goldenFile)) {
        if (process.env.UPDATE_GOLDEN !== "1") throw new Error(`${c.goldenFile} missing; run with UPDATE_GOLDEN=1`);
        writeFileSync(c.goldenFile, c.rendered);
      }
      expect(c.rendered).toBe(readFileSync(c.goldenFile, "utf8"));
    });
  }
});
