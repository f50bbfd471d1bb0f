// The always lists: the file format (OpenSandbox's), what a bad line means for each list,
// and the layering over a policy for names and addresses. Table-driven.
import { describe, expect, test } from "bun:test";
import { layeredAddresses, layeredNames, logSkipMatcher } from "../../../src/core/always/layered.ts";
import { parseAlwaysFile, salvage } from "../../../src/core/always/parse.ts";
import { alwaysKey, noAlwaysRules, type AlwaysRules } from "../../../src/core/always/types.ts";
import { ruleText } from "../../../src/core/dns/decide.ts";
import { compileDomainMatcher } from "../../../src/core/match/domain.ts";
import { compileAddressMatcher } from "../../../src/core/net/intervals.ts";
import { parseAddress } from "../../../src/core/net/ip.ts";
import { loadPolicyText } from "../../../src/core/policy/load.ts";
import type { Layer } from "../../../src/core/policy/types.ts";

const always = (deny: string, allow = "", logSkip = ""): AlwaysRules => ({
  dir: "/r",
  deny: parseAlwaysFile(deny, "deny", "/r/deny.always"),
  allow: parseAlwaysFile(allow, "allow", "/r/allow.always"),
  logSkip: parseAlwaysFile(logSkip, "log_skip", "/r/log_skip.always"),
});

describe("the file format", () => {
  test("one target a line; # comments, blank lines, spaces around, CRLF and a BOM are fine", () => {
    const f = parseAlwaysFile("\uFEFF# platform lists\r\n\r\n  Evil.Example.COM.  \r\n*.tracker.example\n203.0.113.0/24\n2001:db8::1\n   # indented comment\n", "deny", "/r/deny.always");
    expect(f.problems).toEqual([]);
    expect(f.rules.map((r) => [r.target, r.kind, r.pos!.line, r.action])).toEqual([
      ["evil.example.com", "exact", 3, "deny"],
      ["*.tracker.example", "wildcard", 4, "deny"],
      ["203.0.113.0/24", "cidr", 5, "deny"],
      ["2001:db8::1", "address", 6, "deny"],
    ]);
    expect(f.rules.map((r) => r.index)).toEqual([0, 1, 2, 3]);
  });

  test("an empty file has no rules and no problems", () => {
    expect(parseAlwaysFile("", "allow", "/r/allow.always")).toEqual({ path: "/r/allow.always", present: true, rules: [], problems: [] });
  });

  // what a line that is no target means, per list: fail towards the safer side
  const cases: [string, string, "deny" | "allow" | "log_skip", string | null, RegExp][] = [
    ["deny: a URL denies its host", "https://user@evil.example.com:8443/path?q", "deny", "evil.example.com", /URL.*denied as "evil.example.com"/],
    ["deny: host:port denies the host", "evil.example.com:443", "deny", "evil.example.com", /port/],
    ["deny: words after the target (an inline comment)", "evil.example.com # tracker", "deny", "evil.example.com", /whitespace/],
    ["deny: [v6]:port", "[2001:db8::66]:443", "deny", "2001:db8::66", /brackets/],
    ["deny: a bad prefix length denies the address", "203.0.113.9/33", "deny", "203.0.113.9", /prefix/],
    ["deny: a wildcard with a port", "*.evil.example.com:443", "deny", "*.evil.example.com", /port/],
    ["deny: nothing recognisable is skipped", "*evil*", "deny", null, /skipped/],
    ["allow: a URL is skipped (allowing less is safe)", "https://mirror.example.com/", "allow", null, /URL.*skipped/],
    ["allow: host:port is skipped", "mirror.example.com:443", "allow", null, /port.*skipped/],
    ["log_skip: an address is not a name pattern", "198.51.100.1", "log_skip", null, /name patterns only/],
    ["log_skip: a bad name is skipped", "a..b", "log_skip", null, /skipped/],
  ];
  for (const [what, line, list, readAs, msg] of cases) {
    test(what, () => {
      const f = parseAlwaysFile(`ok.example.com\n${line}\n`, list, `/r/${list}.always`);
      expect(f.problems).toHaveLength(1);
      const p = f.problems[0]!;
      expect(p).toMatchObject({ file: `/r/${list}.always`, line: 2, text: line });
      expect(p.message).toMatch(msg);
      expect(p.readAs).toBe(readAs ?? undefined);
      expect(f.rules.map((r) => r.target)).toEqual(readAs ? ["ok.example.com", readAs] : ["ok.example.com"]);
    });
  }

  test("salvage: the host a mistyped line names, or null", () => {
    const cases: [string, string | null][] = [
      ["http://a.example.com/x", "a.example.com"],
      ["a.example.com/x", "a.example.com"],
      ["a.example.com:80", "a.example.com"],
      ["[2001:db8::1]:53", "2001:db8::1"],
      ["fe80::1%eth0", "fe80::1"],
      ["a.example.com", null],
      ["", null],
    ];
    for (const [line, want] of cases) expect(salvage(line)).toBe(want);
  });

  test("alwaysKey: comments, spelling and line order within nothing else matter", () => {
    expect(alwaysKey(always("# x\nEvil.example.com.\n"))).toBe(alwaysKey(always("evil.example.com")));
    expect(alwaysKey(always("a.example.com"))).not.toBe(alwaysKey(always("", "a.example.com")));
  });
});

describe("names: deny.always, then allow.always, then the policy", () => {
  const policy = loadPolicyText(`defaultAction: deny
egress:
  - { action: allow, target: "*.example.com" }
  - { action: deny, target: blocked.example.org }
`).policy!;
  const decide = layeredNames(always("evil.example.com\n*.tracker.example.com\n", "blocked.example.org\n*.mirror.example.net\nevil.example.com\n"), compileDomainMatcher(policy));
  const cases: [string, "allow" | "deny", Layer, string][] = [
    ["evil.example.com", "deny", "deny.always", "deny.always line 1 evil.example.com"], // deny.always beats the policy and allow.always
    ["a.tracker.example.com", "deny", "deny.always", "deny.always line 2 *.tracker.example.com"],
    ["blocked.example.org", "allow", "allow.always", "allow.always line 1 blocked.example.org"], // allow.always beats the policy's deny
    ["x.mirror.example.net", "allow", "allow.always", "allow.always line 2 *.mirror.example.net"], // and its default deny
    ["api.example.com", "allow", "policy", "rule egress[0] allow *.example.com"],
    ["other.example.org", "deny", "policy", "default deny"],
  ];
  for (const [name, action, layer, text] of cases) {
    test(`${name}: ${action} by ${layer}`, () => {
      const d = decide(name);
      expect([d.action, d.layer, ruleText(d)]).toEqual([action, layer, text]);
    });
  }
  test("without always rules the policy's own matcher is used as is", () => {
    const m = compileDomainMatcher(policy);
    expect(layeredNames(noAlwaysRules(), m)).toBe(m);
  });
});

describe("addresses: deny wins, as in OpenSandbox's ruleset", () => {
  const policy = loadPolicyText(`defaultAction: deny
egress:
  - { action: deny, target: 198.51.100.0/25 }
  - { action: allow, target: 203.0.113.0/24 }
`).policy!;
  const m = layeredAddresses(always("203.0.113.66\n2001:db8::/32\n", "198.51.100.7\n198.51.100.200\n192.0.2.9\n"), compileAddressMatcher(policy));
  const cases: [string, "allow" | "deny", Layer, boolean][] = [
    ["203.0.113.66", "deny", "deny.always", true], // deny.always beats the policy's allow
    ["2001:db8::5", "deny", "deny.always", true],
    ["198.51.100.7", "deny", "policy", true], // the policy's deny CIDR beats allow.always
    ["198.51.100.200", "allow", "allow.always", true], // allow.always beats the default
    ["192.0.2.9", "allow", "allow.always", true],
    ["203.0.113.5", "allow", "policy", true],
    ["192.0.2.10", "deny", "policy", false], // the default: no rule
  ];
  for (const [a, action, layer, ruled] of cases) {
    test(`${a}: ${action} by ${layer}`, () => {
      const d = m(parseAddress(a)!);
      expect([d.action, d.layer, d.rule !== undefined]).toEqual([action, layer, ruled]);
      expect(m(parseAddress(a)!)).toBe(d); // built once
    });
  }
});

describe("log_skip.always", () => {
  test("name patterns as in the policy: exact, and *. for names below", () => {
    const skip = logSkipMatcher(always("", "", "noisy.example.com\n*.telemetry.example\n"));
    expect(["noisy.example.com", "a.b.telemetry.example", "telemetry.example", "other.example.com"].map(skip)).toEqual([true, true, false, false]);
    expect(logSkipMatcher(noAlwaysRules())("noisy.example.com")).toBe(false);
  });
});
