// The address guard: which answered addresses may be learned. Explicit deny rules and
// non-public addresses stop learning; an explicit allow rule (with no deny rule over it)
// opens a non-public address; the default action says nothing; EGRESSCTL_PRIVATE_ANSWERS
// =learn turns the non-public check off; trusted names are exempt from it.
import { describe, expect, test } from "bun:test";
import { layeredNames } from "../../../src/core/always/layered.ts";
import { parseAlwaysFile } from "../../../src/core/always/parse.ts";
import { noAlwaysRules } from "../../../src/core/always/types.ts";
import { compileGuard, GUARD_CACHE, trustedName, type GuardContext } from "../../../src/core/learn/guard.ts";
import { compileDomainMatcher } from "../../../src/core/match/domain.ts";
import { compileAddressMatcher } from "../../../src/core/net/intervals.ts";
import { parseAddress } from "../../../src/core/net/ip.ts";
import { NO_LOCAL } from "../../../src/core/net/special.ts";
import { loadPolicyText } from "../../../src/core/policy/load.ts";

function ctx(rules: [string, string][], over: Partial<GuardContext> = {}): GuardContext {
  const { policy } = loadPolicyText(JSON.stringify({ defaultAction: over.defaultAction ?? "deny", egress: rules.map(([action, target]) => ({ action, target })) }));
  return { matchAddress: compileAddressMatcher(policy!), defaultAction: policy!.defaultAction, privateAnswers: "guard", local: NO_LOCAL, ...over };
}
const at = (address: string) => ({ family: (address.includes(":") ? 6 : 4) as 4 | 6, address });

describe("compileGuard", () => {
  test("public addresses are learned; the default action does not matter", () => {
    const g = compileGuard(ctx([]));
    expect(g(at("198.51.100.10"), "a.example")).toEqual({ learn: true });
    expect(g(at("2001:db8:100::10"), "a.example")).toEqual({ learn: true });
  });

  test("an explicit deny rule stops learning (the rebinding guard)", () => {
    const g = compileGuard(ctx([["deny", "203.0.113.96/28"]]));
    expect(g(at("203.0.113.99"), "a.example")).toEqual({ learn: false, why: "deny-rule", rule: "egress[0] deny 203.0.113.96/28" });
    expect(g(at("203.0.113.95"), "a.example").learn).toBe(true);
  });

  test.each(["10.0.0.1", "169.254.169.254", "127.0.0.1", "fd00::1", "::ffff:10.0.0.1", "fe80::1", "100.64.0.1"])("%s: not public, not learned", (a) => {
    const v = compileGuard(ctx([]))(at(a), "a.example");
    expect(v).toMatchObject({ learn: false, why: "non-public" });
  });

  test("only an explicit allow rule covering the address opens it", () => {
    const g = compileGuard(ctx([["allow", "10.1.0.0/16"], ["allow", "fd00::/64"]]));
    expect(g(at("10.1.2.3"), "a.example")).toEqual({ learn: true });
    expect(g(at("fd00::5"), "a.example")).toEqual({ learn: true });
    expect(g(at("10.2.0.1"), "a.example").learn).toBe(false);
  });

  test("an allow rule with a deny rule over the address does not open it", () => {
    // whichever wins in the matcher, a deny verdict never learns
    const g = compileGuard(ctx([["deny", "10.1.2.0/24"], ["allow", "10.1.0.0/16"]]));
    expect(g(at("10.1.2.3"), "a.example")).toMatchObject({ learn: false, why: "deny-rule" });
    expect(g(at("10.1.3.3"), "a.example")).toEqual({ learn: true });
  });

  test("EGRESSCTL_PRIVATE_ANSWERS=learn: non-public addresses are learned, deny rules still stop them", () => {
    const g = compileGuard(ctx([["deny", "10.9.0.0/16"]], { privateAnswers: "learn" }));
    expect(g(at("10.0.0.1"), "a.example")).toEqual({ learn: true });
    expect(g(at("10.9.0.1"), "a.example")).toMatchObject({ learn: false, why: "deny-rule" });
  });

  test("defaultAction allow: the filter opens every address anyway, so the check stays quiet", () => {
    expect(compileGuard(ctx([], { defaultAction: "allow" }))(at("10.0.0.1"), "a.example")).toEqual({ learn: true });
  });

  test("the namespace's own addresses and gateways are not public", () => {
    const local = { 4: new Map([[parseAddress("192.0.2.1")!.value, "gateway via eth0"]]), 6: new Map() };
    const v = compileGuard(ctx([], { local }))(at("192.0.2.1"), "a.example");
    expect(v).toEqual({ learn: false, why: "non-public", reason: "this namespace's own gateway via eth0" });
  });

  test("trusted names are exempt from the non-public check only", () => {
    const g = compileGuard(ctx([["deny", "10.9.0.0/16"]], { trusted: (n) => n === "svc.cluster.local" }));
    expect(g(at("10.0.0.1"), "svc.cluster.local")).toEqual({ learn: true });
    expect(g(at("10.0.0.1"), "other.example")).toMatchObject({ learn: false });
    expect(g(at("10.9.0.1"), "svc.cluster.local")).toMatchObject({ why: "deny-rule" });
  });

  test("verdicts are cached per address, bounded, and stay right after the cache starts over", () => {
    let asked = 0;
    const base = ctx([["deny", "203.0.113.0/24"]]);
    const g = compileGuard({ ...base, matchAddress: (a) => (asked++, base.matchAddress(a)) });
    for (let i = 0; i < 3; i++) {
      expect(g(at("203.0.113.99"), "a").learn).toBe(false);
      expect(g(at("198.51.100.1"), "a").learn).toBe(true);
    }
    expect(asked).toBe(2);
    for (let i = 0; i < GUARD_CACHE + 10; i++) g(at(`198.51.${(i >> 8) & 255}.${i & 255}`), "a");
    expect(g(at("203.0.113.99"), "a").learn).toBe(false);
  });
});

describe("trustedName: the operator's exact allow.always entries, nothing else", () => {
  const always = parseAlwaysFile("collector.observability.svc.cluster.local\n*.svc.cluster.local\n", "allow", "allow.always");
  const deny = parseAlwaysFile("bad.svc.cluster.local\n", "deny", "deny.always");
  const { policy } = loadPolicyText(JSON.stringify({ defaultAction: "deny", egress: [{ action: "allow", target: "mine.example.com" }] }));
  const decide = layeredNames({ ...noAlwaysRules(), allow: always, deny }, compileDomainMatcher(policy!));

  test("an exact allow.always name is trusted", () => {
    expect(trustedName(decide("collector.observability.svc.cluster.local"))).toBe(true);
  });

  test("a name an allow.always wildcard allows is not (anyone able to add records under it would choose)", () => {
    expect(decide("other.svc.cluster.local")).toMatchObject({ action: "allow", layer: "allow.always" });
    expect(trustedName(decide("other.svc.cluster.local"))).toBe(false);
  });

  test("a name the user's policy allows is not, nor a deny.always one", () => {
    expect(decide("mine.example.com")).toMatchObject({ action: "allow", layer: "policy" });
    expect(trustedName(decide("mine.example.com"))).toBe(false);
    expect(trustedName(decide("bad.svc.cluster.local"))).toBe(false);
  });
});
