import { expect, test } from "bun:test";
import { explain } from "../../../src/core/policy/explain.ts";
import { loadPolicyText } from "../../../src/core/policy/load.ts";

const policy = loadPolicyText(`defaultAction: deny
egress:
  - { action: deny, target: evil.pypi.org }
  - { action: allow, target: "*.pypi.org" }
  - { action: deny, target: 192.0.2.0/25 }
  - { action: allow, target: 192.0.2.0/24 }
`).policy!;

test("names: the first matching rule, with its line", () => {
  expect(explain(policy, "Files.PyPI.org.")).toEqual({
    query: "files.pypi.org",
    kind: "name",
    action: "allow",
    rule: { index: 1, target: "*.pypi.org", action: "allow", line: 4 },
    reason: "rule egress[1] (allow *.pypi.org, line 4) is the first rule that matches files.pypi.org",
  });
  expect(explain(policy, "evil.pypi.org").rule?.index).toBe(0);
});

test("the apex of a wildcard falls to defaultAction", () => {
  const e = explain(policy, "pypi.org");
  expect(e.action).toBe("deny");
  expect(e.rule).toBeUndefined();
  expect(e.reason).toContain("defaultAction (deny)");
});

test("addresses: a containing deny range, else a containing allow range; outside every range mentions learning", () => {
  expect(explain(policy, "192.0.2.5")).toMatchObject({ kind: "address", action: "deny", rule: { index: 2, line: 5 } });
  expect(explain(policy, "192.0.2.200")).toEqual({
    query: "192.0.2.200",
    kind: "address",
    action: "allow",
    rule: { index: 3, target: "192.0.2.0/24", action: "allow", line: 6 },
    reason: "rule egress[3] (allow 192.0.2.0/24, line 6) contains 192.0.2.200, and no deny rule does",
  });
  expect(explain(policy, "198.51.100.1").reason).toContain("learned from an allowed name");
});

test("addresses: a deny listed after an allow still decides, and the explanation names both", () => {
  const p = loadPolicyText("egress:\n  - { action: allow, target: 198.51.100.0/24 }\n  - { action: deny, target: 198.51.100.20 }\n").policy!;
  expect(explain(p, "198.51.100.20")).toEqual({
    query: "198.51.100.20",
    kind: "address",
    action: "deny",
    rule: { index: 1, target: "198.51.100.20", action: "deny", line: 3 },
    reason: "deny rule egress[1] (deny 198.51.100.20, line 3) contains 198.51.100.20 (egress[0] (allow 198.51.100.0/24, line 2) contains it too, but for addresses a deny rule wins over an allow rule, whatever their order)",
  });
  expect(explain(p, "198.51.100.21")).toMatchObject({ action: "allow", rule: { index: 0 } });
});

test("an invalid name is denied with a reason", () => {
  expect(explain(policy, "a..b")).toMatchObject({ kind: "name", action: "deny" });
});

test("a rule that matches nothing is named beside the name it resembles", () => {
  const p = loadPolicyText('{"defaultAction":"deny","egress":[{"action":"allow","target":"API.example.com:443"}]}', { syntax: "json", profile: "run" }).policy!;
  expect(explain(p, "api.example.com")).toEqual({
    query: "api.example.com",
    kind: "name",
    action: "deny",
    reason: "no rule matches api.example.com, so defaultAction (deny) applies; egress[0] (allow API.example.com:443, line 1) is no name, wildcard or address and matches nothing",
  });
  expect(explain(p, "other.example.com").reason).toBe("no rule matches other.example.com, so defaultAction (deny) applies");
});
