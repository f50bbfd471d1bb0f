import { describe, expect, test } from "bun:test";
import { compileAddressMatcher, lookupAddress, resolveIntervals } from "../../../src/core/net/intervals.ts";
import { cidrRange, formatAddress, parseAddress, type Family, type Range } from "../../../src/core/net/ip.ts";
import type { Action, IntervalSets, Policy } from "../../../src/core/policy/types.ts";
import { lintAddresses } from "../../../src/core/policy/lint-addresses.ts";
import { int, pick, policyOf, prng } from "./random.ts";

/** The contract read literally: the first address rule containing the address decides. */
function reference(p: Policy, family: Family, v: bigint): { action: Action; index?: number } {
  for (const r of p.rules) {
    if (!r.cidr || r.cidr.family !== family) continue;
    const { start, end } = cidrRange(r.cidr);
    if (v >= start && v <= end) return { action: r.action, index: r.index };
  }
  return { action: p.defaultAction };
}

const inSet = (rs: Range[], v: bigint) => rs.some((r) => v >= r.start && v <= r.end);

function expectWellFormed(sets: IntervalSets) {
  for (const f of [4, 6] as const) {
    for (const list of [sets[f].allow, sets[f].deny]) {
      for (let i = 1; i < list.length; i++) {
        // sorted, disjoint and coalesced: a gap of at least one address between ranges
        expect(list[i - 1]!.end + 1n < list[i]!.start).toBe(true);
      }
    }
    const all = [...sets[f].allow, ...sets[f].deny].sort((a, b) => (a.start < b.start ? -1 : 1));
    for (let i = 1; i < all.length; i++) expect(all[i - 1]!.end < all[i]!.start).toBe(true);
  }
}

describe("resolveIntervals", () => {
  test("an earlier deny stays deny under a later, wider allow", () => {
    const p = policyOf([["deny", "10.1.0.0/16"], ["allow", "10.0.0.0/8"], ["allow", "2001:db8::/32"], ["deny", "2001:db8::1"]]);
    const s = resolveIntervals(p.rules);
    const v4 = (a: string) => parseAddress(a)!.value;
    expect(s[4].deny).toEqual([{ start: v4("10.1.0.0"), end: v4("10.1.255.255") }]);
    expect(s[4].allow).toEqual([{ start: v4("10.0.0.0"), end: v4("10.0.255.255") }, { start: v4("10.2.0.0"), end: v4("10.255.255.255") }]);
    expect(s[6].deny).toEqual([]);
    expect(s[6].allow.length).toBe(1);
  });

  test("adjacent ranges of one action coalesce", () => {
    const s = resolveIntervals(policyOf([["allow", "10.0.0.0/25"], ["allow", "10.0.0.128/25"]]).rules);
    expect(s[4].allow.map((r) => [formatAddress(4, r.start), formatAddress(4, r.end)])).toEqual([["10.0.0.0", "10.0.0.255"]]);
  });

  test("0.0.0.0/0 and ::/0 reach the top of the space", () => {
    const s = resolveIntervals(policyOf([["deny", "0.0.0.0/0"], ["deny", "::/0"]]).rules);
    expect(s[4].deny).toEqual([{ start: 0n, end: (1n << 32n) - 1n }]);
    expect(s[6].deny).toEqual([{ start: 0n, end: (1n << 128n) - 1n }]);
  });
});

describe("address matcher and intervals against the linear reference (seeded)", () => {
  // Small spaces (a /24 and a /120) so random rules overlap a lot; every address is checked.
  const spaces: [Family, string, number][] = [[4, "192.0.2.", 24], [6, "2001:db8::", 120]];
  for (const seed of [7, 8, 9, 10, 11, 12, 13, 14, 15, 16]) {
    test(`seed ${seed}: 200 policies, every address of both families`, () => {
      const rnd = prng(seed);
      for (let round = 0; round < 200; round++) {
        const targets: [Action, string][] = Array.from({ length: int(rnd, 0, 12) }, () => {
          const [family, base, minPrefix] = pick(rnd, spaces);
          const bits = family === 4 ? 32 : 128;
          const prefix = int(rnd, minPrefix, bits);
          const host = family === 4 ? String(int(rnd, 0, 255)) : int(rnd, 0, 255).toString(16);
          return [pick(rnd, ["allow", "deny"] as const), rnd() < 0.2 ? `${base}${host}` : `${base}${host}/${prefix}`];
        });
        const p = policyOf(targets, pick(rnd, ["allow", "deny"] as const));
        const m = compileAddressMatcher(p);
        const sets = resolveIntervals(p.rules);
        expectWellFormed(sets);
        const deciding = new Set<number>();
        for (const [family, base] of spaces) {
          const first = parseAddress(`${base}0`)!.value;
          for (let i = 0n; i < 256n; i++) {
            const v = first + i;
            const want = reference(p, family, v);
            if (want.index !== undefined) deciding.add(want.index);
            const got = m({ family, value: v });
            const text = formatAddress(family, v);
            if (got.action !== want.action || got.rule?.index !== want.index) {
              throw new Error(`seed ${seed} round ${round}: ${text} got ${got.action}#${got.rule?.index} want ${want.action}#${want.index}\n${JSON.stringify(targets)}`);
            }
            const slow = lookupAddress(p, text);
            expect(slow.rule?.index).toBe(want.index);
            const set = want.index === undefined ? "none" : want.action;
            const actual = inSet(sets[family].allow, v) ? "allow" : inSet(sets[family].deny, v) ? "deny" : "none";
            if (actual !== set) throw new Error(`seed ${seed} round ${round}: ${text} in ${actual} want ${set}\n${JSON.stringify(targets)}`);
          }
        }
        // shadow/duplicate warnings name exactly the rules that decide no address
        const warned = new Set(lintAddresses(p.rules).filter((w) => w.code === "shadowed" || w.code === "duplicate").map((w) => Number(/\[(\d+)\]/.exec(w.path)![1])));
        for (const r of p.rules) expect(`${r.index}:${warned.has(r.index)}`).toBe(`${r.index}:${!deciding.has(r.index)}`);
      }
    });
  }
});
