// Skipping kernel writes that change nothing (KernelExpiry, time passed in) and
// coalescing the rest per event-loop turn (LearnWriter, with a manual scheduler).
import { describe, expect, test } from "bun:test";
import { HEADROOM_SEC, KernelExpiry, refreshesTimeouts } from "../../../src/core/learn/kernel-expiry.ts";
import type { LearnElement } from "../../../src/core/learn/table.ts";
import { Errno } from "../../../src/core/errors/errno.ts";
import { type LearnGroup, LearnWriter, type LearnWriterDeps, type WriteResult } from "../../../src/core/learn/writer.ts";

const el = (address: string, timeoutSec: number): LearnElement => ({ family: address.includes(":") ? 6 : 4, address, timeoutSec });

describe("KernelExpiry", () => {
  test("an address not yet written is always planned, with headroom", () => {
    const k = new KernelExpiry();
    expect(k.plan([el("198.51.100.1", 300)], 0)).toEqual([el("198.51.100.1", 300 + HEADROOM_SEC)]);
  });

  test("skips while the written expiry outlasts what the answer needs, writes again after", () => {
    const k = new KernelExpiry(60);
    k.wrote([el("198.51.100.1", 360)], 0); // in the kernel until 360 s
    expect(k.plan([el("198.51.100.1", 300)], 0)).toEqual([]);
    expect(k.plan([el("198.51.100.1", 300)], 60_000)).toEqual([]); // needs until 360 s exactly
    expect(k.plan([el("198.51.100.1", 300)], 60_001)).toEqual([el("198.51.100.1", 360)]);
    // a longer TTL than was written: written at once
    expect(k.plan([el("198.51.100.1", 3600)], 1000)).toEqual([el("198.51.100.1", 3660)]);
    // only the addresses that need it
    expect(k.plan([el("198.51.100.1", 60), el("198.51.100.2", 60)], 1000)).toEqual([el("198.51.100.2", 120)]);
  });

  test("expired in the kernel: written again; swept from memory", () => {
    const k = new KernelExpiry(60);
    k.wrote([el("198.51.100.1", 120)], 0);
    expect(k.holds("198.51.100.1", 119_999)).toBe(120_000);
    expect(k.holds("198.51.100.1", 120_000)).toBeNull();
    expect(k.plan([el("198.51.100.1", 60)], 200_000)).toEqual([el("198.51.100.1", 120)]);
    k.wrote([el("198.51.100.2", 120)], 200_000); // a later write sweeps what expired
    expect(k.size).toBe(1);
  });

  test("forget (prune, adoption) and clear: the next answer writes again", () => {
    const k = new KernelExpiry(60);
    k.wrote([el("198.51.100.1", 3600), el("198.51.100.2", 3600)], 0);
    k.forget([{ address: "198.51.100.1" }]);
    expect(k.plan([el("198.51.100.1", 60), el("198.51.100.2", 60)], 0)).toEqual([el("198.51.100.1", 120)]);
    k.clear();
    expect(k.plan([el("198.51.100.2", 60)], 0)).toEqual([el("198.51.100.2", 120)]);
  });

  test("only kernels that refresh timeouts on re-add (>= 6.10) are trusted", () => {
    expect(refreshesTimeouts("6.18.0-1-amd64")).toBe(true);
    expect(refreshesTimeouts("6.10.0")).toBe(true);
    expect(refreshesTimeouts("7.0.1")).toBe(true);
    expect(refreshesTimeouts("6.9.12")).toBe(false);
    expect(refreshesTimeouts("5.15.0-91-generic")).toBe(false);
    expect(refreshesTimeouts("garbage")).toBe(false);
  });
});

function harness(results: WriteResult[] = [], kernel: KernelExpiry | null = new KernelExpiry(60)) {
  const writes: LearnGroup[][] = [];
  const queued: (() => void)[] = [];
  let now = 0;
  const w = new LearnWriter({
    write(groups) {
      writes.push(groups.map((g) => ({ name: g.name, elements: g.elements.map((e) => ({ ...e })) })));
      return results.shift() ?? { ok: true };
    },
    schedule: (f) => void queued.push(f),
    now: () => now,
    kernel,
  });
  const turn = () => queued.splice(0).forEach((f) => f());
  /** the turn's flush, and everything it settles */
  const step = async () => {
    turn();
    await Bun.sleep(0);
  };
  return { w, writes, turn, step, queued, setNow: (t: number) => (now = t) };
}

/** settles a promise into a label, so order and outcome can be compared */
function track(p: Promise<void> | undefined, log: string[], label: string): void {
  if (!p) return void log.push(`${label} now`);
  p.then(
    () => log.push(`${label} ok`),
    (e: Error) => log.push(`${label} failed: ${e.message}`),
  );
}

describe("LearnWriter", () => {
  test("answers of one turn: one transaction, one group per name, each address once; nothing released before it", async () => {
    const kernel = new KernelExpiry(60);
    const h = harness([], kernel);
    const log: string[] = [];
    track(h.w.learn([el("198.51.100.1", 300), el("2001:db8::1", 300)], "a.example"), log, "a");
    track(h.w.learn([el("198.51.100.1", 600), el("198.51.100.2", 60)], "b.example"), log, "b");
    track(h.w.learn([el("198.51.100.3", 60)], "a.example"), log, "a2");
    await Bun.sleep(0);
    expect(log).toEqual([]); // nothing answered before the write
    expect(h.queued.length).toBe(1); // one flush scheduled for the turn
    h.turn();
    await Bun.sleep(0);
    expect(h.writes).toEqual([
      [
        { name: "a.example", elements: [el("198.51.100.1", 660), el("2001:db8::1", 360), el("198.51.100.3", 120)] },
        { name: "b.example", elements: [el("198.51.100.2", 120)] },
      ],
    ]);
    expect(log).toEqual(["a ok", "b ok", "a2 ok"]);
    expect(h.w.counts.writes).toBe(1);
    // recorded as written: the shared address with the longest timeout, once
    expect(kernel.holds("198.51.100.1", 0)).toBe(660_000);
    expect(kernel.holds("198.51.100.2", 0)).toBe(120_000);
    expect(kernel.size).toBe(4);
  });

  test("after a committed write, answers the kernel already covers are released at once, without a write", async () => {
    const h = harness();
    const log: string[] = [];
    track(h.w.learn([el("198.51.100.1", 300)], "a.example"), log, "first");
    h.turn();
    await Bun.sleep(0);
    h.setNow(30_000);
    track(h.w.learn([el("198.51.100.1", 300)], "a.example"), log, "second");
    track(h.w.learn([el("198.51.100.1", 300), el("198.51.100.9", 300)], "a.example"), log, "third");
    h.turn();
    await Bun.sleep(0);
    expect(log).toEqual(["first ok", "second now", "third ok"]);
    expect(h.writes.length).toBe(2);
    expect(h.writes[1]).toEqual([{ name: "a.example", elements: [el("198.51.100.9", 360)] }]);
  });

  test("a failed combined write fails every answer in it, and records nothing", async () => {
    const h = harness([{ ok: false, error: "Error: Could not process rule: No such file or directory", errno: Errno.ENOENT }]);
    const log: string[] = [];
    track(h.w.learn([el("198.51.100.1", 300)], "a.example"), log, "a");
    track(h.w.learn([el("198.51.100.2", 300)], "b.example"), log, "b");
    h.turn();
    await Bun.sleep(0);
    expect(log).toEqual(["a failed: Error: Could not process rule: No such file or directory", "b failed: Error: Could not process rule: No such file or directory"]);
    expect(h.writes.length).toBe(1); // not transient: no retry
    // nothing recorded: the next answer writes again
    track(h.w.learn([el("198.51.100.1", 300)], "a.example"), log, "again");
    h.turn();
    await Bun.sleep(0);
    expect(log.at(-1)).toBe("again ok");
    expect(h.writes.length).toBe(2);
  });

  test("a transient failure is retried once; two fail everything", async () => {
    const busy: WriteResult = { ok: false, error: "Error: Could not process rule: Device or resource busy", errno: Errno.EBUSY };
    const h = harness([busy, { ok: true }, busy, busy]);
    const log: string[] = [];
    track(h.w.learn([el("198.51.100.1", 300)], "a.example"), log, "a");
    h.turn();
    await Bun.sleep(0);
    track(h.w.learn([el("198.51.100.2", 300)], "b.example"), log, "b");
    h.turn();
    await Bun.sleep(0);
    expect(log).toEqual(["a ok", "b failed: Error: Could not process rule: Device or resource busy"]);
    expect(h.writes.length).toBe(4);
    expect(h.w.counts).toMatchObject({ writes: 1, failed: 1, retried: 2 });
  });

  test("retrying is decided by errno, not by the message: a lost ack (ETIMEDOUT) and an untyped failure are not retried", async () => {
    for (const failure of [
      { ok: false, error: "netlink recv: no answer within 2000 ms (1 message(s) unanswered)", errno: Errno.ETIMEDOUT },
      { ok: false, error: "Device or resource busy, says the text", errno: null },
    ] satisfies WriteResult[]) {
      const h = harness([failure]);
      const log: string[] = [];
      track(h.w.learn([el("198.51.100.1", 300)], "a.example"), log, "a");
      h.turn();
      await Bun.sleep(0);
      expect(log).toEqual([`a failed: ${failure.error}`]);
      expect(h.writes.length).toBe(1);
      expect(h.w.counts).toMatchObject({ failed: 1, retried: 0 });
    }
  });

  test("a write that throws fails its answers", async () => {
    const h = harness();
    const w = new LearnWriter({ write: () => { throw new Error("boom"); }, schedule: (f) => f(), now: () => 0, kernel: null });
    const log: string[] = [];
    track(w.learn([el("198.51.100.1", 300)], "a.example"), log, "a");
    await Bun.sleep(0);
    expect(log).toEqual(["a failed: boom"]);
    expect(h.writes).toEqual([]);
  });

  test("stillWanted is asked at the flush: a name denied meanwhile is rejected and not written", async () => {
    const h = harness();
    const log: string[] = [];
    let allowed = true;
    track(h.w.learn([el("198.51.100.1", 300)], "gone.example", () => allowed), log, "gone");
    // the same address for a name still allowed: written under that name
    track(h.w.learn([el("198.51.100.1", 300), el("198.51.100.2", 300)], "keep.example", () => true), log, "keep");
    allowed = false;
    h.turn();
    await Bun.sleep(0);
    expect(log).toEqual(["gone failed: gone.example was denied by a reload while its answer was in flight", "keep ok"]);
    expect(h.writes).toEqual([[{ name: "keep.example", elements: [el("198.51.100.1", 360), el("198.51.100.2", 360)] }]]);
  });

  test("before a removal, what waits is written first; removed addresses are written again next time", async () => {
    const h = harness();
    const log: string[] = [];
    track(h.w.learn([el("198.51.100.1", 300)], "a.example"), log, "a");
    // a reload's forget, in the same turn: decided now, run in the lane, waiters first
    h.w.removing([{ address: "198.51.100.1" }]);
    await h.w.lane.run(async () => {
      await h.w.flush();
      h.w.removed([{ address: "198.51.100.1" }]);
    });
    expect(log).toEqual(["a ok"]);
    track(h.w.learn([el("198.51.100.1", 300)], "a.example"), log, "b");
    h.turn(); // the flush scheduled by the first answer, then the second's
    h.turn();
    await Bun.sleep(0);
    expect(log).toEqual(["a ok", "b ok"]);
    expect(h.writes.length).toBe(2);
  });

  test("an address whose removal is decided is not taken as held: written again, after the removal", async () => {
    const h = harness();
    const log: string[] = [];
    track(h.w.learn([el("198.51.100.1", 300)], "a.example"), log, "a");
    await h.step();
    // held now; a removal is decided, and while it waits another answer asks for the address
    h.w.removing([{ address: "198.51.100.1" }]);
    track(h.w.learn([el("198.51.100.1", 300)], "b.example"), log, "b");
    await h.step();
    expect(log).toEqual(["a ok", "b ok"]); // b was written, not released as covered
    // what b wrote while the removal was pending is not recorded as held either
    track(h.w.learn([el("198.51.100.1", 300)], "c.example"), log, "c");
    h.w.removed([{ address: "198.51.100.1" }]);
    await h.step();
    expect(log).toEqual(["a ok", "b ok", "c ok"]);
    expect(h.writes.length).toBe(3);
  });

  test("a slow write: answers arriving meanwhile wait for the lane and go out together in the next one", async () => {
    let release!: (r: WriteResult) => void;
    const writes: string[][] = [];
    const queued: (() => void)[] = [];
    const w = new LearnWriter({
      write: (groups) => {
        writes.push(groups.map((g) => g.name));
        return writes.length === 1 ? new Promise<WriteResult>((r) => (release = r)) : { ok: true };
      },
      schedule: (f) => void queued.push(f),
      now: () => 0,
      kernel: new KernelExpiry(60),
    });
    const turn = () => queued.splice(0).forEach((f) => f());
    const log: string[] = [];
    track(w.learn([el("198.51.100.1", 300)], "slow.example"), log, "slow");
    turn();
    await Bun.sleep(0);
    expect(writes).toEqual([["slow.example"]]);
    track(w.learn([el("198.51.100.2", 300)], "b.example"), log, "b");
    turn();
    track(w.learn([el("198.51.100.3", 300)], "c.example"), log, "c");
    turn();
    // the stalled write is not recorded yet: its address asked again waits too (and joins the next write)
    expect(w.learn([el("198.51.100.1", 300)], "slow.example")).toBeInstanceOf(Promise);
    await Bun.sleep(0);
    expect(log).toEqual([]); // the write is held by the test: nothing can be released before it
    release({ ok: true });
    await Bun.sleep(0);
    await w.lane.run(async () => {});
    expect(writes).toEqual([["slow.example"], ["b.example", "c.example", "slow.example"]]);
    expect(log).toEqual(["slow ok", "b ok", "c ok"]);
  });

  test("forgetAll (the ruleset was installed again): every address is written again", async () => {
    const h = harness();
    const log: string[] = [];
    track(h.w.learn([el("198.51.100.1", 300)], "a.example"), log, "a");
    h.turn();
    await Bun.sleep(0);
    h.w.forgetAll();
    track(h.w.learn([el("198.51.100.1", 300)], "a.example"), log, "b");
    h.turn();
    await Bun.sleep(0);
    expect(log).toEqual(["a ok", "b ok"]);
    expect(h.writes.length).toBe(2);
  });

  test("without a kernel record (old kernels) every answer writes, without headroom", async () => {
    const h = harness([], null);
    const log: string[] = [];
    for (const n of [1, 2]) {
      track(h.w.learn([el("198.51.100.1", 300)], "a.example"), log, `a${n}`);
      h.turn();
      await Bun.sleep(0);
    }
    expect(log).toEqual(["a1 ok", "a2 ok"]);
    expect(h.writes).toEqual([[{ name: "a.example", elements: [el("198.51.100.1", 300)] }], [{ name: "a.example", elements: [el("198.51.100.1", 300)] }]]);
  });
});

describe("bounds: lifetime and count", () => {
  test("no element is written for longer than the lifetime bound, headroom included", () => {
    const k = new KernelExpiry({ maxLifetimeSec: 3600 });
    expect(k.plan([el("198.51.100.1", 3540)], 0)).toEqual([el("198.51.100.1", 3600)]);
    expect(k.plan([el("198.51.100.1", 86_400)], 0)).toEqual([el("198.51.100.1", 3600)]);
  });

  test("without skipping (kernels before 6.10) every answer is planned, and counted", () => {
    const k = new KernelExpiry({ skip: false, headroomSec: 0 });
    k.wrote([el("198.51.100.1", 300)], 0);
    expect(k.plan([el("198.51.100.1", 300)], 0)).toEqual([el("198.51.100.1", 300)]);
    expect(k.count(4)).toBe(1);
  });

  test("room counts per family, expired elements make room again (swept at most once a second)", () => {
    const k = new KernelExpiry(60);
    k.wrote([el("198.51.100.1", 10), el("198.51.100.2", 100), el("2001:db8::1", 100)], 0);
    expect(k.room(4, 2, 0)).toBe(0);
    expect(k.room(6, 2, 0)).toBe(1);
    expect(k.room(4, 2, 500)).toBe(0); // nothing expired yet
    expect(k.room(4, 2, 20_000)).toBe(1); // 198.51.100.1 expired and swept
  });

  test("clear (the sets may have been replaced): written again, but still counted; empty: not counted", () => {
    const k = new KernelExpiry(60);
    k.wrote([el("198.51.100.1", 300)], 0);
    k.clear();
    expect(k.plan([el("198.51.100.1", 60)], 0)).toEqual([el("198.51.100.1", 120)]);
    expect(k.room(4, 1, 0)).toBe(0);
    expect(k.counted("198.51.100.1", 0)).toBe(true);
    k.wrote([el("198.51.100.1", 300)], 0); // written again: counted once
    expect(k.count(4)).toBe(1);
    k.empty();
    expect(k.count(4)).toBe(0);
    expect(k.counted("198.51.100.1", 0)).toBe(false);
  });

  test("a full set: answers with new addresses fail as full, refreshes and others go ahead", async () => {
    const h = harness([], new KernelExpiry(60));
    const w = new LearnWriter({ ...(h.w as unknown as { d: LearnWriterDeps }).d, maxElements: 2 });
    const log: string[] = [];
    track(w.learn([el("198.51.100.1", 300), el("198.51.100.2", 300)], "a.example"), log, "a");
    h.turn();
    await Bun.sleep(0);
    h.setNow(120_000); // a.example's elements need writing again (headroom used up)
    track(w.learn([el("198.51.100.1", 300)], "a.example"), log, "refresh");
    track(w.learn([el("198.51.100.3", 300)], "new.example"), log, "new");
    track(w.learn([el("2001:db8::1", 300)], "v6.example"), log, "v6");
    h.turn();
    await Bun.sleep(0);
    expect(log).toEqual(["a ok", "new failed: learned set for IPv4 is full (2 elements): a new address cannot be allowed", "refresh ok", "v6 ok"]);
    expect(h.writes[1]).toEqual([
      { name: "a.example", elements: [el("198.51.100.1", 360)] },
      { name: "v6.example", elements: [el("2001:db8::1", 360)] },
    ]);
    expect(w.counts.full).toBe(1);
  });

  test("the kernel says full (its own size): the answers that only refresh are written again on their own", async () => {
    const h = harness([{ ok: true }, { ok: false, error: "netlink: ENFILE", errno: Errno.ENFILE }, { ok: true }], new KernelExpiry(60));
    const log: string[] = [];
    track(h.w.learn([el("198.51.100.1", 300)], "a.example"), log, "a");
    h.turn();
    await Bun.sleep(0);
    h.setNow(120_000);
    track(h.w.learn([el("198.51.100.1", 300)], "a.example"), log, "refresh");
    track(h.w.learn([el("198.51.100.9", 300)], "b.example"), log, "new");
    h.turn();
    await Bun.sleep(0);
    expect(log).toEqual(["a ok", "new failed: learned set for IPv4 is full (the kernel refused a new element): a new address cannot be allowed", "refresh ok"]);
    expect(h.writes.length).toBe(3);
    expect(h.writes[2]).toEqual([{ name: "a.example", elements: [el("198.51.100.1", 360)] }]);
  });

  test("adopted elements count toward the bound", async () => {
    const h = harness([], new KernelExpiry(60));
    const w = new LearnWriter({ ...(h.w as unknown as { d: LearnWriterDeps }).d, maxElements: 1 });
    w.adopted([el("198.51.100.1", 300)]);
    const log: string[] = [];
    track(w.learn([el("198.51.100.2", 300)], "b.example"), log, "b");
    h.turn();
    await Bun.sleep(0);
    expect(log[0]).toMatch(/^b failed: learned set for IPv4 is full/);
  });
});
