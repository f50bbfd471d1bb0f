// The planner's decisions: which chains and sets exist per mode, and the rule order that
// carries the security argument (deny CIDRs before learned IPs, DoT before static allows,
// static allows before the DoH block, DoH before learned, the default verdict last).
import { describe, expect, test } from "bun:test";
import { parseUpstreamList } from "../../../src/core/dns/upstreams.ts";
import { planRuleset } from "../../../src/core/ruleset/plan.ts";
import { CHAIN_DENY, CHAIN_FILTER, CHAIN_NAT, CHAIN_NOTRACK_IN, CHAIN_NOTRACK_OUT, EXEMPT_MARK } from "../../../src/core/ruleset/names.ts";
import { env, policy } from "./env.ts";

const P = policy("defaultAction: deny\negress:\n  - {action: deny, target: 198.51.100.0/25}\n  - {action: allow, target: 198.51.100.0/24}\n");
const filter = (r: ReturnType<typeof planRuleset>) => r.chains.find((c) => c.name === CHAIN_FILTER)!;
const idx = (texts: string[], re: RegExp) => texts.findIndex((t) => re.test(t));

describe("planRuleset", () => {
  test("dns-only: the redirect chain only, no static sets", () => {
    const r = planRuleset(P, env({ mode: "dns-only" }));
    expect(r.chains.map((c) => c.name)).toEqual([CHAIN_NOTRACK_OUT, CHAIN_NOTRACK_IN, CHAIN_NAT]);
    expect(r.sets).toEqual([]);
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

  test("dns+nftables: deny chain before the chains that jump to it", () => {
    const r = planRuleset(P, env());
    expect(r.chains.map((c) => c.name)).toEqual([CHAIN_DENY, CHAIN_FILTER, CHAIN_NOTRACK_OUT, CHAIN_NOTRACK_IN, CHAIN_NAT]);
  });

  test("rule order carries the security argument", () => {
    const t = filter(planRuleset(P, env())).rules.map((x) => x.text);
    const order = [/^oif "lo"/, /^ct state/, /meta mark/, /@deny4/, /th dport 853/, /@allow4/, /@doh4/, /@learned4/, /denied_default/];
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

  test("allow default: final accept, DoT/DoH/deny still jump to deny", () => {
    const c = filter(planRuleset(policy("defaultAction: allow"), env()));
    expect(c.base!.policy).toBe("accept");
    expect(c.rules[c.rules.length - 1]!.text).toBe("accept");
    // always_deny4/6, deny4/6, DoT, doh4/6
    expect(c.rules.filter((r) => r.text.includes(`goto ${CHAIN_DENY}`)).length).toBe(7);
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

  test("every variant of the deny chain first notes TCP/UDP flows for net.denied", () => {
    for (const e of [env(), env({ audit: true }), env({ dropSilently: true })]) {
      const deny = planRuleset(P, e).chains.find((x) => x.name === CHAIN_DENY)!.rules.map((x) => x.text);
      expect(deny.slice(0, 2)).toEqual([
        "meta nfproto ipv4 meta l4proto { tcp, udp } add @denied4 { ip daddr . meta l4proto . th dport }",
        "meta nfproto ipv6 meta l4proto { tcp, udp } add @denied6 { ip6 daddr . meta l4proto . th dport }",
      ]);
    }
  });

  test("named upstreams narrow the mark exemption", () => {
    const t = filter(planRuleset(P, env({ upstreams: [{ family: 6, address: "2001:db8:100::53", port: 5353 }] }))).rules.map((x) => x.text);
    expect(t).toContain("meta mark 0x0045474c ip6 daddr 2001:db8:100::53 meta l4proto { tcp, udp } th dport 5353 accept");
    expect(t.some((x) => /meta mark .* th dport 53 accept$/.test(x))).toBe(false);
  });

  test("an IPv4-mapped upstream is exempted as the IPv4 address its packets carry", () => {
    const { upstreams } = parseUpstreamList("[::ffff:198.51.100.53]:5353");
    const t = filter(planRuleset(P, env({ upstreams }))).rules.map((x) => x.text);
    expect(t).toContain("meta mark 0x0045474c ip daddr 198.51.100.53 meta l4proto { tcp, udp } th dport 5353 accept");
    expect(t.some((x) => x.includes("::ffff:"))).toBe(false);
  });

  test("proxy port and mark reach the redirect chain", () => {
    const nat = planRuleset(P, env({ proxyPort: 5300, exemptMark: 7 })).chains.find((c) => c.name === CHAIN_NAT)!;
    expect(nat.rules.map((r) => r.text)).toEqual(["meta mark 0x00000007 return", "udp dport 53 redirect to :5300", "tcp dport 53 redirect to :5300"]);
  });
});

/** the deny chain's verdict rules, after the two that note the flow */
function verdict(r: ReturnType<typeof planRuleset>): string[] {
  return r.chains.find((x) => x.name === CHAIN_DENY)!.rules.map((x) => x.text).slice(2);
}
