// Names and numbers shared by the ruleset, the kernel backend and the DNS proxy.
// Changing any of them changes the kernel state that a running serve adopts on restart,
// so treat them as part of the on-kernel format.

/** the one table egressctl owns (docs/ruleset.md) */
export const TABLE_FAMILY = "inet";
export const TABLE_NAME = "egressctl";

/** timed sets of addresses learned from DNS answers to allowed names */
export const LEARNED_V4 = "learned4";
export const LEARNED_V6 = "learned6";

/**
 * Packet mark carried by the proxy's own upstream sockets (SO_MARK), exempting them
 * from the port-53 redirect. Setting SO_MARK needs CAP_NET_ADMIN, which the sandboxed
 * application does not hold (docs/security.md).
 */
export const EXEMPT_MARK = 0x45474c; // "EGL"

/** where the DNS proxy listens; the redirect sends every port-53 packet here */
export const DEFAULT_PROXY_PORT = 15353;

/** learned elements live at least this long, and at most this long (seconds) */
export const LEARN_TTL_MIN = 60;
export const LEARN_TTL_MAX = 86_400;

/** a set that lives only while serve measures how the kernel refreshes timeouts (element-refresh.ts) */
export const REFRESH_PROBE_SET = "refresh_probe";

/** default timeout of the learned sets: only for elements added without their own */
export const LEARNED_DEFAULT_TIMEOUT = 300;

/**
 * Timed sets of recently denied (address, protocol, port, reason) flows, filled by the
 * kernel from the per-reason deny chains and read by serve for `net.denied` events. An
 * element lives DENIED_TIMEOUT seconds and a repeat does not refresh it, so each flow is
 * reported at most once a minute however hard a program retries; when the set is full
 * the kernel skips recording (the denial itself still happens and is counted).
 */
export const DENIED_V4 = "denials4";
export const DENIED_V6 = "denials6";
export const DENIED_TIMEOUT = 60;
export const DENIED_SIZE = 4096;
/**
 * The denied-flow sets of earlier versions (their key had no reason). A set's type cannot
 * change in place, so the new ones have new names and these are removed on apply.
 */
export const LEGACY_DENIED_SETS: readonly (readonly [string, 4 | 6])[] = [["denied4", 4], ["denied6", 6]];

/**
 * hex digits of the always lists' address digest in the chains' comment: the kernel keeps
 * at most 128 characters of a comment, and "egressctl policy sha256:<64>" takes 88
 */
export const ALWAYS_DIGEST_HEX = 24;

/**
 * chains: the Layer 2 filter, the DNS redirect (Layer 1), the guard that lets port-53
 * packets leave only through the proxy (both modes), and the one denial verdict
 */
export const CHAIN_FILTER = "output";
export const CHAIN_NAT = "dns_redirect";
export const CHAIN_GUARD = "dns_guard";
export const CHAIN_DENY = "deny";
/**
 * chains at the raw priority (before conntrack) that keep the proxy's own DNS flows,
 * out and back, untracked, so that no flow entry "not redirected" can outlive its socket
 * (docs/ruleset.md, "Untracked DNS")
 */
export const CHAIN_NOTRACK_OUT = "dns_notrack_out";
export const CHAIN_NOTRACK_IN = "dns_notrack_in";
/** the raw priority: before conntrack (-200) */
export const PRIORITY_RAW = -300;

/**
 * Why a packet is denied. Each reason has a named counter (`add counter` keeps an
 * existing counter's value, so the figures doctor and /metrics read survive re-applies),
 * a small chain that notes the flow with the reason's code, counts and jumps to
 * CHAIN_DENY, and the code, stored in the denied-flow sets so that net.denied can say
 * which rule refused. A code never changes meaning (a later serve reads what an earlier
 * one's kernel noted); the order of the entries is that of the counters and chains.
 */
export const DENIAL_REASONS = {
  always: { code: 8, why: "an address of deny.always" },
  cidr: { code: 1, why: "a deny CIDR of the policy" },
  dot: { code: 2, why: "DNS-over-TLS (port 853)" },
  doh: { code: 3, why: "a DNS-over-HTTPS provider (port 443)" },
  default: { code: 4, why: "the default action: no rule and no learned name allows it" },
  dns: { code: 5, why: "DNS that did not go through the proxy" },
  inbound: { code: 6, why: "a flow opened by a host outside --inbound-from" },
  rthdr: { code: 7, why: "an IPv6 routing header" },
} as const;
export type DenialReason = keyof typeof DENIAL_REASONS;
export const DENIAL_REASON_NAMES = Object.keys(DENIAL_REASONS) as DenialReason[];
export const denialCounter = (r: DenialReason) => `denied_${r}`;
export const denialChain = (r: DenialReason) => `deny_${r}`;
export function reasonOfCode(code: number): DenialReason | null {
  return DENIAL_REASON_NAMES.find((r) => DENIAL_REASONS[r].code === code) ?? null;
}
/** the named counters, one per reason */
export const COUNTERS = Object.fromEntries(DENIAL_REASON_NAMES.map((r) => [r, denialCounter(r)])) as Record<DenialReason, string>;

/**
 * The sets rebuilt on every apply, each with its family, its kind (`interval`: addresses
 * and ranges, `flags interval`; `endpoints`: `address . inet_service`) and what it holds.
 * The planner fills them from these entries, the renderer declares and deletes every one
 * of them first, whether the apply creates it again or not (REBUILT_SETS).
 */
const interval = <F extends 4 | 6>(family: F, purpose: string) => ({ family, kind: "interval" as const, purpose });
const endpoints = <F extends 4 | 6>(family: F, purpose: string) => ({ family, kind: "endpoints" as const, purpose });

/** static interval sets of destinations, rebuilt on every apply (learned sets never are) */
export const STATIC_SETS = {
  allow4: interval(4, "static allow CIDRs"),
  allow6: interval(6, "static allow CIDRs"),
  deny4: interval(4, "static deny CIDRs"),
  deny6: interval(6, "static deny CIDRs"),
  doh4: interval(4, "DNS-over-HTTPS providers"),
  doh6: interval(6, "DNS-over-HTTPS providers"),
  always_deny4: interval(4, "deny.always addresses"),
  always_deny6: interval(6, "deny.always addresses"),
  always_allow4: interval(4, "allow.always addresses"),
  always_allow6: interval(6, "allow.always addresses"),
} as const;
export type StaticSetName = keyof typeof STATIC_SETS;

/** --inbound-from as CIDRs: the sources whose flows into the sandbox may be answered; rebuilt */
export const INBOUND_SETS = {
  inbound4: interval(4, "sources that may open flows to the sandbox (--inbound-from)"),
  inbound6: interval(6, "sources that may open flows to the sandbox (--inbound-from)"),
} as const;

/**
 * The proxy's upstream resolvers as `address . port`, each commented "<position>
 * <origin>"; rebuilt on every apply. The filter lets the proxy's marked queries out to
 * exactly these, and a later serve in the same namespace reads them back and keeps them
 * (pinning, docs/security.md) instead of trusting resolv.conf again.
 */
export const UPSTREAMS_V4 = "upstreams4";
export const UPSTREAMS_V6 = "upstreams6";
export const UPSTREAM_SETS = {
  [UPSTREAMS_V4]: endpoints(4, "the proxy's upstream resolvers, recorded for the next start"),
  [UPSTREAMS_V6]: endpoints(6, "the proxy's upstream resolvers, recorded for the next start"),
} as const;

/** every set rebuilt on apply, in the order the renderer removes them */
export const REBUILT_SETS = { ...STATIC_SETS, ...INBOUND_SETS, ...UPSTREAM_SETS } as const;
export type RebuiltSetName = keyof typeof REBUILT_SETS;

/** DNS-over-TLS port (RFC 7858), blocked for TCP and UDP (DNS-over-DTLS / DoQ use it too) */
export const DOT_PORT = 853;
export const DOH_PORT = 443;

/** the prefix of kernel log lines written by the audit variant; rate-limited */
export const AUDIT_LOG_PREFIX = "egressctl-audit: ";
export const AUDIT_LOG_RATE = "10/second";

/** env var that replaces the built-in DoH provider list (comma-separated IPs/CIDRs) */
export const DOH_BLOCKLIST_ENV = "OPENSANDBOX_EGRESS_DOH_BLOCKLIST";
