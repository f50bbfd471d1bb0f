// The planner: (policy, environment, always rules) -> ruleset model. Pure; decides every
// rule and its order. The order of the filter chains is the security argument, so each
// rule says why.
import { createHash } from "node:crypto";
import { noAlwaysRules, type AlwaysRules } from "../always/types.ts";
import { resolveIntervals } from "../net/intervals.ts";
import type { Family, Range } from "../net/ip.ts";
import type { Policy, Rule } from "../policy/types.ts";
import { policyDigest } from "./digest.ts";
import { mergeCidrs, rangeText } from "./elements.ts";
import type { NftChain, NftRule, NftSet, PlanEnv, Ruleset } from "./model.ts";
import { DEFAULT_MAX_ELEMENTS } from "../learn/bounds.ts";
import {
  ALWAYS_DIGEST_HEX, AUDIT_LOG_PREFIX, AUDIT_LOG_RATE, CHAIN_DENY, CHAIN_FILTER, CHAIN_GUARD, CHAIN_NAT, CHAIN_NOTRACK_IN, CHAIN_NOTRACK_OUT,
  COUNTERS, DENIAL_REASONS, DENIAL_REASON_NAMES, DENIED_V4, DENIED_V6, DOH_PORT, DOT_PORT, INBOUND_SETS, LEARNED_DEFAULT_TIMEOUT,
  LEARNED_V4, LEARNED_V6, PRIORITY_RAW, REBUILT_SETS, STATIC_SETS, UPSTREAMS_V4, UPSTREAMS_V6, denialChain, type DenialReason,
  type RebuiltSetName,
} from "./names.ts";
import { upstreamComment } from "./upstream-record.ts";

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
  const full = env.mode === "dns+nftables";
  const sets: NftSet[] = [...(full ? filterSets(policy, env, alwaysSets) : []), ...upstreamSets(env)];
  // chains that are jumped to come first: the verdict, then one chain per reason
  const reasons: DenialReason[] = full ? DENIAL_REASON_NAMES : ["dns"];
  const chains: NftChain[] = [
    { name: CHAIN_DENY, rules: verdict(env) },
    ...reasons.map((r) => ({ name: denialChain(r), rules: denyFor(r) })),
    {
      name: CHAIN_GUARD,
      base: { type: "filter", hook: "output", priority: -5, policy: "accept" },
      comment,
      rules: guardRules(env),
    },
  ];
  if (full) {
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

/** deny/allow/DoH/always interval sets, and the --inbound-from sources when they are CIDRs */
function filterSets(policy: Policy, env: PlanEnv, always: AlwaysSets): NftSet[] {
  const iv = resolveIntervals(policy.rules);
  const sets: NftSet[] = [];
  const interval = (name: keyof typeof STATIC_SETS | keyof typeof INBOUND_SETS, f: Family, ranges: Range[]) => rebuiltSet(name, ranges.map((r) => rangeText(f, r)));
  for (const f of [4, 6] as const) {
    sets.push(interval(`deny${f}`, f, iv[f].deny), interval(`allow${f}`, f, iv[f].allow), interval(`doh${f}`, f, mergeCidrs(env.doh[f])));
    sets.push(interval(`always_deny${f}`, f, always.deny[f]), interval(`always_allow${f}`, f, always.allow[f]));
  }
  if (env.inbound.kind === "cidrs") {
    for (const f of [4, 6] as const) sets.push(interval(`inbound${f}`, f, mergeCidrs(env.inbound.list[f])));
  }
  return sets;
}

/** the upstreams, in both modes: the filter's exemption uses them, and a restart reads them back */
function upstreamSets(env: PlanEnv): NftSet[] {
  return ([[4, UPSTREAMS_V4], [6, UPSTREAMS_V6]] as const).map(([f, name]) =>
    rebuiltSet(name, env.upstreams.flatMap((u, i) => (u.family === f ? [`${u.address} . ${u.port} comment "${upstreamComment(i + 1, env.upstreamOrigin)}"`] : []))),
  );
}

/** one of the rebuilt sets, as names.ts REBUILT_SETS describes it (which the renderer removes first) */
function rebuiltSet(name: RebuiltSetName, elements: string[]): NftSet {
  const { family, kind, purpose } = REBUILT_SETS[name];
  return { name, family, kind, purpose, elements };
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

/**
 * One chain per reason: note the TCP/UDP flow with the reason's code for serve's
 * net.denied events (a full set skips the note, never the verdict), count, then the verdict.
 */
function denyFor(reason: DenialReason): NftRule[] {
  const flow = (f: "ip" | "ip6") => `${f} daddr . meta l4proto . th dport . ${hex(DENIAL_REASONS[reason].code)}`;
  return [
    { text: `meta nfproto ipv4 ${L4} add @${DENIED_V4} { ${flow("ip")} }`, why: `${DENIAL_REASONS[reason].why}: note the flow for net.denied` },
    { text: `meta nfproto ipv6 ${L4} add @${DENIED_V6} { ${flow("ip6")} }` },
    { text: `counter name "${COUNTERS[reason]}" goto ${CHAIN_DENY}` },
  ];
}

/** The one place that decides what a denial does: reject, drop, or (audit) log and let through. */
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

/** loopback, and DNS the nat hook already redirected to the proxy */
function loopback(): NftRule[] {
  return [
    { text: `oif "lo" accept`, why: "loopback" },
    {
      text: "ip daddr 127.0.0.0/8 accept",
      why: "DNS redirected to the proxy: the nat hook rewrote the destination, but the packet keeps its original oif",
    },
    { text: "ip6 daddr ::1 accept" },
  ];
}

/**
 * The guard, in both modes: a port-53 packet leaves only redirected to the proxy, marked
 * by the proxy, or to an exempt nameserver. NAT decides on a flow's first packet only, so
 * a flow another host opened from port 53 is never redirected: without this, the
 * application's DNS in it (conntrack's reply direction) would go straight to that host.
 */
function guardRules(env: PlanEnv): NftRule[] {
  return [
    ...loopback(),
    ...exemptNameservers(env, "accept", "the exempt nameservers, port 53 only (OPENSANDBOX_EGRESS_NAMESERVER_EXEMPT)"),
    {
      text: `meta mark != ${hex(env.exemptMark)} ${L4} th dport 53 goto ${denialChain("dns")}`,
      why: "any other unmarked DNS, in any conntrack state: NAT redirects only a flow's first packet, so a flow opened from outside is never redirected",
    },
  ];
}

function filterRules(policy: Policy, env: PlanEnv): NftRule[] {
  const deny = (r: DenialReason) => `goto ${denialChain(r)}`;
  const rules: NftRule[] = [
    {
      text: `exthdr rt exists ${deny("rthdr")}`,
      why: "IPv6 routing headers (any type, IPV6_RTHDR needs no privilege): the filter judges the first hop only, the header names the next",
    },
    ...loopback(),
    ...inboundRules(env),
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
    const why = "the proxy's marked queries to its upstreams (the recorded set); before the deny sets so a deny CIDR cannot cut off DNS";
    ([4, 6] as const)
      .filter((f) => env.upstreams.some((u) => u.family === f))
      .forEach((f, i) => rules.push({ text: `${mark} ${L4} ${IP[f]} daddr . th dport @${f === 4 ? UPSTREAMS_V4 : UPSTREAMS_V6} accept`, why: i === 0 ? why : undefined }));
  }
  env.webhook.forEach((w, i) => {
    const why = i === 0 ? "serve's own marked connections to the deny webhook (OPENSANDBOX_EGRESS_DENY_WEBHOOK); the application cannot reach it" : undefined;
    rules.push({ text: `${mark} ${IP[w.family]} daddr ${w.address} tcp dport ${w.port} accept`, why });
  });
  rules.push(...exemptNameservers(env, "accept",
    "the exempt nameservers, port 53 only: their answers are not learned, so what they resolve stays closed unless the policy allows it"));
  const stance = env.dohStance ?? "listed";
  const doh: NftRule[] = stance === "strict"
    ? [{ text: `${L4} th dport ${DOH_PORT} ${deny("doh")}`, why: "OPENSANDBOX_EGRESS_BLOCK_DOH_443 without a DoH list (strict): all port 443, HTTPS to allowed names included" }]
    : [
      { text: `ip daddr @doh4 ${L4} th dport ${DOH_PORT} ${deny("doh")}`, why: stance === "operator"
        ? "OPENSANDBOX_EGRESS_BLOCK_DOH_443 with a DoH list: those providers, before every allow (as OpenSandbox)"
        : "DNS-over-HTTPS providers, even when learned from an allowed name" },
      { text: `ip6 daddr @doh6 ${L4} th dport ${DOH_PORT} ${deny("doh")}` },
    ];
  const operatorDoh = stance === "operator" || stance === "strict";
  rules.push(
    { text: `ip daddr @always_deny4 ${deny("always")}`, why: "deny.always addresses: above every policy" },
    { text: `ip6 daddr @always_deny6 ${deny("always")}` },
    { text: `ip daddr @deny4 ${deny("cidr")}`, why: "deny CIDRs before any allow: a deny rule beats every allow rule, whatever the order, allow.always, static allows and learned IPs (DNS-rebinding guard)" },
    { text: `ip6 daddr @deny6 ${deny("cidr")}` },
    { text: `${L4} th dport ${DOT_PORT} ${deny("dot")}`, why: "DNS-over-TLS (and DoQ) to anyone would bypass the proxy" },
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
      : { text: deny("default"), why: "defaultAction: deny" },
  );
  return rules;
}

/**
 * --inbound-from: a packet leaving in the reply direction of a flow that a host outside
 * the list opened is denied, before `ct state established` would let it out. `related`
 * packets (ICMP errors about such a flow) carry the same direction and original source.
 */
function inboundRules(env: PlanEnv): NftRule[] {
  const why = "flows opened from outside: only sources in --inbound-from are answered";
  if (env.inbound.kind === "any") return [];
  if (env.inbound.kind === "none") return [{ text: `ct direction reply goto ${denialChain("inbound")}`, why }];
  return [
    { text: `ct direction reply ct original ip saddr != @inbound4 goto ${denialChain("inbound")}`, why },
    { text: `ct direction reply ct original ip6 saddr != @inbound6 goto ${denialChain("inbound")}` },
  ];
}

interface AlwaysSets {
  deny: Record<Family, Range[]>;
  allow: Record<Family, Range[]>;
  digest: string | null;
}

/**
 * The always lists' addresses per family, merged into disjoint ranges. No ordering is
 * needed inside a list: every rule of it has the same action.
 */
function alwaysAddressSets(a: AlwaysRules): AlwaysSets {
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
