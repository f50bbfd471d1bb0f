import { describe, expect, test } from "bun:test";
import { compileAddressMatcher, lookupAddress, resolveIntervals } from "../../../src/core/net/intervals.ts";
import { formatAddress, parseAddress, type Family, type Range } from "../../../src/core/net/ip.ts";
import type { Action, IntervalSets, Policy, Rule } from "../../../src/core/policy/types.ts";
import { lintAddresses } from "../../../src/core/policy/lint-addresses.ts";
import { int, pick, policyOf, prng } from "./random.ts";

/**
 * The rule read literally, written apart from the engine: collect every address rule that
 * contains the address; if any is a deny, the first such deny decides; else the first
 * allow; else defaultAction.
 */
function reference(p: Policy, family: Family, v: bigint): { action: Action; index?: number } {
  const containing = p.rules.filter((r) => r.cidr?.family === family && contains(r, v));
  const denies = containing.filter((r) => r.action === "deny");
  const decider = denies[0] ?? containing[0];
  return decider ? { action: decider.action, index: decider.index } : { action: p.defaultAction };
}

function contains(r: Rule, v: bigint): boolean {
  const size = 1n << BigInt((r.cidr!.family === 4 ? 32 : 128) - r.cidr!.prefix);
  const first = (r.cidr!.network / size) * size;
  return v >= first && v < first + size;
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

describe("resolveIntervals: deny wins, whatever the order", () => {
  const v4 = (a: string) => parseAddress(a)!.value;
  const v6 = (a: string) => parseAddress(a)!.value;
  test("a deny inside a wider allow is cut out of it, listed before or after", () => {
    for (const p of [
      policyOf([["deny", "10.1.0.0/16"], ["allow", "10.0.0.0/8"], ["allow", "2001:db8::/32"], ["deny", "2001:db8::1"]]),
      policyOf([["allow", "10.0.0.0/8"], ["deny", "10.1.0.0/16"], ["deny", "2001:db8::1"], ["allow", "2001:db8::/32"]]),
    ]) {
      const s = resolveIntervals(p.rules);
      expect(s[4].deny).toEqual([{ start: v4("10.1.0.0"), end: v4("10.1.255.255") }]);
      expect(s[4].allow).toEqual([{ start: v4("10.0.0.0"), end: v4("10.0.255.255") }, { start: v4("10.2.0.0"), end: v4("10.255.255.255") }]);
      expect(s[6].deny).toEqual([{ start: v6("2001:db8::1"), end: v6("2001:db8::1") }]);
      expect(s[6].allow).toEqual([{ start: v6("2001:db8::"), end: v6("2001:db8::") }, { start: v6("2001:db8::2"), end: v6("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff") }]);
    }
  });

  test("the issue's example: allow 198.51.100.0/24 then deny 198.51.100.20", () => {
    const p = policyOf([["allow", "198.51.100.0/24"], ["deny", "198.51.100.20"]]);
    const m = compileAddressMatcher(p);
    expect(m(parseAddress("198.51.100.20")!)).toMatchObject({ action: "deny", rule: { index: 1 } });
    expect(m(parseAddress("198.51.100.21")!)).toMatchObject({ action: "allow", rule: { index: 0 } });
    expect(lookupAddress(p, "198.51.100.20")).toMatchObject({ action: "deny", rule: { index: 1 } });
    expect(resolveIntervals(p.rules)[4].deny).toEqual([{ start: v4("198.51.100.20"), end: v4("198.51.100.20") }]);
  });

  test("a wider deny takes everything an allow inside it would give", () => {
    const p = policyOf([["allow", "192.0.2.10"], ["deny", "192.0.2.0/24"]], "allow");
    expect(compileAddressMatcher(p)(parseAddress("192.0.2.10")!)).toMatchObject({ action: "deny", rule: { index: 1 } });
    expect(resolveIntervals(p.rules)[4].allow).toEqual([]);
  });

  test("of several rules containing an address, the first deny names the decision, else the first allow", () => {
    const p = policyOf([["allow", "192.0.2.0/24"], ["allow", "192.0.2.0/25"], ["deny", "192.0.2.0/26"], ["deny", "192.0.2.0/27"]]);
    const m = compileAddressMatcher(p);
    expect(m(parseAddress("192.0.2.1")!).rule?.index).toBe(2);
    expect(m(parseAddress("192.0.2.100")!).rule?.index).toBe(0);
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
        // allow rules some address of which no deny rule contains
        const reachable = new Set<number>();
        for (const [family, base] of spaces) {
          const first = parseAddress(`${base}0`)!.value;
          for (let i = 0n; i < 256n; i++) {
            const v = first + i;
            const want = reference(p, family, v);
            if (want.index !== undefined) deciding.add(want.index);
            if (want.action !== "deny" || want.index === undefined) for (const r of p.rules) if (r.action === "allow" && r.cidr?.family === family && contains(r, v)) reachable.add(r.index);
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
        const warnings = lintAddresses(p.rules);
        const at = (code: string, text = "") => new Set(warnings.filter((w) => (code === "" || w.code === code) && w.message.includes(text)).map((w) => Number(/\[(\d+)\]/.exec(w.path)![1])));
        // shadow/duplicate warnings name exactly the rules that decide no address
        const warned = new Set([...at("shadowed"), ...at("duplicate")]);
        for (const r of p.rules) expect(`${r.index}:${warned.has(r.index)}`).toBe(`${r.index}:${!deciding.has(r.index)}`);
        // "never takes effect" exactly for the allow rules every address of which a deny rule
        // contains (a plain duplicate of such a rule is reported as its duplicate only)
        const never = at("", "never takes effect");
        const plainDuplicate = new Set([...at("duplicate")].filter((i) => !never.has(i)));
        for (const r of p.rules.filter((r) => !plainDuplicate.has(r.index))) {
          if (never.has(r.index) !== (r.action === "allow" && !reachable.has(r.index))) throw new Error(`seed ${seed} round ${round}: egress[${r.index}] never=${never.has(r.index)}\n${JSON.stringify(targets)}\n${JSON.stringify(lintAddresses(p.rules).map((w) => w.message))}`);
        }
      }
    });
  }
});
