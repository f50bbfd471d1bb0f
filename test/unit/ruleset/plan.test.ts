// The planner's decisions: which chains and sets exist per mode, and the rule order that
// carries the security argument (routing headers before anything, unmarked DNS denied in
// any conntrack state, flows from outside judged before established ones are accepted,
// deny CIDRs before learned IPs, DoT before static allows, static allows before the DoH
// block, DoH before learned, the default verdict last).
import { describe, expect, test } from "bun:test";
import { parseUpstreamList } from "../../../src/core/dns/upstreams.ts";
import { planRuleset } from "../../../src/core/ruleset/plan.ts";
import { CHAIN_DENY, CHAIN_FILTER, CHAIN_GUARD, CHAIN_NAT, CHAIN_NOTRACK_IN, CHAIN_NOTRACK_OUT, DENIAL_REASON_NAMES, EXEMPT_MARK, denialChain } from "../../../src/core/ruleset/names.ts";
import { parseInboundFrom, type InboundFrom } from "../../../src/core/ruleset/inbound.ts";
import { env, policy } from "./env.ts";

const P = policy("defaultAction: deny\negress:\n  - {action: deny, target: 198.51.100.0/25}\n  - {action: allow, target: 198.51.100.0/24}\n");
const filter = (r: ReturnType<typeof planRuleset>) => r.chains.find((c) => c.name === CHAIN_FILTER)!;
const chain = (r: ReturnType<typeof planRuleset>, name: string) => r.chains.find((c) => c.name === name)!.rules.map((x) => x.text);
const inbound = (spec: string) => parseInboundFrom(spec) as InboundFrom;
const idx = (texts: string[], re: RegExp) => texts.findIndex((t) => re.test(t));

describe("planRuleset", () => {
  test("dns-only: the redirect and the DNS guard, no filter; only the upstream sets", () => {
    const r = planRuleset(P, env({ mode: "dns-only" }));
    expect(r.chains.map((c) => c.name)).toEqual([CHAIN_DENY, denialChain("dns"), CHAIN_GUARD, CHAIN_NOTRACK_OUT, CHAIN_NOTRACK_IN, CHAIN_NAT]);
    expect(r.chains.find((c) => c.name === CHAIN_GUARD)!.base).toMatchObject({ type: "filter", hook: "output", policy: "accept" });
    expect(r.sets.map((s) => s.name)).toEqual(["upstreams4", "upstreams6"]);
  });

  test("the proxy's own DNS flows are untracked, out by its mark and back from the upstreams' ports, in every mode", () => {
    for (const mode of ["dns-only", "dns+nftables"] as const) {
      const upstreams = parseUpstreamList("198.51.100.53, [2001:db8::53]:5353").upstreams;
      const r = planRuleset(P, env({ mode, upstreams }));
      const out = r.chains.find((c) => c.name === CHAIN_NOTRACK_OUT)!;
      const back = r.chains.find((c) => c.name === CHAIN_NOTRACK_IN)!;
      // before conntrack (-200), so no flow entry is ever made for them
      expect(out.base).toEqual({ type: "filter", hook: "output", priority: -300, policy: "accept" });
      expect(back.base).toEqual({ type: "filter", hook: "prerouting", priority: -300, policy: "accept" });
      expect(out.rules.map((x) => x.text)).toEqual([`meta mark 0x${EXEMPT_MARK.toString(16).padStart(8, "0")} meta l4proto { tcp, udp } th dport { 53, 5353 } notrack`]);
      // answers from the upstreams serve names, their own port each
      expect(back.rules.map((x) => x.text)).toEqual([
        "ip saddr 198.51.100.53 meta l4proto { tcp, udp } th sport 53 notrack",
        "ip6 saddr 2001:db8::53 meta l4proto { tcp, udp } th sport 5353 notrack",
      ]);
    }
    // without named upstreams (apply): answers from any port 53
    const any = planRuleset(P, env()).chains.find((c) => c.name === CHAIN_NOTRACK_IN)!;
    expect(any.rules.map((x) => x.text)).toEqual(["meta l4proto { tcp, udp } th sport 53 notrack"]);
  });


  test("dns+nftables: the verdict, then a chain per reason, before the chains that jump to them", () => {
    const r = planRuleset(P, env());
    expect(r.chains.map((c) => c.name)).toEqual([CHAIN_DENY, ...DENIAL_REASON_NAMES.map(denialChain), CHAIN_GUARD, CHAIN_FILTER, CHAIN_NOTRACK_OUT, CHAIN_NOTRACK_IN, CHAIN_NAT]);
  });

  test("the guard: loopback (the redirected DNS) first, then every unmarked port-53 packet is denied, in any conntrack state", () => {
    expect(chain(planRuleset(P, env()), CHAIN_GUARD)).toEqual([
      'oif "lo" accept',
      "ip daddr 127.0.0.0/8 accept",
      "ip6 daddr ::1 accept",
      "meta mark != 0x0045474c meta l4proto { tcp, udp } th dport 53 goto deny_dns",
    ]);
  });

  test("rule order carries the security argument", () => {
    const t = filter(planRuleset(P, env({ inbound: inbound("198.51.100.0/24") }))).rules.map((x) => x.text);
    const order = [/^exthdr rt exists goto deny_rthdr$/, /^oif "lo"/, /^ct direction reply ct original ip saddr != @inbound4/, /^ct state/, /meta mark/, /@deny4/, /th dport 853/, /@allow4/, /@doh4/, /@learned4/, /deny_default/];
    const at = order.map((re) => idx(t, re));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(at[at.length - 1]).toBe(t.length - 1);
  });

  test("interval sets come from the resolver: deny listed first wins", () => {
    const r = planRuleset(P, env());
    expect(r.sets.find((s) => s.name === "deny4")!.elements).toEqual(["198.51.100.0/25"]);
    expect(r.sets.find((s) => s.name === "allow4")!.elements).toEqual(["198.51.100.128/25"]);
  });

  test("deny default: fail closed (chain policy drop, final rule rejects)", () => {
    const c = filter(planRuleset(P, env()));
    expect(c.base!.policy).toBe("drop");
    expect(verdict(planRuleset(P, env()))).toEqual([
      "meta l4proto tcp reject with tcp reset",
      "reject with icmpx admin-prohibited",
    ]);
  });

  test("allow default: final accept, routing headers, DoT/DoH/deny still denied", () => {
    const c = filter(planRuleset(policy("defaultAction: allow"), env()));
    expect(c.base!.policy).toBe("accept");
    expect(c.rules[c.rules.length - 1]!.text).toBe("accept");
    // routing headers, always_deny4/6, deny4/6, DoT, doh4/6
    expect(c.rules.filter((r) => r.text.includes("goto deny_")).length).toBe(8);
  });

  test("inbound any: no rule; none: every reply-direction packet outside loopback; CIDRs: per family", () => {
    const rules = (i: InboundFrom) => filter(planRuleset(P, env({ inbound: i }))).rules.map((x) => x.text).filter((t) => t.includes("deny_inbound"));
    expect(rules(inbound("any"))).toEqual([]);
    expect(rules(inbound("none"))).toEqual(["ct direction reply goto deny_inbound"]);
    expect(rules(inbound("198.51.100.0/24"))).toEqual([
      "ct direction reply ct original ip saddr != @inbound4 goto deny_inbound",
      "ct direction reply ct original ip6 saddr != @inbound6 goto deny_inbound",
    ]);
    const sets = planRuleset(P, env({ inbound: inbound("198.51.100.0/24, 198.51.100.7, 2001:db8::/32") })).sets;
    expect(sets.find((s) => s.name === "inbound4")!.elements).toEqual(["198.51.100.0/24"]);
    expect(sets.find((s) => s.name === "inbound6")!.elements).toEqual(["2001:db8::/32"]);
    expect(planRuleset(P, env()).sets.some((s) => s.name.startsWith("inbound"))).toBe(false);
  });

  test("audit: log and accept, never drop", () => {
    const r = planRuleset(P, env({ audit: true, dropSilently: true }));
    expect(filter(r).base!.policy).toBe("accept");
    const deny = verdict(r);
    expect(deny[0]).toMatch(/^limit rate .* log prefix "egressctl-audit: "$/);
    expect(deny[1]).toBe("accept");
  });

  test("drop-silently: plain drop", () => {
    const r = planRuleset(P, env({ dropSilently: true }));
    expect(verdict(r)).toEqual(["drop"]);
  });

  test("each reason's chain notes the TCP/UDP flow with its code, counts, then takes the one verdict", () => {
    for (const e of [env(), env({ audit: true }), env({ dropSilently: true })]) {
      expect(chain(planRuleset(P, e), "deny_dns")).toEqual([
        "meta nfproto ipv4 meta l4proto { tcp, udp } add @denials4 { ip daddr . meta l4proto . th dport . 0x00000005 }",
        "meta nfproto ipv6 meta l4proto { tcp, udp } add @denials6 { ip6 daddr . meta l4proto . th dport . 0x00000005 }",
        `counter name "denied_dns" goto ${CHAIN_DENY}`,
      ]);
    }
  });

  test("named upstreams narrow the mark exemption to the recorded set, in order, with their origin", () => {
    const upstreams = [{ family: 6 as const, address: "2001:db8:100::53", port: 5353 }, { family: 4 as const, address: "198.51.100.53", port: 53 }];
    const r = planRuleset(P, env({ upstreams, upstreamOrigin: "resolv.conf" }));
    const t = filter(r).rules.map((x) => x.text);
    expect(t).toContain("meta mark 0x0045474c meta l4proto { tcp, udp } ip6 daddr . th dport @upstreams6 accept");
    expect(t).toContain("meta mark 0x0045474c meta l4proto { tcp, udp } ip daddr . th dport @upstreams4 accept");
    expect(t.some((x) => /meta mark .* th dport 53 accept$/.test(x))).toBe(false);
    expect(r.sets.find((s) => s.name === "upstreams6")!.elements).toEqual(['2001:db8:100::53 . 5353 comment "1 resolv.conf"']);
    expect(r.sets.find((s) => s.name === "upstreams4")!.elements).toEqual(['198.51.100.53 . 53 comment "2 resolv.conf"']);
  });

  test("an IPv4-mapped upstream is recorded as the IPv4 address its packets carry", () => {
    const { upstreams } = parseUpstreamList("[::ffff:198.51.100.53]:5353");
    const r = planRuleset(P, env({ upstreams }));
    expect(r.sets.find((s) => s.name === "upstreams4")!.elements).toEqual(['198.51.100.53 . 5353 comment "1 configured"']);
    expect(r.sets.find((s) => s.name === "upstreams6")!.elements).toEqual([]);
    expect(filter(r).rules.some((x) => x.text.includes("@upstreams6"))).toBe(false);
  });

  test("proxy port and mark reach the redirect chain", () => {
    const nat = planRuleset(P, env({ proxyPort: 5300, exemptMark: 7 })).chains.find((c) => c.name === CHAIN_NAT)!;
    expect(nat.rules.map((r) => r.text)).toEqual(["meta mark 0x00000007 return", "udp dport 53 redirect to :5300", "tcp dport 53 redirect to :5300"]);
  });
});

/** the deny chain's verdict rules */
function verdict(r: ReturnType<typeof planRuleset>): string[] {
  return chain(r, CHAIN_DENY);
}
