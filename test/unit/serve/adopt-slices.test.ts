// adopt() as the kernel I/O thread drives it: slices handed over back to back, while
// earlier ones are still being taken, and a read that breaks off. Every element must be
// judged exactly once; the real kernel's side is test/integration/serve/adopt-slices.test.ts.
import { describe, expect, test } from "bun:test";
import type { Enforcer } from "../../../src/app/serve/enforcer.ts";
import { adopt } from "../../../src/app/serve/learned-upkeep.ts";
import { compilePolicy } from "../../../src/app/serve/live-policy.ts";
import { PendingRemovals } from "../../../src/app/serve/remove-learned.ts";
import { LearnTable } from "../../../src/core/learn/table.ts";
import { loadPolicyText } from "../../../src/core/policy/load.ts";
import type { LearnedEntry } from "../../../src/core/status/kernel-state.ts";
import { createEventLog } from "../../../src/effects/log/events.ts";
import { fakeEnforcer } from "./fake-enforcer.ts";

const live = compilePolicy(loadPolicyText('{"defaultAction":"deny","egress":[{"action":"allow","target":"*.ok.example"}]}').policy!, "t", undefined, 0);

/** n entries; every fifth under a name the policy does not allow */
const entries = (n: number): LearnedEntry[] =>
  Array.from({ length: n }, (_, i) => ({ family: 6, address: `2001:db8::${i.toString(16)}`, name: i % 5 ? `n${i}.ok.example` : `n${i}.other.example`, expiresSec: 100 }));

/** the enforcer adopt() sees: its slices come from `deliver`, removals are recorded */
function run(deliver: (onSlice: (e: LearnedEntry[]) => void) => Promise<boolean>) {
  const forgotten: string[] = [];
  const adopted: string[] = [];
  const events: Record<string, unknown>[] = [];
  const base = fakeEnforcer({ forget: (a) => (forgotten.push(...a.map((x) => x.address)), { ok: true }) });
  const enforcer = { ...base, learnedEntries: deliver, adopted: (els: { address: string }[]) => adopted.push(...els.map((e) => e.address)) } as unknown as Enforcer;
  const table = new LearnTable();
  const log = createEventLog({ format: "json", write: (l) => events.push(JSON.parse(l)) });
  const done = adopt(enforcer, table, () => live, log, new PendingRemovals(), 3600);
  return { done, table, forgotten, adopted, events };
}

const turn = () => new Promise<void>((r) => setImmediate(r));

describe("adopt(): slices as the kernel I/O thread hands them over", () => {
  test("back to back, uneven, and while earlier ones are being taken: each element judged once", async () => {
    const all = entries(9_001);
    const r = run(async (onSlice) => {
      // three at once, then one per turn, then two with a turn between: sizes not a multiple of anything
      onSlice(all.slice(0, 2100));
      onSlice(all.slice(2100, 2101));
      onSlice(all.slice(2101, 4500));
      for (let at = 4500; at < 8000; at += 700) {
        await turn();
        onSlice(all.slice(at, Math.min(8000, at + 700)));
      }
      onSlice(all.slice(8000, 9000));
      await turn();
      onSlice(all.slice(9000));
      return true;
    });
    await r.done;
    const denied = all.filter((e) => e.name!.endsWith(".other.example")).map((e) => e.address);
    expect(r.events.find((e) => e.event === "learned.adopted")).toMatchObject({ level: "info", adopted: all.length - denied.length, removed: denied.length });
    expect(r.table.addressCount).toBe(all.length - denied.length);
    expect(r.forgotten.sort()).toEqual(denied.sort());
    expect(new Set(r.adopted).size).toBe(all.length - denied.length);
  });

  test("a read that breaks off: what came is adopted, and the event says incomplete, as a warning", async () => {
    const all = entries(3_000);
    const r = run(async (onSlice) => {
      onSlice(all.slice(0, 2048));
      return false;
    });
    await r.done;
    expect(r.events.find((e) => e.event === "learned.adopted")).toMatchObject({ level: "warn", incomplete: true, adopted: 2048 - 410, removed: 410 });
    // nothing read at all: still said
    const none = run(async () => false);
    await none.done;
    expect(none.events.find((e) => e.event === "learned.adopted")).toMatchObject({ level: "warn", incomplete: true, adopted: 0 });
    // the sets read whole and empty: nothing to say
    const empty = run(async () => true);
    await empty.done;
    expect(empty.events).toEqual([]);
  });
});
