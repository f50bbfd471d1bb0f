import { describe, expect, test } from "bun:test";
import { BURST_QUERIES, idleCollectPart } from "../../../src/app/serve/parts/idle-collect.ts";

/** resolves once `fn` has been called `n` more times (the part's ticks, not a sleep) */
function calls(n: number): { fn: () => number; done: Promise<void>; value: { q: number } } {
  const value = { q: 0 };
  let left = n;
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  return {
    value,
    done,
    fn: () => {
      if (--left === 0) resolve();
      return value.q;
    },
  };
}

describe("the idle collector", () => {
  test("after a burst, the first tick without a new query collects once; quiet ticks after it do not", async () => {
    const c = calls(6);
    let collected = 0;
    const part = idleCollectPart(c.fn, () => collected++, 5);
    part.start();
    c.value.q = BURST_QUERIES; // the burst, seen at the first tick; the next ones are quiet
    await c.done;
    part.stop("shutdown");
    expect(collected).toBe(1);
  });

  test("no collection while queries keep coming, nor after fewer than a burst", async () => {
    let q = 0;
    let ticks = 0;
    let collected = 0;
    let reached!: () => void;
    const done = new Promise<void>((r) => (reached = r));
    // busy: every tick sees new queries, far more than a burst in all
    const busy = idleCollectPart(() => {
      if (++ticks === 10) reached();
      return (q += BURST_QUERIES);
    }, () => collected++, 5);
    busy.start();
    await done;
    busy.stop("shutdown");
    expect(collected).toBe(0);
    // a few queries, then quiet
    const c = calls(6);
    const small = idleCollectPart(c.fn, () => collected++, 5);
    small.start();
    c.value.q = BURST_QUERIES - 1;
    await c.done;
    small.stop("shutdown");
    expect(collected).toBe(0);
  });
});
