// Splitting a learn write into batches (src/core/ruleset/netlink-batches.ts): every batch
// built from a chunk respects both limits for real (measured on buildBatch's bytes and
// parts), nothing is lost, duplicated or reordered, and a write that fits stays whole.
import { describe, expect, test } from "bun:test";
import { ACK_COST, batchLimits, splitBatches, type BatchLimits } from "../../../src/core/ruleset/netlink-batches.ts";
import { buildBatch, forgetMessages, type SetElemMessage } from "../../../src/core/ruleset/netlink-elements.ts";

const v4 = (i: number) => Uint8Array.of(203, 0, 113, i & 0xff);
const v6 = (i: number) => Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (i >> 8) & 0xff, i & 0xff]);

/** `names` messages alternating learned4/learned6, `per` elements each, comments of varied length */
function messages(names: number, per: number): SetElemMessage[] {
  return Array.from({ length: names }, (_, n) => ({
    set: n % 2 ? "learned6" : "learned4",
    comment: n % 3 === 0 ? undefined : `${"n".repeat(1 + (n % 40))}${n}.example`,
    elements: Array.from({ length: per }, (_, i) => ({ key: n % 2 ? v6(n * per + i) : v4(n * per + i), timeoutMs: 1000 * (60 + i) })),
  }));
}

/** every element with its set and comment, in order: what the kernel is asked to hold */
const flat = (ms: readonly SetElemMessage[]) => ms.flatMap((m) => m.elements.map((e) => `${m.remove ? "del" : "add"}|${m.set}|${m.comment}|${e.key.join(".")}|${e.timeoutMs}`));

function check(ms: SetElemMessage[], limits: BatchLimits): SetElemMessage[][] {
  const chunks = splitBatches(ms, limits);
  expect(flat(chunks.flat())).toEqual(flat(ms));
  for (const c of chunks) {
    const b = buildBatch(c, 7);
    expect(b.bytes.length).toBeLessThanOrEqual(limits.maxBytes);
    expect(b.parts.length).toBeLessThanOrEqual(limits.maxMessages);
    // one wire message per piece: the estimate never lets buildBatch cut a piece again
    expect(b.parts.length).toBe(c.length);
  }
  return chunks;
}

describe("splitBatches", () => {
  test("a write within both limits stays one batch, the same messages", () => {
    const ms = messages(5, 3);
    const chunks = check(ms, { maxBytes: 1 << 20, maxMessages: 100 });
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.every((m, i) => m === ms[i])).toBe(true);
  });

  test("by message count: at most maxMessages acks per batch", () => {
    const chunks = check(messages(1000, 1), { maxBytes: 1 << 22, maxMessages: 64 });
    expect(chunks.map((c) => c.length)).toEqual([...Array(15).fill(64), 1000 - 15 * 64]);
  });

  test("by bytes: one name with many elements is cut across batches", () => {
    const ms = messages(1, 5000);
    const chunks = check(ms, { maxBytes: 16_384, maxMessages: 1000 });
    expect(chunks.length).toBeGreaterThan(5);
    // filled close to the limit, not one element per batch
    for (const c of chunks.slice(0, -1)) expect(buildBatch(c, 0).bytes.length).toBeGreaterThan(16_384 - 200);
  });

  test("a message over one nest's 60000 bytes becomes several pieces in one batch", () => {
    const ms = messages(2, 3000);
    const chunks = check(ms, { maxBytes: 1 << 22, maxMessages: 100 });
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.length).toBeGreaterThan(2);
  });

  test("mixed sizes against tight limits of both kinds", () => {
    for (const [names, per, maxBytes, maxMessages] of [
      [300, 7, 4096, 5],
      [50, 200, 9000, 3],
      [400, 2, 100_000, 17],
      [3, 4000, 65_536, 2],
    ] as const) {
      check(messages(names, per), { maxBytes, maxMessages });
    }
  });

  test("a removal split anywhere: every piece keeps its kind, each key's add comes before its delete", () => {
    const addresses = Array.from({ length: 600 }, (_, i) => ({ family: (i % 2 ? 6 : 4) as 4 | 6, address: i % 2 ? `2001:db8::${i.toString(16)}` : `203.0.${113 + (i >> 8)}.${i & 0xff}` }));
    const ms = forgetMessages(addresses);
    for (const limits of [{ maxBytes: 4096, maxMessages: 3 }, { maxBytes: 1 << 20, maxMessages: 1 }, { maxBytes: 2000, maxMessages: 100 }]) {
      const chunks = check(ms, limits);
      const order = chunks.flat().flatMap((m) => m.elements.map((e) => `${m.remove ? "del" : "add"} ${m.set} ${e.key.join(".")}`));
      for (const a of addresses) {
        const set = a.family === 4 ? "learned4" : "learned6";
        const key = forgetMessages([a])[0]!.elements[0]!.key.join(".");
        const added = order.indexOf(`add ${set} ${key}`);
        const deleted = order.indexOf(`del ${set} ${key}`);
        expect(added).toBeGreaterThanOrEqual(0);
        expect(deleted).toBeGreaterThan(added);
      }
      // the kind survives the cut: as many deletes as there were keys, none turned into adds
      expect(order.filter((o) => o.startsWith("del")).length).toBe(addresses.length);
    }
  });

  test("forgetMessages: each key once, however often or however spelled it is listed", () => {
    const ms = forgetMessages([{ family: 6, address: "2001:db8::1" }, { family: 6, address: "2001:db8:0:0::1" }, { family: 4, address: "203.0.113.1" }, { family: 4, address: "203.0.113.1" }]);
    expect(ms.map((m) => m.elements.length)).toEqual([1, 1, 1, 1]);
  });

  test("an element larger than a whole batch goes alone; empty messages vanish", () => {
    const ms = messages(3, 2);
    const chunks = splitBatches([{ set: "learned4", elements: [] }, ...ms], { maxBytes: 10, maxMessages: 0 });
    expect(chunks).toHaveLength(6);
    expect(chunks.every((c) => c.length === 1 && c[0]!.elements.length === 1)).toBe(true);
    expect(splitBatches([], { maxBytes: 1000, maxMessages: 10 })).toEqual([]);
  });
});

describe("batchLimits", () => {
  test("acks fill at most half the receive buffer; a batch fits the send buffer", () => {
    // what a user-namespace container gets with net.core.rmem_max at its default
    expect(batchLimits({ rcv: 425_984, snd: 425_984 })).toEqual({ maxBytes: 425_952, maxMessages: Math.floor(425_984 / 2 / ACK_COST) });
    expect(batchLimits({ rcv: 8 << 20, snd: 8 << 20 }).maxMessages).toBe(4096);
  });

  test("a buffer that could not be read is taken as the kernel's default; never below one", () => {
    expect(batchLimits({ rcv: null, snd: null })).toEqual({ maxBytes: 212_992 - 32, maxMessages: Math.floor(212_992 / 2 / ACK_COST) });
    expect(batchLimits({ rcv: 100, snd: 10 })).toEqual({ maxBytes: 1, maxMessages: 1 });
  });
});
