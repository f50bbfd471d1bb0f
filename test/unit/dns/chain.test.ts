// Judging a CNAME/DNAME chain: the first link an explicit deny rule covers denies the
// answer; links that fall to the default action (CDN names) do not.
import { expect, test } from "bun:test";
import { chainEde, judgeChain } from "../../../src/core/dns/chain.ts";
import { compileDomainMatcher } from "../../../src/core/match/domain.ts";
import { loadPolicyText } from "../../../src/core/policy/load.ts";

const matcher = (defaultAction: string, rules: [string, string][]) =>
  compileDomainMatcher(loadPolicyText(JSON.stringify({ defaultAction, egress: rules.map(([action, target]) => ({ action, target })) })).policy!);
const decide = matcher("deny", [["allow", "cn.example.com"], ["deny", "denied.example.com"], ["deny", "*.evil.example.net"]]);

test("an explicit deny on a link denies, naming the first such link", () => {
  const d = judgeChain(["cn.example.com", "cdn.example.org", "denied.example.com", "x.evil.example.net"], decide);
  expect(d).toMatchObject({ link: "denied.example.com", rule: "rule egress[1] deny denied.example.com" });
  expect(chainEde(d!, "cn.example.com")).toBe("blocked by egressctl rule egress[1] deny denied.example.com: denied.example.com is in the CNAME/DNAME chain of cn.example.com");
});

test("a wildcard deny covers a DNAME-substituted name", () => {
  expect(judgeChain(["x.d.example.com", "d.example.com", "evil.example.net", "x.evil.example.net"], decide)?.link).toBe("x.evil.example.net");
});

test("links that only fall to the default action do not deny, under either default", () => {
  expect(judgeChain(["cn.example.com", "edge.cdn.example.org", "a.b.cdn.example.org"], decide)).toBeNull();
  expect(judgeChain(["cn.example.com", "edge.cdn.example.org"], matcher("allow", [["allow", "cn.example.com"]]))).toBeNull();
});

test("the query name itself is not judged again", () => {
  expect(judgeChain(["denied.example.com"], decide)).toBeNull();
});
