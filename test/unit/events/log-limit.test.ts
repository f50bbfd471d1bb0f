// The log's rate limits, with time passed in: per key (a loop over one name) and global
// (a loop over ever-new names), every suppressed event counted exactly once.
import { describe, expect, test } from "bun:test";
import { createLogLimiter } from "../../../src/core/events/rate-limit.ts";
import { createEventLog, LIMIT_GLOBAL } from "../../../src/effects/log/events.ts";

describe("createLogLimiter", () => {
  const mk = () => createLogLimiter({ perKey: { burst: 2, perSecond: 1 }, global: { burst: 4, perSecond: 2 } });

  test("distinct keys: the global burst, then nothing until it refills; the next line carries the count", () => {
    const l = mk();
    for (let i = 0; i < 4; i++) expect(l.admit(`k${i}`, 0)).toEqual({ suppressed: 0, suppressedGlobal: 0 });
    for (let i = 4; i < 10; i++) expect(l.admit(`k${i}`, 0)).toBeNull();
    expect(l.admit("k10", 400)).toBeNull(); // 0.8 of a token
    expect(l.admit("k11", 500)).toEqual({ suppressed: 0, suppressedGlobal: 7 });
    expect(l.admit("k12", 500)).toBeNull();
    expect(l.admit("k13", 1000)).toEqual({ suppressed: 0, suppressedGlobal: 1 });
  });

  test("one key looping does not drain the global bucket for the others", () => {
    const l = mk();
    for (let i = 0; i < 100; i++) l.admit("loop", 0);
    // "loop" took 2 global tokens (its own burst); the other 98 were its own bucket's
    for (const k of ["a", "b"]) expect(l.admit(k, 0)).toEqual({ suppressed: 0, suppressedGlobal: 0 });
    expect(l.admit("loop", 1000)).toEqual({ suppressed: 98, suppressedGlobal: 0 });
  });

  test("refill is capped at the burst; time going backwards adds nothing", () => {
    const l = mk();
    for (let i = 0; i < 4; i++) l.admit(`a${i}`, 0);
    expect(l.admit("x", 3_600_000)).not.toBeNull();
    let admitted = 1;
    for (let i = 0; i < 20; i++) if (l.admit(`b${i}`, 3_600_000)) admitted++;
    expect(admitted).toBe(4);
    expect(l.admit("late", 1000)).toBeNull();
  });
});

describe("emitLimited", () => {
  test("a flood of distinct denied names writes the global burst, then the rate; the counts add up", () => {
    const lines: Record<string, unknown>[] = [];
    let t = 0;
    const log = createEventLog({ format: "json", write: (s) => lines.push(JSON.parse(s)), now: () => t });
    const total = 10_000;
    // 10,000 distinct names over 10 seconds
    for (let i = 0; i < total; i++) {
      t = i; // 1 ms apart
      log.emitLimited(`n${i}.example`, "dns.denied", { name: `n${i}.example` }, "warn");
    }
    const expected = LIMIT_GLOBAL.burst + Math.floor((total / 1000) * LIMIT_GLOBAL.perSecond);
    expect(lines.length).toBeGreaterThanOrEqual(expected - 1);
    expect(lines.length).toBeLessThanOrEqual(expected + 1);
    const counted = lines.reduce((n, l) => n + ((l.suppressedGlobal as number) ?? 0), 0);
    // every event is either a line or counted on a later line (the last few wait for the next)
    expect(lines.length + counted).toBeLessThanOrEqual(total);
    expect(lines.length + counted).toBeGreaterThan(total - 30);
    expect(lines.slice(0, LIMIT_GLOBAL.burst).every((l) => l.suppressedGlobal === undefined)).toBe(true);
    expect(lines.find((l) => l.suppressedGlobal !== undefined)?.suppressedGlobal).toBeGreaterThan(0);
    expect(lines.some((l) => l.suppressed !== undefined)).toBe(false); // no key repeated
  });

  test("a bad key (empty, huge) is limited like any other and never throws", () => {
    const lines: string[] = [];
    const log = createEventLog({ format: "json", write: (s) => lines.push(s), now: () => 0 });
    for (let i = 0; i < 50; i++) log.emitLimited("", "dns.denied", { name: "" }, "warn");
    for (let i = 0; i < 50; i++) log.emitLimited("x".repeat(100_000), "dns.denied", { name: "x" }, "warn");
    expect(lines.length).toBe(40); // 20 + 20: the per-key bursts
  });
});
