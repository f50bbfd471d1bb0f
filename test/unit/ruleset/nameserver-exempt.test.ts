// OPENSANDBOX_EGRESS_NAMESERVER_EXEMPT: parsed like the other address lists; planned as a
// return before the redirect and an accept (port 53 only) before the deny sets; rendered
// for the iptables fallback too. The lab test (test/integration/serve/
// nameserver-exempt.test.ts) shows the kernel doing what these rules say.
import { describe, expect, test } from "bun:test";
import { renderIptablesRedirect } from "../../../src/core/ruleset/iptables-redirect.ts";
import { exemptMatcher, exemptUpstream, nameserverExempt } from "../../../src/core/ruleset/nameserver-exempt.ts";
import { CHAIN_FILTER, CHAIN_GUARD, CHAIN_NAT } from "../../../src/core/ruleset/names.ts";
import { planRuleset } from "../../../src/core/ruleset/plan.ts";
import { env, policy } from "./env.ts";

const P = policy("defaultAction: deny\negress:\n  - {action: deny, target: 198.51.100.0/24}\n");
const texts = (r: ReturnType<typeof planRuleset>, chain: string) => r.chains.find((c) => c.name === chain)!.rules.map((x) => x.text);

describe("nameserverExempt", () => {
  test("single addresses per family (a full-length prefix is one); names and ranges are problems; unset or empty is no exemption", () => {
    const r = nameserverExempt(" 198.51.100.54, 2001:db8:100::54,,resolver.example, 203.0.113.0/28, 203.0.113.9/32, 2001:db8::/64");
    expect(r.list).toEqual({ 4: ["198.51.100.54/32", "203.0.113.9/32"], 6: ["2001:db8:100::54/128"] });
    expect(r.problems).toEqual([
      "OPENSANDBOX_EGRESS_NAMESERVER_EXEMPT entry 'resolver.example' is not an IP address",
      "OPENSANDBOX_EGRESS_NAMESERVER_EXEMPT entry '203.0.113.0/28' is a range; name single resolver addresses (a range would exempt DNS to every host in it)",
      "OPENSANDBOX_EGRESS_NAMESERVER_EXEMPT entry '2001:db8::/64' is a range; name single resolver addresses (a range would exempt DNS to every host in it)",
    ]);
    expect(nameserverExempt(undefined)).toEqual({ list: { 4: [], 6: [] }, problems: [] });
    expect(nameserverExempt("")).toEqual({ list: { 4: [], 6: [] }, problems: [] });
  });
});

test("exemptMatcher compares addresses, not their spelling", () => {
  const { list } = nameserverExempt("198.51.100.54,2001:db8:100::54");
  const is = exemptMatcher([...list[4], ...list[6]]);
  expect([is("198.51.100.54"), is("2001:db8:100:0:0:0:0:54"), is("198.51.100.55"), is("nonsense")]).toEqual([true, true, false, false]);
});

test("exemptUpstream: only on port 53, where the ruleset lets exempt DNS out", () => {
  const is = exemptMatcher(["198.51.100.54/32"]);
  expect(exemptUpstream(is, { address: "198.51.100.54", port: 53 })).toBe(true);
  expect(exemptUpstream(is, { address: "198.51.100.54", port: 5353 })).toBe(false);
  expect(exemptUpstream(is, { address: "198.51.100.53", port: 53 })).toBe(false);
});

describe("planned rules", () => {
  const exempt = nameserverExempt("198.51.100.54,198.51.100.55,2001:db8:100::54").list;

  test("nat: returned before the redirect, UDP and TCP, merged per family", () => {
    const nat = texts(planRuleset(P, env({ nameserverExempt: exempt })), CHAIN_NAT);
    const v4 = nat.indexOf("ip daddr { 198.51.100.54/31 } meta l4proto { tcp, udp } th dport 53 return");
    const v6 = nat.indexOf("ip6 daddr { 2001:db8:100::54 } meta l4proto { tcp, udp } th dport 53 return");
    const redirect = nat.findIndex((t) => t.startsWith("udp dport 53 redirect"));
    expect(v4).toBeGreaterThan(-1);
    expect(v6).toBeGreaterThan(v4);
    expect(redirect).toBeGreaterThan(v6);
  });

  test("filter: port 53 only, after the proxy's marked queries, before the deny sets that would cut it", () => {
    const out = texts(planRuleset(P, env({ nameserverExempt: exempt })), CHAIN_FILTER);
    const accept = out.indexOf("ip daddr { 198.51.100.54/31 } meta l4proto { tcp, udp } th dport 53 accept");
    expect(accept).toBeGreaterThan(out.findIndex((t) => t.startsWith("meta mark")));
    expect(accept).toBeLessThan(out.findIndex((t) => t.startsWith("ip daddr @deny4")));
    expect(out.filter((t) => t.includes("198.51.100.54"))).toHaveLength(1);
  });

  test("dns-only: the nat exemption, and the DNS guard lets them out before it denies unmarked DNS (there is no filter)", () => {
    const r = planRuleset(P, env({ mode: "dns-only", nameserverExempt: exempt }));
    expect(r.chains.some((c) => c.name === CHAIN_FILTER)).toBe(false);
    expect(texts(r, CHAIN_NAT).filter((t) => t.endsWith("return"))).toHaveLength(3);
    const guard = texts(r, CHAIN_GUARD);
    const accept = guard.indexOf("ip daddr { 198.51.100.54/31 } meta l4proto { tcp, udp } th dport 53 accept");
    expect(accept).toBeGreaterThan(-1);
    expect(accept).toBeLessThan(guard.findIndex((t) => t.includes("goto deny_dns")));
  });

  test("no exemption: no rule mentions one", () => {
    const r = planRuleset(P, env());
    expect(r.chains.flatMap((c) => c.rules.map((x) => x.text)).filter((t) => t.includes("daddr {"))).toEqual([]);
  });
});

describe("iptables fallback", () => {
  test("RETURN for each exempt server and protocol, after the mark and before the REDIRECT", () => {
    const lines = renderIptablesRedirect(4, 15353, new Set(), ["198.51.100.54/32"]).split("\n");
    const udp = lines.indexOf("-A EGRESSCTL-DNS -d 198.51.100.54/32 -p udp --dport 53 -j RETURN");
    const tcp = lines.indexOf("-A EGRESSCTL-DNS -d 198.51.100.54/32 -p tcp --dport 53 -j RETURN");
    expect(udp).toBeGreaterThan(lines.findIndex((l) => l.includes("--mark")));
    expect(tcp).toBe(udp + 1);
    expect(lines.findIndex((l) => l.includes("REDIRECT"))).toBeGreaterThan(tcp);
    expect(renderIptablesRedirect(4, 15353, new Set()).split("\n").filter((l) => l.includes("--dport 53 -j RETURN"))).toEqual([]);
  });

  test("the proxy's queries and their answers untracked in raw, each chain hooked once", () => {
    const all = renderIptablesRedirect(4, 15353, new Set()).split("\n");
    expect(all.slice(all.indexOf("*raw"), all.indexOf("*filter"))).toEqual([
      "*raw",
      ":EGRESSCTL-NOTRACK-OUT - [0:0]",
      ":EGRESSCTL-NOTRACK-IN - [0:0]",
      "-A EGRESSCTL-NOTRACK-OUT -m mark --mark 0x45474c -p udp --dport 53 -j CT --notrack",
      "-A EGRESSCTL-NOTRACK-OUT -m mark --mark 0x45474c -p tcp --dport 53 -j CT --notrack",
      "-A EGRESSCTL-NOTRACK-IN -p udp --sport 53 -j CT --notrack",
      "-A EGRESSCTL-NOTRACK-IN -p tcp --sport 53 -j CT --notrack",
      "-I OUTPUT 1 -j EGRESSCTL-NOTRACK-OUT",
      "-I PREROUTING 1 -j EGRESSCTL-NOTRACK-IN",
      "COMMIT",
    ]);
    expect(all).toContain("-I OUTPUT 1 -j EGRESSCTL-DNS");
    const hooked = renderIptablesRedirect(4, 15353, new Set(["EGRESSCTL-DNS", "EGRESSCTL-NOTRACK-IN", "EGRESSCTL-NOTRACK-OUT", "EGRESSCTL-DNS-GUARD"] as const));
    expect(hooked).not.toContain("-I ");
  });

  test("the DNS guard in filter: loopback, the proxy's mark and exempt servers pass; every other port-53 packet is dropped", () => {
    const all = renderIptablesRedirect(4, 15353, new Set(), ["198.51.100.54/32"]).split("\n");
    expect(all.slice(all.indexOf("*filter"))).toEqual([
      "*filter",
      ":EGRESSCTL-DNS-GUARD - [0:0]",
      "-A EGRESSCTL-DNS-GUARD -o lo -j RETURN",
      "-A EGRESSCTL-DNS-GUARD -d 127.0.0.0/8 -j RETURN",
      "-A EGRESSCTL-DNS-GUARD -m mark --mark 0x45474c -j RETURN",
      "-A EGRESSCTL-DNS-GUARD -d 198.51.100.54/32 -p udp --dport 53 -j RETURN",
      "-A EGRESSCTL-DNS-GUARD -d 198.51.100.54/32 -p tcp --dport 53 -j RETURN",
      "-A EGRESSCTL-DNS-GUARD -p udp --dport 53 -j DROP",
      "-A EGRESSCTL-DNS-GUARD -p tcp --dport 53 -j DROP",
      "-I OUTPUT 1 -j EGRESSCTL-DNS-GUARD",
      "COMMIT",
      "",
    ]);
    expect(renderIptablesRedirect(6, 15353, new Set())).toContain("-A EGRESSCTL-DNS-GUARD -d ::1/128 -j RETURN");
  });
});
