import { describe, expect, test } from "bun:test";
import { tableSink } from "../../../src/core/learn/sink.ts";
import { LearnTable, MAX_PER_NAME } from "../../../src/core/learn/table.ts";

const v4 = (address: string) => ({ family: 4 as const, address });

describe("LearnTable", () => {
  test("add returns elements with the longest lifetime any holder needs", () => {
    const t = new LearnTable();
    expect(t.add({ name: "a.example", addresses: [v4("198.51.100.1")], ttl: 3600 }, 0)).toEqual([{ ...v4("198.51.100.1"), timeoutSec: 3600 }]);
    // a short-TTL name sharing the address must not shorten the kernel element
    expect(t.add({ name: "b.example", addresses: [v4("198.51.100.1"), v4("198.51.100.2")], ttl: 60 }, 1000)).toEqual([
      { ...v4("198.51.100.1"), timeoutSec: 3599 },
      { ...v4("198.51.100.2"), timeoutSec: 60 },
    ]);
    expect(t.namesOf("198.51.100.1", 1000).sort()).toEqual(["a.example", "b.example"]);
    expect(t.addressCount).toBe(2);
  });

  test("keeps at least 256 per name, caps at MAX_PER_NAME evicting the soonest-expiring", () => {
    const t = new LearnTable();
    const many = (n: number, base: number) => Array.from({ length: n }, (_, i) => v4(`10.${(base + i) >> 16}.${((base + i) >> 8) & 255}.${(base + i) & 255}`));
    t.add({ name: "cdn.example", addresses: many(300, 0), ttl: 60 }, 0);
    expect(t.snapshot(0)["cdn.example"]!.length).toBe(300);
    t.add({ name: "cdn.example", addresses: many(MAX_PER_NAME, 1000), ttl: 600 }, 0);
    const snap = t.snapshot(0)["cdn.example"]!;
    expect(snap.length).toBe(MAX_PER_NAME);
    expect(snap.every((e) => e.expiresAt === 600_000)).toBe(true);
  });

  test("expiry follows time passed in", () => {
    const t = new LearnTable();
    t.add({ name: "a.example", addresses: [v4("198.51.100.1")], ttl: 60 }, 0);
    expect(Object.keys(t.snapshot(59_999))).toEqual(["a.example"]);
    expect(t.snapshot(60_000)).toEqual({});
    expect(t.addressCount).toBe(0);
  });

  test("prune removes only addresses no remaining allowed name needs", () => {
    const t = new LearnTable();
    t.add({ name: "keep.example", addresses: [v4("198.51.100.1")], ttl: 300 }, 0);
    t.add({ name: "gone.example", addresses: [v4("198.51.100.1"), v4("198.51.100.2")], ttl: 300 }, 0);
    t.add({ name: "old.example", addresses: [v4("198.51.100.3")], ttl: 60 }, 0);
    const removed = t.prune((n) => n === "keep.example", 120_000);
    // .3 expired on its own (the kernel dropped it already); .1 is still needed by keep
    expect(removed).toEqual([v4("198.51.100.2")]);
    expect(Object.keys(t.snapshot(120_000))).toEqual(["keep.example"]);
  });

  test("tableSink writes effective elements; empty batches write nothing", async () => {
    const t = new LearnTable();
    const writes: unknown[] = [];
    const sink = tableSink(t, async (els) => void writes.push(els), () => 5000);
    await sink({ name: "a.example", addresses: [], ttl: 60 });
    await sink({ name: "a.example", addresses: [v4("198.51.100.1")], ttl: 60 });
    expect(writes).toEqual([[{ ...v4("198.51.100.1"), timeoutSec: 60 }]]);
  });
});


describe("LearnTable bounds", () => {
  test("at most maxNames names: the one recorded longest ago is forgotten, with its reverse entries", () => {
    const t = new LearnTable(1024, 3);
    for (const [i, n] of ["a.example", "b.example", "c.example", "d.example"].entries()) {
      t.add({ name: n, addresses: [{ family: 4, address: `198.51.100.${i + 1}` }], ttl: 60 }, 1000);
    }
    expect(Object.keys(t.snapshot(1000))).toEqual(["b.example", "c.example", "d.example"]);
    expect(t.namesOf("198.51.100.1", 1000)).toEqual([]);
    expect(t.nameCount).toBe(3);
    expect(t.addressCount).toBe(3);
    // b is answered again, so c (answered longest ago) goes next
    t.add({ name: "b.example", addresses: [{ family: 4, address: "198.51.100.2" }], ttl: 60 }, 1000);
    t.add({ name: "e.example", addresses: [{ family: 4, address: "198.51.100.5" }], ttl: 60 }, 1000);
    expect(Object.keys(t.snapshot(1000))).toEqual(["b.example", "d.example", "e.example"]);
  });
});
