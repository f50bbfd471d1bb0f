// `egressctl wait`'s pure parts: durations, the readiness judgement (shared with the
// metrics address's /healthz) and the polling loop, with a fake clock (no sleeping).
import { describe, expect, test } from "bun:test";
import { parseDuration } from "../../../src/core/config/duration.ts";
import { readiness, readinessFromStatus, type Readiness } from "../../../src/core/wait/readiness.ts";
import { waitReady, type Clock } from "../../../src/app/wait.ts";

describe("parseDuration", () => {
  test("Go-style units, combinations, and bare seconds", () => {
    expect(parseDuration("500ms")).toBe(500);
    expect(parseDuration("30s")).toBe(30_000);
    expect(parseDuration("2m")).toBe(120_000);
    expect(parseDuration("1h")).toBe(3_600_000);
    expect(parseDuration("1m30s")).toBe(90_000);
    expect(parseDuration("1.5s")).toBe(1500);
    expect(parseDuration("5")).toBe(5000);
    expect(parseDuration("0")).toBe(0);
    expect(parseDuration(" 10s ")).toBe(10_000);
  });
  test("anything else is an error naming the text", () => {
    for (const bad of ["", "s", "5x", "5s garbage", "-5s", "five", "5 s", "1d"]) {
      const r = parseDuration(bad);
      expect(typeof r).toBe("string");
      expect(r as string).toContain(`'${bad}'`);
    }
  });
});

describe("readiness", () => {
  test("ready only when the measured level is the intended one", () => {
    expect(readiness("dns+nftables", "dns+nftables")).toEqual({ ok: true, level: "dns+nftables" });
    expect(readiness("dns-only", "dns-only")).toEqual({ ok: true, level: "dns-only" });
    expect(readiness("dns+nftables", null)).toEqual({ ok: false, waitingFor: "serve's first self-test (serve is starting)" });
    const low = readiness("dns+nftables", "dns-only", ["the filter chain is not hooked to output"]);
    expect(low).toEqual({ ok: false, waitingFor: "the self-test to measure dns+nftables (it measured dns-only: the filter chain is not hooked to output)" });
  });
  test("from /status: mode is the intended level, measuredLevel the measured one", () => {
    expect(readinessFromStatus({ mode: "dns+nftables", measuredLevel: "dns+nftables", selfTestFindings: [] })).toEqual({ ok: true, level: "dns+nftables" });
    expect(readinessFromStatus({ mode: "dns+nftables", measuredLevel: "disabled", selfTestFindings: ["DNS is NOT intercepted"] })).toMatchObject({ ok: false, waitingFor: expect.stringContaining("it measured disabled: DNS is NOT intercepted") });
    expect(readinessFromStatus({ mode: "dns+nftables", measuredLevel: null })).toMatchObject({ ok: false, waitingFor: expect.stringContaining("first self-test") });
    for (const junk of [null, 5, {}, { mode: 1, measuredLevel: "x" }, { mode: "dns-only" }]) {
      expect(readinessFromStatus(junk)).toMatchObject({ ok: false, waitingFor: expect.stringContaining("is this egressctl serve's status socket?") });
    }
  });
});

describe("waitReady", () => {
  function fakeClock(): Clock & { slept: number[] } {
    let t = 1_000_000;
    const slept: number[] = [];
    return { slept, now: () => t, sleep: async (ms) => void (slept.push(ms), (t += ms)) };
  }
  const answers = (...rs: Readiness[]) => {
    let i = 0;
    return async () => rs[Math.min(i++, rs.length - 1)]!;
  };
  const waiting = (w: string): Readiness => ({ ok: false, waitingFor: w });

  test("asks until ready, then returns at once", async () => {
    const clock = fakeClock();
    const r = await waitReady(answers(waiting("a"), waiting("b"), { ok: true, level: "dns+nftables" }), 10_000, clock);
    expect(r).toEqual({ ok: true, level: "dns+nftables" });
    expect(clock.slept).toEqual([250, 250]);
  });
  test("on timeout returns the last thing it waited for; never sleeps past the deadline", async () => {
    const clock = fakeClock();
    const r = await waitReady(answers(waiting("socket"), waiting("self-test")), 600, clock);
    expect(r).toEqual(waiting("self-test"));
    expect(clock.slept).toEqual([250, 250, 100]);
  });
  test("timeout 0 asks exactly once", async () => {
    const clock = fakeClock();
    let asked = 0;
    const r = await waitReady(async () => (asked++, waiting("x")), 0, clock);
    expect(r).toEqual(waiting("x"));
    expect(asked).toBe(1);
    expect(clock.slept).toEqual([]);
  });
});
