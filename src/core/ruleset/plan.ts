// The planner: (policy, environment, always rules) -> ruleset model. Pure; decides every
// rule and its order. The order of the filter chain is the security argument, so each
// rule says why.
import { noAlwaysRules, type AlwaysRules } from "../always/types.ts";
import { resolveIntervals } from "../net/intervals.ts";
import { createHash } from "node:crypto";
import type { Family, Range } from "../net/ip.ts";
import type { Policy, Rule } from "../policy/types.ts";
import { policyDigest } from "./digest.ts";
import { mergeCidrs, rangeText } from "./elements.ts";
import type { NftChain, NftRule, NftSet, PlanEnv, Ruleset } from "./model.ts";
import { DEFAULT_MAX_ELEMENTS } from "../learn/bounds.ts";
import {
  ALWAYS_DIGEST_HEX, AUDIT_LOG_PREFIX, AUDIT_LOG_RATE, CHAIN_DENY, CHAIN_FILTER, CHAIN_NAT, CHAIN_NOTRACK_IN, CHAIN_NOTRACK_OUT, COUNTERS,
  DOH_PORT, DENIED_V4, DENIED_V6, DOT_PORT, LEARNED_DEFAULT_TIMEOUT, LEARNED_V4, LEARNED_V6, PRIORITY_RAW,
} from "./names.ts";

const IP: Record<Family, string> = { 4: "ip", 6: "ip6" };
const L4 = "meta l4proto { tcp, udp }";

export const hex = (n: number) => `0x${n.toString(16).padStart(8, "0")}`;

/**
 * `always`: the operator's deny.always / allow.always addresses, in sets of their own
 * (always_deny4/6, always_allow4/6); their names are the DNS proxy's business.
 */
export function planRuleset(policy: Policy, env: PlanEnv, always: AlwaysRules = noAlwaysRules()): Ruleset {
  const digest = policyDigest(policy);
  const alwaysSets = alwaysAddressSets(always);
  // the always addresses' digest rides along in the chain comment when there are any,
  // so a kernel that holds other always sets does not look like it matches
  const comment = `egressctl policy sha256:${digest}${alwaysSets.digest ? ` always ${alwaysSets.digest}` : ""}`;
  const chains: NftChain[] = [];
  const sets: NftSet[] = [];
  if (env.mode === "dns+nftables") {
    const iv = resolveIntervals(policy.rules);
    for (const f of [4, 6] as const) {
      const el = (rs: typeof iv[4]["allow"]) => rs.map((r) => rangeText(f, r));
      sets.push({ name: `deny${f}`, family: f, elements: el(iv[f].deny) });
      sets.push({ name: `allow${f}`, family: f, elements: el(iv[f].allow) });
      sets.push({ name: `doh${f}`, family: f, elements: el(mergeCidrs(env.doh[f])) });
      sets.push({ name: `always_deny${f}`, family: f, elements: el(alwaysSets.deny[f]) });
      sets.push({ name: `always_allow${f}`, family: f, elements: el(alwaysSets.allow[f]) });
    }
    chains.push({ name: CHAIN_DENY, rules: denyVerdict(env) });
    chains.push({
      name: CHAIN_FILTER,
      // Fail closed: with a deny default, the chain policy is drop too, so a rule lost to
      // a hand edit (or a flushed chain) still denies. Audit must never drop.
      base: { type: "filter", hook: "output", priority: 0, policy: policy.defaultAction === "deny" && !env.audit ? "drop" : "accept" },
      comment,
      rules: filterRules(policy, env),
    });
  }
  chains.push(...untrackedDns(env));
  chains.push({
    name: CHAIN_NAT,
    base: { type: "nat", hook: "output", priority: -100, policy: "accept" },
    comment,
    rules: [
      { text: `meta mark ${hex(env.exemptMark)} return`, why: "the proxy's own upstream queries (SO_MARK; see docs/security.md) are not redirected" },
      ...exemptNameservers(env, "return", "OPENSANDBOX_EGRESS_NAMESERVER_EXEMPT: DNS to these servers goes to them directly, not through the proxy"),
      { text: `udp dport 53 redirect to :${env.proxyPort}`, why: "every other DNS packet, IPv4 and IPv6, goes to the proxy on 127.0.0.1/[::1]" },
      { text: `tcp dport 53 redirect to :${env.proxyPort}` },
    ],
  });
  return {
    policyDigest: digest,
    ...(alwaysSets.digest ? { alwaysDigest: alwaysSets.digest } : {}),
    mode: env.mode,
    audit: env.audit,
    dropSilently: env.dropSilently,
    learnedTimeout: LEARNED_DEFAULT_TIMEOUT,
    learnedSize: env.learnedMax ?? DEFAULT_MAX_ELEMENTS,
    counters: Object.values(COUNTERS),
    sets,
    chains,
  };
}

/**
 * The proxy's own DNS flows, out (its mark) and back (from the upstreams' ports), are
 * kept out of conntrack. The redirect is a NAT decision, and the kernel makes it once
 * per flow and keeps it in the flow's entry: were the proxy's exempt queries tracked,
 * their "not redirected" entries would outlive the sockets (30 s, 120 s once answered),
 * and any later packet with the same addresses and ports (an application whose source
 * port happens to be one a killed serve used, or one that picks it on purpose) would
 * follow them past the proxy, unjudged and unlearned, and through the filter as
 * "established". Untracked, every application flow to port 53 is a new flow and meets
 * the redirect; the filter lets the proxy's packets out by their mark, not by state.
 */
function untrackedDns(env: PlanEnv): NftChain[] {
  const portSet = (ports: number[]) => {
    const u = [...new Set(ports)].sort((a, b) => a - b);
    return u.length === 1 ? String(u[0]) : `{ ${u.join(", ")} }`;
  };
  const base = (hook: "output" | "prerouting") => ({ type: "filter" as const, hook, priority: PRIORITY_RAW, policy: "accept" as const });
  // the answers: from the upstreams serve uses, where it names them (an application in the
  // sandbox that serves DNS itself keeps its own flows tracked); else from any port 53
  const answers: NftRule[] = env.upstreams.length === 0
    ? [{ text: `${L4} th sport 53 notrack` }]
    : env.upstreams.map((u) => ({ text: `${IP[u.family]} saddr ${u.address} ${L4} th sport ${u.port} notrack` }));
  answers[0]!.why = "their answers (an entry made from an answer would take a later query from that port for its reply)";
  return [
    {
      name: CHAIN_NOTRACK_OUT,
      base: base("output"),
      rules: [{
        text: `meta mark ${hex(env.exemptMark)} ${L4} th dport ${portSet([53, ...env.upstreams.map((u) => u.port)])} notrack`,
        why: "the proxy's own upstream queries: no flow entry that could outlive its socket",
      }],
    },
    { name: CHAIN_NOTRACK_IN, base: base("prerouting"), rules: answers },
  ];
}

/** DNS (UDP and TCP port 53) to the exempt nameservers, one rule per family that has any. */
function exemptNameservers(env: PlanEnv, verdict: "return" | "accept", why: string): NftRule[] {
  const rules: NftRule[] = [];
  for (const f of [4, 6] as const) {
    const cidrs = mergeCidrs(env.nameserverExempt[f]).map((r) => rangeText(f, r));
    if (cidrs.length === 0) continue;
    rules.push({ text: `${IP[f]} daddr { ${cidrs.join(", ")} } ${L4} th dport 53 ${verdict}`, why: rules.length === 0 ? why : undefined });
  }
  return rules;
}

/** The one place that decides what a denial does: reject, drop, or (audit) log and let through. */
function denyVerdict(env: PlanEnv): NftRule[] {
  return [...recordDenied(), ...verdict(env)];
}

/** Every denial (or, in audit, would-be denial) of a TCP/UDP flow is noted for net.denied. */
function recordDenied(): NftRule[] {
  const flow = (f: "ip" | "ip6") => `${f} daddr . meta l4proto . th dport`;
  return [
    { text: `meta nfproto ipv4 meta l4proto { tcp, udp } add @${DENIED_V4} { ${flow("ip")} }`, why: "note the flow for serve's net.denied events (a full set skips the note, never the verdict)" },
    { text: `meta nfproto ipv6 meta l4proto { tcp, udp } add @${DENIED_V6} { ${flow("ip6")} }` },
  ];
}

function verdict(env: PlanEnv): NftRule[] {
  if (env.audit) {
    return [
      { text: `limit rate ${AUDIT_LOG_RATE} log prefix "${AUDIT_LOG_PREFIX}"`, why: "audit: log what would be denied (rate-limited), then let it through" },
      { text: "accept" },
    ];
  }
  if (env.dropSilently) return [{ text: "drop", why: "--drop-silently: denied packets vanish (clients time out)" }];
  return [
    { text: "meta l4proto tcp reject with tcp reset", why: "fail at once: TCP gets a reset, everything else ICMP admin-prohibited" },
    { text: "reject with icmpx admin-prohibited" },
  ];
}

function filterRules(policy: Policy, env: PlanEnv): NftRule[] {
  const deny = (counter: string) => `counter name "${counter}" goto ${CHAIN_DENY}`;
  const rules: NftRule[] = [
    { text: `oif "lo" accept`, why: "loopback" },
    {
      text: "ip daddr 127.0.0.0/8 accept",
      why: "DNS redirected to the proxy: the nat hook rewrote the destination, but the packet keeps its original oif",
    },
    { text: "ip6 daddr ::1 accept" },
    { text: "ct state established,related accept", why: "replies, and flows allowed before a re-apply, keep working" },
    {
      text: "icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert, mld2-listener-report } accept",
      why: "IPv6 neighbour discovery: without it no IPv6 packet leaves at all",
    },
  ];
  const mark = `meta mark ${hex(env.exemptMark)}`;
  if (env.upstreams.length === 0) {
    rules.push({ text: `${mark} ${L4} th dport 53 accept`, why: "the proxy's marked upstream queries; before the deny sets so a deny CIDR cannot cut off DNS" });
  } else {
    env.upstreams.forEach((u, i) => {
      const why = i === 0 ? "the proxy's marked queries to its upstreams; before the deny sets so a deny CIDR cannot cut off DNS" : undefined;
      rules.push({ text: `${mark} ${IP[u.family]} daddr ${u.address} ${L4} th dport ${u.port} accept`, why });
    });
  }
  env.webhook.forEach((w, i) => {
    const why = i === 0 ? "serve's own marked connections to the deny webhook (OPENSANDBOX_EGRESS_DENY_WEBHOOK); the application cannot reach it" : undefined;
    rules.push({ text: `${mark} ${IP[w.family]} daddr ${w.address} tcp dport ${w.port} accept`, why });
  });
  rules.push(...exemptNameservers(env, "accept",
    "the exempt nameservers, port 53 only: their answers are not learned, so what they resolve stays closed unless the policy allows it"));
  const stance = env.dohStance ?? "listed";
  const doh: NftRule[] = stance === "strict"
    ? [{ text: `${L4} th dport ${DOH_PORT} ${deny(COUNTERS.doh)}`, why: "OPENSANDBOX_EGRESS_BLOCK_DOH_443 without a DoH list (strict): all port 443, HTTPS to allowed names included" }]
    : [
      { text: `ip daddr @doh4 ${L4} th dport ${DOH_PORT} ${deny(COUNTERS.doh)}`, why: stance === "operator"
        ? "OPENSANDBOX_EGRESS_BLOCK_DOH_443 with a DoH list: those providers, before every allow (as OpenSandbox)"
        : "DNS-over-HTTPS providers, even when learned from an allowed name" },
      { text: `ip6 daddr @doh6 ${L4} th dport ${DOH_PORT} ${deny(COUNTERS.doh)}` },
    ];
  const operatorDoh = stance === "operator" || stance === "strict";
  rules.push(
    { text: `ip daddr @always_deny4 ${deny(COUNTERS.always)}`, why: "deny.always addresses: above every policy" },
    { text: `ip6 daddr @always_deny6 ${deny(COUNTERS.always)}` },
    { text: `ip daddr @deny4 ${deny(COUNTERS.cidr)}`, why: "deny CIDRs before any allow: a deny rule beats every allow rule, whatever the order, allow.always, static allows and learned IPs (DNS-rebinding guard)" },
    { text: `ip6 daddr @deny6 ${deny(COUNTERS.cidr)}` },
    { text: `${L4} th dport ${DOT_PORT} ${deny(COUNTERS.dot)}`, why: "DNS-over-TLS (and DoQ) to anyone would bypass the proxy" },
    ...(operatorDoh ? doh : []),
    { text: "ip daddr @always_allow4 accept", why: "allow.always addresses" },
    { text: "ip6 daddr @always_allow6 accept" },
    { text: "ip daddr @allow4 accept", why: operatorDoh ? "static allow CIDRs" : "static allow CIDRs; before the DoH block, so an explicit allow of a resolver wins" },
    { text: "ip6 daddr @allow6 accept" },
    ...(operatorDoh ? [] : doh),
    { text: `ip daddr @${LEARNED_V4} accept`, why: "addresses learned from answers to allowed names" },
    { text: `ip6 daddr @${LEARNED_V6} accept` },
  );
  rules.push(
    policy.defaultAction === "allow"
      ? { text: "accept", why: "defaultAction: allow" }
      : { text: deny(COUNTERS.default), why: "defaultAction: deny" },
  );
  return rules;
}

/**
 * The always lists' addresses per family, merged into disjoint ranges. No ordering is
 * needed inside a list: every rule of it has the same action.
 */
function alwaysAddressSets(a: AlwaysRules): { deny: Record<Family, Range[]>; allow: Record<Family, Range[]>; digest: string | null } {
  const cidrs = (rules: readonly Rule[], f: Family) => rules.filter((r) => r.cidr?.family === f).map((r) => r.target);
  const per = (rules: readonly Rule[]) => ({ 4: mergeCidrs(cidrs(rules, 4)), 6: mergeCidrs(cidrs(rules, 6)) });
  const deny = per(a.deny.rules);
  const allow = per(a.allow.rules);
  const text = JSON.stringify([4, 6].flatMap((f) => [deny[f as Family], allow[f as Family]].map((rs) => rs.map((r) => rangeText(f as Family, r)))));
  const any = deny[4].length + deny[6].length + allow[4].length + allow[6].length > 0;
  // shortened: the chain comment holds at most 128 characters (names.ts)
  return { deny, allow, digest: any ? createHash("sha256").update(text).digest("hex").slice(0, ALWAYS_DIGEST_HEX) : null };
}

/** the always digest planRuleset puts in the chain comment for these lists (null: none) */
export function expectedAlwaysDigest(always: AlwaysRules): string | null {
  return alwaysAddressSets(always).digest;
}
