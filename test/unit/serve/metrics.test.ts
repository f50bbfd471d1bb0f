// serve's /metrics: rendered from one explicit table (src/app/serve/metrics.ts), so the
// names below are a promise: this golden list changes only when a metric is added (or,
// deliberately, retired), never because a field was renamed. The text is read back by
// Prometheus's own parser (test/support/prometheus.ts).
import { describe, expect, test } from "bun:test";
import { renderExposition } from "../../../src/core/metrics/exposition.ts";
import { Histogram } from "../../../src/core/metrics/histogram.ts";
import { DEFAULT_BOUNDS } from "../../../src/core/learn/bounds.ts";
import { LearnTable } from "../../../src/core/learn/table.ts";
import { compilePolicy } from "../../../src/app/serve/live-policy.ts";
import { DNS_STATS, metricsText, SERVE_METRICS } from "../../../src/app/serve/metrics.ts";
import type { ServeState } from "../../../src/app/serve/status-view.ts";
import { newStats, newTimings } from "../../../src/effects/dns/events.ts";
import { newLayerCounts } from "../../../src/app/serve/dns-events.ts";
import { parseExposition, sampleValue } from "../../support/prometheus.ts";
import { facts } from "../probe/fixtures.ts";
import { assess } from "../../../src/core/probe/assess.ts";

const GOLDEN: [string, string][] = [
  ["egressctl_build_info", "gauge"],
  ["egressctl_enforcement_level", "gauge"],
  ["egressctl_learned_addresses", "gauge"],
  ["egressctl_learned_names", "gauge"],
  ["egressctl_policy_rules", "gauge"],
  ["egressctl_reloads_total", "counter"],
  ["egressctl_reload_failures_total", "counter"],
  ["egressctl_denied_packets_total", "counter"],
  ["egressctl_denied_bytes_total", "counter"],
  ["egressctl_dns_queries_total", "counter"],
  ["egressctl_dns_udp_queries_total", "counter"],
  ["egressctl_dns_tcp_queries_total", "counter"],
  ["egressctl_dns_denied_total", "counter"],
  ["egressctl_dns_chain_denied_total", "counter"],
  ["egressctl_dns_decisions_total", "counter"],
  ["egressctl_dns_forwarded_total", "counter"],
  ["egressctl_dns_malformed_total", "counter"],
  ["egressctl_dns_dropped_total", "counter"],
  ["egressctl_dns_servfail_total", "counter"],
  ["egressctl_dns_overloaded_total", "counter"],
  ["egressctl_dns_upstream_timeouts_total", "counter"],
  ["egressctl_dns_upstream_errors_total", "counter"],
  ["egressctl_dns_tcp_retries_total", "counter"],
  ["egressctl_dns_learn_batches_total", "counter"],
  ["egressctl_dns_learned_addresses_total", "counter"],
  ["egressctl_dns_learn_skipped_total", "counter"],
  ["egressctl_dns_guarded_total", "counter"],
  ["egressctl_dns_learn_full_total", "counter"],
  ["egressctl_dns_learn_failures_total", "counter"],
  ["egressctl_dns_tcp_connections_total", "counter"],
  ["egressctl_dns_tcp_rejected_total", "counter"],
  ["egressctl_dns_tcp_paused_total", "counter"],
  ["egressctl_dns_tcp_overrun_total", "counter"],
  ["egressctl_dns_tcp_stalled_total", "counter"],
  ["egressctl_dns_in_flight", "gauge"],
  ["egressctl_dns_socket_errors_total", "counter"],
  ["egressctl_dns_ignored_answers_total", "counter"],
  ["egressctl_dns_upstream_rtt_seconds", "histogram"],
  ["egressctl_dns_learn_wait_seconds", "histogram"],
  ["egressctl_dns_answer_seconds", "histogram"],
  ["egressctl_upstream_up", "gauge"],
  ["egressctl_webhook_notifications_total", "counter"],
  ["egressctl_webhook_retries_total", "counter"],
];

/** a serve state with something in every metric */
function state(): ServeState {
  const stats = { ...newStats(), queries: 7, denied: 2, inFlight: 1 };
  const timings = newTimings();
  for (const v of [0.00005, 0.0003, 0.002, 7]) timings.answer.observe(v);
  timings.upstream.observe(0.004);
  const table = new LearnTable();
  table.add({ name: "api.example.com", addresses: [{ family: 4, address: "198.51.100.10" }], ttl: 300 }, Date.now());
  return {
    startedAt: 0,
    assessment: assess(facts()),
    live: compilePolicy({ defaultAction: "deny", requireFullIsolation: false, rules: [] }, "default", undefined, 0),
    measured: { level: "dns-only", findings: [] },
    kernel: async () => ({ counters: { denied_cidr: { packets: 3, bytes: 180 }, denied_default: { packets: 1, bytes: 60 } } }) as never,
    table,
    proxy: {
      stats: () => ({ ...stats, upstreams: [{ upstream: '198.51.100.53:53', up: true, failures: 0 }, { upstream: 'odd"\\name', up: false, failures: 3 }], ignoredAnswers: 4 }),
      timings: () => timings,
    } as never,
    reloads: { ok: 2, failed: 1, lastError: null },
    audit: false,
    webhook: { stats: () => ({ url: "http://hook", addresses: [], delivered: 5, failed: 1, retries: 2, coalesced: 0, suppressed: 3, ratelimited: 0, dropped: 0, queued: 0 }) },
    nameserverExempt: [],
    layerCounts: { ...newLayerCounts(), "deny.always": { allowed: 0, denied: 6 } },
    learnBounds: DEFAULT_BOUNDS,
    inbound: { kind: "any" },
    upstreamOrigin: "configured",
    upstreamsPinned: false,
    upstreamsLocal: [],
    privileged: () => null,
  };
}

describe("/metrics", () => {
  test("the table is the golden list: names, types, order", () => {
    expect(Object.entries(SERVE_METRICS).map(([name, spec]) => [name, spec.type])).toEqual(GOLDEN);
    for (const [name, spec] of Object.entries(SERVE_METRICS)) {
      expect({ name, help: spec.help.length > 10 }).toEqual({ name, help: true });
      expect(name).toMatch(/^egressctl_[a-z0-9_]+$/);
      if (spec.type === "counter") expect(name).toEndWith("_total");
      if (spec.type === "histogram") expect(name).toEndWith("_seconds");
    }
  });

  test("docs/serve.md's table lists every metric with its type", async () => {
    const doc = await Bun.file(new URL("../../../docs/serve.md", import.meta.url).pathname).text();
    for (const [name, type] of GOLDEN) expect(doc).toContain(`| \`${name}\` | ${type} |`);
  });

  test("every DNS counter has a metric of its own", () => {
    const fields: string[] = DNS_STATS.map(([, field]) => field);
    expect(new Set(fields).size).toBe(fields.length);
    expect([...fields].sort()).toEqual([...Object.keys(newStats()), "ignoredAnswers"].sort());
  });

  test("the exposition parses with Prometheus's parser: HELP and TYPE for every metric, values where they belong", async () => {
    const text = await metricsText(state());
    const families = parseExposition(text);
    expect([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]])).toEqual(GOLDEN);
    expect(families.length).toBe(GOLDEN.length);
    expect(sampleValue(families, "egressctl_enforcement_level")).toBe(1);
    expect(sampleValue(families, "egressctl_dns_queries_total")).toBe(7);
    expect(sampleValue(families, "egressctl_dns_in_flight")).toBe(1);
    expect(sampleValue(families, "egressctl_dns_ignored_answers_total")).toBe(4);
    expect(sampleValue(families, "egressctl_denied_packets_total", { reason: "cidr" })).toBe(3);
    expect(sampleValue(families, "egressctl_upstream_up", { upstream: "198.51.100.53:53" })).toBe(1);
    expect(sampleValue(families, "egressctl_upstream_up", { upstream: 'odd"\\name' })).toBe(0); // escaped and read back
    expect(sampleValue(families, "egressctl_webhook_notifications_total", { outcome: "suppressed" })).toBe(3);
    expect(sampleValue(families, "egressctl_build_info")).toBe(1);
    expect(sampleValue(families, "egressctl_dns_decisions_total", { layer: "deny.always", verdict: "deny" })).toBe(6);
    expect(sampleValue(families, "egressctl_dns_decisions_total", { layer: "policy", verdict: "allow" })).toBe(0);
    // histograms: cumulative buckets, +Inf = count, sum
    expect(sampleValue(families, "egressctl_dns_answer_seconds_bucket", { le: "0.0001" })).toBe(1);
    expect(sampleValue(families, "egressctl_dns_answer_seconds_bucket", { le: "0.0025" })).toBe(3);
    expect(sampleValue(families, "egressctl_dns_answer_seconds_bucket", { le: "5" })).toBe(3);
    expect(sampleValue(families, "egressctl_dns_answer_seconds_bucket", { le: "+Inf" })).toBe(4);
    expect(sampleValue(families, "egressctl_dns_answer_seconds_count")).toBe(4);
    expect(sampleValue(families, "egressctl_dns_answer_seconds_sum")).toBeCloseTo(7.00235, 8);
    expect(sampleValue(families, "egressctl_dns_learn_wait_seconds_count")).toBe(0);
  });

  test("without a proxy, kernel or webhook every metric is still declared (no samples)", async () => {
    const s = { ...state(), proxy: null, webhook: null, kernel: async () => null };
    const text = await metricsText(s);
    parseExposition(text);
    expect([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1])).toEqual(GOLDEN.map(([n]) => n));
    expect(text).not.toMatch(/^egressctl_dns_queries_total /m);
  });

  test("a broken exposition is refused by the check (the check can fail)", () => {
    expect(() => parseExposition("egressctl_x 1\n")).toThrow(/no TYPE|no HELP/);
    const h = new Histogram([1]);
    h.observe(2);
    const text = renderExposition({ a_seconds: { type: "histogram", help: "h" } }, { a_seconds: h }).replace('le="+Inf"} 1', 'le="+Inf"} 5');
    expect(() => parseExposition(text)).toThrow(/\+Inf bucket 5 != count 1/);
  });
});
