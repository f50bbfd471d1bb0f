// What /metrics shows: the table of serve's public metrics (name, type, help, labels),
// and where each value comes from. The names are a promise to operators' dashboards and
// alerts (docs/serve.md, "Metrics"; test/unit/serve/metrics.test.ts holds the list): a
// metric is added here, never renamed by renaming a field. Each of the DNS proxy's
// counters names the field it publishes (`stat`); the unit test checks that every field
// has exactly one.
import type { MetricSpec, MetricValue, Sample } from "../../core/metrics/exposition.ts";
import { renderExposition } from "../../core/metrics/exposition.ts";
import type { DnsStats } from "../../effects/dns/events.ts";
import { COMMIT, VERSION } from "../../version.ts";
import type { ServeState } from "./status-view.ts";

/** a metric, and for the DNS proxy's counters the field of its stats it publishes */
type ServeMetric = MetricSpec & { stat?: DnsStat };
type DnsStat = keyof DnsStats | "ignoredAnswers";

const counter = (help: string, labels?: readonly string[]): ServeMetric => ({ type: "counter", help, labels });
const gauge = (help: string, labels?: readonly string[]): ServeMetric => ({ type: "gauge", help, labels });
const histogram = (help: string): ServeMetric => ({ type: "histogram", help });
const dnsCounter = (stat: DnsStat, help: string): ServeMetric => ({ type: "counter", help, stat });
const dnsGauge = (stat: DnsStat, help: string): ServeMetric => ({ type: "gauge", help, stat });

const LEVELS = ["disabled", "dns-only", "dns+nftables"] as const;

export const SERVE_METRICS = {
  egressctl_build_info: gauge("always 1: the version and commit of this binary", ["version", "commit"]),
  egressctl_enforcement_level: gauge(`the enforcement level the self-test measured: ${LEVELS.map((l, i) => `${i}=${l}`).join(", ")}`),
  egressctl_learned_addresses: gauge("distinct addresses learned from answers to allowed names"),
  egressctl_learned_names: gauge("names with learned addresses"),
  egressctl_policy_rules: gauge("rules in the policy in force"),
  egressctl_reloads_total: counter("policy changes applied (file, SIGHUP or the policy API)"),
  egressctl_reload_failures_total: counter("policy changes rejected; the previous policy stayed"),
  egressctl_denied_packets_total: counter("packets the filter denied, by reason: always, cidr, dot, doh, default (the table's named counters)", ["reason"]),
  egressctl_denied_bytes_total: counter("bytes the filter denied, by reason", ["reason"]),
  egressctl_dns_queries_total: dnsCounter("queries", "DNS queries received by the proxy"),
  egressctl_dns_udp_queries_total: dnsCounter("udpQueries", "DNS queries received over UDP"),
  egressctl_dns_tcp_queries_total: dnsCounter("tcpQueries", "DNS queries received over TCP"),
  egressctl_dns_denied_total: dnsCounter("denied", "queries for names the policy denies (answered NXDOMAIN; in audit, forwarded)"),
  egressctl_dns_chain_denied_total: dnsCounter("chainDenied", "of the denied: answers denied because a name in their CNAME/DNAME chain is denied"),
  egressctl_dns_decisions_total: counter("names answered, by deciding layer (deny.always, allow.always, policy) and verdict (allow, deny)", ["layer", "verdict"]),
  egressctl_dns_forwarded_total: dnsCounter("forwarded", "queries forwarded to an upstream"),
  egressctl_dns_malformed_total: dnsCounter("malformed", "queries answered FORMERR or NOTIMP: not a query the proxy can judge"),
  egressctl_dns_dropped_total: dnsCounter("dropped", "packets dropped without an answer (shorter than a header, or a response)"),
  egressctl_dns_servfail_total: dnsCounter("servfail", "queries answered SERVFAIL (no upstream answered, learning failed, overload, an internal error)"),
  egressctl_dns_overloaded_total: dnsCounter("overloaded", "queries answered SERVFAIL at once because too many were in flight"),
  egressctl_dns_upstream_timeouts_total: dnsCounter("upstreamTimeouts", "upstream attempts that timed out"),
  egressctl_dns_upstream_errors_total: dnsCounter("upstreamErrors", "upstream attempts that failed otherwise (refused, closed, bad answer)"),
  egressctl_dns_tcp_retries_total: dnsCounter("tcpRetries", "truncated UDP answers fetched again over TCP"),
  egressctl_dns_learn_batches_total: dnsCounter("learnBatches", "answers whose addresses were learned (written to the kernel, or already held)"),
  egressctl_dns_learned_addresses_total: dnsCounter("learnedAddresses", "addresses in those answers"),
  egressctl_dns_learn_skipped_total: dnsCounter("learnSkipped", "addresses of allowed answers not learned: inside a deny CIDR, or not public"),
  egressctl_dns_guarded_total: dnsCounter("guarded", "of the skipped: addresses not learned because they are not public (loopback, private, link-local, ...)"),
  egressctl_dns_learn_full_total: dnsCounter("learnFull", "answers answered SERVFAIL because a learned set is full"),
  egressctl_dns_learn_failures_total: dnsCounter("learnFailures", "answers whose addresses could not be written to the kernel (answered SERVFAIL)"),
  egressctl_dns_tcp_connections_total: dnsCounter("tcpConnections", "TCP connections accepted by the proxy"),
  egressctl_dns_tcp_rejected_total: dnsCounter("tcpRejected", "TCP connections closed at once: too many open"),
  egressctl_dns_tcp_paused_total: dnsCounter("tcpPaused", "TCP connections that reached a bound and were not read for a while (backpressure)"),
  egressctl_dns_tcp_overrun_total: dnsCounter("tcpOverrun", "TCP connections cut off for pushing past the input bound while paused"),
  egressctl_dns_tcp_stalled_total: dnsCounter("tcpStalled", "TCP connections closed because the client read none of its answers for a while"),
  egressctl_dns_in_flight: dnsGauge("inFlight", "queries being answered right now"),
  egressctl_dns_socket_errors_total: dnsCounter("socketErrors", "errors on the proxy's listening sockets"),
  egressctl_dns_ignored_answers_total: dnsCounter("ignoredAnswers", "upstream answers ignored: wrong ID, question or source (late or spoofed)"),
  egressctl_dns_upstream_rtt_seconds: histogram("an answered upstream attempt: query sent to answer received"),
  egressctl_dns_learn_wait_seconds: histogram("an answer's addresses: answer received to kernel write acknowledged (or failed)"),
  egressctl_dns_answer_seconds: histogram("a query: received to answer ready to send, whatever the answer"),
  egressctl_upstream_up: gauge("1 while an upstream answers, 0 once it is marked down", ["upstream"]),
  egressctl_webhook_notifications_total: counter("denied names for the deny webhook, by outcome", ["outcome"]),
  egressctl_webhook_retries_total: counter("deny webhook attempts retried"),
} as const satisfies Record<string, ServeMetric>;

export type MetricName = keyof typeof SERVE_METRICS;

const WEBHOOK_OUTCOMES = ["delivered", "failed", "coalesced", "suppressed", "ratelimited", "dropped"] as const;

/** the DNS proxy's counters: metric name and the field it publishes */
export const DNS_STATS: readonly [MetricName, DnsStat][] = Object.entries(SERVE_METRICS).flatMap(([name, spec]) =>
  "stat" in spec && spec.stat ? [[name as MetricName, spec.stat]] : [],
);

async function metricValues(s: ServeState): Promise<Partial<Record<MetricName, MetricValue>>> {
  const v: Partial<Record<MetricName, MetricValue>> = {
    egressctl_build_info: [{ labels: { version: VERSION, commit: COMMIT }, value: 1 }],
    egressctl_enforcement_level: LEVELS.indexOf(s.measured?.level ?? s.assessment.mode),
    egressctl_learned_addresses: s.table.addressCount,
    egressctl_learned_names: s.table.nameCount,
    egressctl_policy_rules: s.live.policy.rules.length,
    egressctl_reloads_total: s.reloads.ok,
    egressctl_reload_failures_total: s.reloads.failed,
    egressctl_dns_decisions_total: Object.entries(s.layerCounts).flatMap(([layer, c]) => [
      { labels: { layer, verdict: "allow" }, value: c.allowed },
      { labels: { layer, verdict: "deny" }, value: c.denied },
    ]),
  };
  // what the kernel refused, per reason (the table's named counters)
  const denied = Object.entries((await s.kernel({ learned: false }))?.counters ?? {}).filter(([n]) => n.startsWith("denied_"));
  if (denied.length) {
    v.egressctl_denied_packets_total = denied.map(([n, c]) => ({ labels: { reason: n.slice(7) }, value: c.packets }));
    v.egressctl_denied_bytes_total = denied.map(([n, c]) => ({ labels: { reason: n.slice(7) }, value: c.bytes }));
  }
  if (s.proxy) {
    const st = s.proxy.stats();
    for (const [name, field] of DNS_STATS) v[name] = st[field];
    v.egressctl_upstream_up = st.upstreams.map((u): Sample => ({ labels: { upstream: u.upstream }, value: u.up ? 1 : 0 }));
    const t = s.proxy.timings();
    v.egressctl_dns_upstream_rtt_seconds = t.upstream;
    v.egressctl_dns_learn_wait_seconds = t.learnWait;
    v.egressctl_dns_answer_seconds = t.answer;
  }
  const w = s.webhook?.stats();
  if (w) {
    v.egressctl_webhook_notifications_total = WEBHOOK_OUTCOMES.map((k) => ({ labels: { outcome: k }, value: w[k] }));
    v.egressctl_webhook_retries_total = w.retries;
  }
  return v;
}

export async function metricsText(s: ServeState): Promise<string> {
  return renderExposition(SERVE_METRICS, await metricValues(s));
}
