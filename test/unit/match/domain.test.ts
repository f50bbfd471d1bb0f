import { describe, expect, test } from "bun:test";
import { compileDomainMatcher, normaliseName } from "../../../src/core/match/domain.ts";
import type { Action, Decision, Policy } from "../../../src/core/policy/types.ts";
import { int, pick, policyOf, prng } from "./random.ts";

/** docs/policy.md's decision rule read literally: scan the rules in order, first match decides. */
function reference(p: Policy, name: string): Decision {
  for (const r of p.rules) {
    if (r.kind === "exact" && r.name === name) return { action: r.action, rule: r, layer: "policy" };
    if (r.kind === "wildcard" && name.endsWith(`.${r.name}`)) return { action: r.action, rule: r, layer: "policy" };
  }
  return { action: p.defaultAction, layer: "policy" };
}

describe("compileDomainMatcher", () => {
  const p = policyOf([
    ["deny", "evil.pypi.org"],
    ["allow", "*.pypi.org"],
    ["allow", "pypi.org"],
    ["allow", "api.github.com"],
    ["deny", "*.internal.example"],
    ["allow", "ok.internal.example"],
  ]);
  const m = compileDomainMatcher(p);
  test.each([
    ["evil.pypi.org", "deny", 0],
    ["files.pypi.org", "allow", 1],
    ["a.b.c.pypi.org", "allow", 1],
    ["pypi.org", "allow", 2],
    ["xpypi.org", "deny", undefined],
    ["api.github.com", "allow", 3],
    ["github.com", "deny", undefined],
    ["ok.internal.example", "deny", 4],
    ["internal.example", "deny", undefined],
  ] as [string, Action, number | undefined][])("%s -> %s by rule %p", (name, action, index) => {
    const d = m(name);
    expect(d.action).toBe(action);
    expect(d.rule?.index).toBe(index);
  });

  test("returns the same Decision object for repeated queries", () => {
    expect(m("files.pypi.org")).toBe(m("other.pypi.org"));
    expect(m("nothing.test")).toBe(m("else.test"));
  });

  test("defaultAction allow with no rules allows", () => {
    expect(compileDomainMatcher(policyOf([], "allow"))("x.y").action).toBe("allow");
  });
});

describe("compileDomainMatcher against the linear reference (seeded)", () => {
  const labels = ["a", "b", "c", "dd", "e-1"];
  const name = (rnd: () => number, depth: number) => Array.from({ length: depth }, () => pick(rnd, labels)).join(".");
  for (const seed of [1, 2, 3, 42, 1234, 98765, 31337, 2024]) {
    test(`seed ${seed}: 400 policies x 50 queries`, () => {
      const rnd = prng(seed);
      for (let round = 0; round < 400; round++) {
        const targets: [Action, string][] = Array.from({ length: int(rnd, 0, 25) }, () => {
          const n = name(rnd, int(rnd, 1, 4));
          return [pick(rnd, ["allow", "deny"] as const), rnd() < 0.5 ? `*.${n}` : n];
        });
        const p = policyOf(targets, pick(rnd, ["allow", "deny"] as const));
        const m = compileDomainMatcher(p);
        for (let q = 0; q < 50; q++) {
          const qn = name(rnd, int(rnd, 1, 6));
          const want = reference(p, qn);
          const got = m(qn);
          if (got.action !== want.action || got.rule?.index !== want.rule?.index) {
            throw new Error(`seed ${seed} round ${round}: ${qn} got ${got.action}#${got.rule?.index} want ${want.action}#${want.rule?.index}\n${JSON.stringify(targets)}`);
          }
        }
      }
    });
  }
});

describe("normaliseName", () => {
  test.each([
    ["API.GitHub.com.", "api.github.com"],
    ["bücher.de", "xn--bcher-kva.de"],
    ["_acme-challenge.example.com", "_acme-challenge.example.com"],
    ["a..b", null],
    ["", null],
    [".", null],
    ["a b.com", null],
    ["x".repeat(64) + ".com", null],
    [Array(127).fill("a").join("."), Array(127).fill("a").join(".")],
    [Array(128).fill("a").join("."), null],
  ] as [string, string | null][])("%p -> %p", (input, want) => {
    expect(normaliseName(input)).toBe(want);
  });
});
