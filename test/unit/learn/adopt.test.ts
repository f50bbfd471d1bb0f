import { describe, expect, test } from "bun:test";
import { adoptLearned } from "../../../src/core/learn/adopt.ts";
import { LearnTable } from "../../../src/core/learn/table.ts";
import { renderLearn } from "../../../src/core/ruleset/learn.ts";

const NOW = 1_000_000;

describe("adoptLearned", () => {
  test("rebuilds names from comments, removes denied and unnamed ones, skips expired", () => {
    const table = new LearnTable();
    const r = adoptLearned(
      [
        { family: 4, address: "198.51.100.10", name: "api.example.com", expiresSec: 200 },
        { family: 6, address: "2001:db8::10", name: "api.example.com", expiresSec: 200 },
        { family: 4, address: "198.51.100.11", name: "other.example.com", expiresSec: 200 },
        { family: 4, address: "198.51.100.12", name: null, expiresSec: 200 },
        { family: 4, address: "198.51.100.13", name: "api.example.com", expiresSec: 0 },
      ],
      table,
      (n) => n === "api.example.com",
      NOW,
    );
    expect(r.remove.map((a) => a.address).sort()).toEqual(["198.51.100.11", "198.51.100.12"]);
    const snap = table.snapshot(NOW);
    expect(Object.keys(snap)).toEqual(["api.example.com"]);
    expect(snap["api.example.com"]!.map((e) => [e.address, e.expiresAt])).toEqual([
      ["198.51.100.10", NOW + 200_000],
      ["2001:db8::10", NOW + 200_000],
    ]);
    // a later reload prunes adopted entries like any others
    expect(table.prune(() => false, NOW + 1).map((a) => a.address).sort()).toEqual(["198.51.100.10", "2001:db8::10"]);
  });
});

describe("adoptLearned: what may not stay", () => {
  test("inadmissible elements (too long-lived, non-public) are removed, however many (no per-name cap)", () => {
    const table = new LearnTable();
    const entries = Array.from({ length: 3000 }, (_, i) => ({ family: 4 as const, address: `10.0.${i >> 8}.${i & 255}`, name: "api.example.com", expiresSec: 100 }));
    entries.push({ family: 4, address: "198.51.100.10", name: "api.example.com", expiresSec: 86_400 });
    entries.push({ family: 4, address: "198.51.100.11", name: "api.example.com", expiresSec: 100 });
    const r = adoptLearned(entries, table, () => true, NOW, (e) => e.expiresSec <= 3600 && !e.address.startsWith("10."));
    expect(r.remove.length).toBe(3001);
    expect(r.adopted).toBe(1);
    expect(table.snapshot(NOW)["api.example.com"]!.map((e) => e.address)).toEqual(["198.51.100.11"]);
  });
});

describe("renderLearn comments", () => {
  test("the batch's name becomes each element's comment; over-long names are left out", () => {
    const els = [{ family: 4 as const, address: "198.51.100.10", timeoutSec: 60 }];
    expect(renderLearn(els, "api.example.com")).toBe('add element inet egressctl learned4 { 198.51.100.10 timeout 60s comment "api.example.com" }\n');
    expect(renderLearn(els, `${"a".repeat(125)}.com`)).toBe("add element inet egressctl learned4 { 198.51.100.10 timeout 60s }\n");
  });
});
