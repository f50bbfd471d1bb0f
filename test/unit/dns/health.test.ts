import { expect, test } from "bun:test";
import { UpstreamHealth } from "../../../src/core/dns/health.ts";

test("down after a failure, probed with backoff, up after a success", () => {
  const h = new UpstreamHealth(2);
  expect(h.order()).toEqual([0, 1]);
  expect(h.failed(0, 1000)).toEqual({ type: "upstream.down", index: 0 });
  expect(h.failed(0, 1100)).toBeNull();
  expect(h.order()).toEqual([1, 0]);
  expect(h.dueProbes(1500)).toEqual([]);
  expect(h.dueProbes(2000)).toEqual([0]);
  expect(h.dueProbes(2999)).toEqual([]); // next after 1 s more
  expect(h.dueProbes(3000)).toEqual([0]);
  expect(h.dueProbes(4999)).toEqual([]); // then 2 s
  expect(h.dueProbes(5000)).toEqual([0]);
  expect(h.succeeded(0)).toEqual({ type: "upstream.up", index: 0 });
  expect(h.succeeded(0)).toBeNull();
  expect(h.order()).toEqual([0, 1]);
  expect(h.snapshot()).toEqual([{ up: true, failures: 2 }, { up: true, failures: 0 }]);
});

test("backoff caps at 30 s", () => {
  const h = new UpstreamHealth(1);
  h.failed(0, 0);
  let now = 0;
  let last = 0;
  for (let i = 0; i < 20; i++) {
    now += 1000;
    while (h.dueProbes(now).length === 0) now += 1000;
    if (i > 0) expect(now - last).toBeLessThanOrEqual(30_000);
    last = now;
  }
  expect(h.order()).toEqual([0]);
});
