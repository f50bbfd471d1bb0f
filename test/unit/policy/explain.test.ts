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

test("addresses: first containing range; outside every range mentions learning", () => {
  expect(explain(policy, "192.0.2.5")).toMatchObject({ kind: "address", action: "deny", rule: { index: 2, line: 5 } });
  expect(explain(policy, "192.0.2.200")).toMatchObject({ action: "allow", rule: { index: 3 } });
  expect(explain(policy, "198.51.100.1").reason).toContain("learned from an allowed name");
});

test("an invalid name is denied with a reason", () => {
  expect(explain(policy, "a..b")).toMatchObject({ kind: "name", action: "deny" });
});
