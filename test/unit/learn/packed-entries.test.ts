import { describe, expect, test } from "bun:test";
import { packEntries, unpackEntries } from "../../../src/core/learn/packed-entries.ts";
import type { LearnedEntry } from "../../../src/core/status/kernel-state.ts";

describe("learned entries packed for the crossing between threads", () => {
  test("every field survives, names absent, empty and non-ASCII included, in order", () => {
    const entries: LearnedEntry[] = [
      { family: 4, address: "198.51.100.10", name: "api.example.com", expiresSec: 3599.5 },
      { family: 6, address: "2001:db8::10", name: null, expiresSec: 0 },
      { family: 4, address: "192.0.2.1", name: "", expiresSec: 12 },
      { family: 6, address: "2001:db8:ffff::1", name: "bücher.example", expiresSec: 1 },
      { family: 4, address: "203.0.113.9", name: "a\nb.example", expiresSec: 3600 },
    ];
    const packed = packEntries(entries);
    expect(unpackEntries(packed)).toEqual(entries);
  });

  test("what crosses is one string and typed arrays, and it survives a structured clone", () => {
    const entries: LearnedEntry[] = Array.from({ length: 5000 }, (_, i) => ({
      family: i % 2 ? 6 : 4,
      address: i % 2 ? `2001:db8::${i.toString(16)}` : `198.51.${i >> 8}.${i & 255}`,
      name: i % 7 ? `n${i}.example.com` : null,
      expiresSec: i,
    }));
    const packed = packEntries(entries);
    expect(typeof packed.text).toBe("string");
    expect(packed.families).toBeInstanceOf(Uint8Array);
    expect(unpackEntries(structuredClone(packed))).toEqual(entries);
  });

  test("an empty list", () => {
    expect(unpackEntries(packEntries([]))).toEqual([]);
  });
});
