// /metrics of a running serve, scraped over its status socket: the exposition parses with
// Prometheus's own parser, lists exactly the metrics of the table (src/app/serve/
// metrics.ts, pinned by test/unit/serve/metrics.test.ts), and its latency histograms
// move as queries flow: every answer, every upstream round trip and every learn wait.
import { expect, test } from "bun:test";
import { SERVE_METRICS } from "../../../src/app/serve/metrics.ts";
import type { Lab } from "../../support/lab.ts";
import { parseExposition, sampleValue, type Family } from "../../support/prometheus.ts";
import type { Served } from "../../support/serve.ts";
import { args, curl, dig, policyText, serve, useLab, writePolicy } from "./helpers-serve.ts";

let lab: Lab;
let policy: string;
useLab((l) => {
  lab = l;
  policy = writePolicy(lab, policyText(["api.example.com", "other.example.com"]));
});

async function scrape(s: Served): Promise<{ text: string; families: Family[] }> {
  const r = await s.get("/metrics");
  expect(r.status).toBe(200);
  return { text: r.body, families: parseExposition(r.body) };
}

const count = (f: Family[], histogram: string) => sampleValue(f, `${histogram}_count`) ?? NaN;

test("the exposition parses, names exactly the table's metrics, and its histograms move with queries", async () => {
  const s = await serve(lab, args(policy));
  const before = await scrape(s);
  expect([...before.text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]])).toEqual(Object.entries(SERVE_METRICS).map(([n, spec]) => [n, spec.type]));
  expect(sampleValue(before.families, "egressctl_enforcement_level")).toBe(2);
  expect(sampleValue(before.families, "egressctl_upstream_up", { upstream: "198.51.100.53:53" })).toBe(1);

  for (const name of ["api.example.com", "other.example.com", "api.example.com"]) expect((await dig(lab, name)).rcode).toBe("NOERROR");
  for (const name of ["evil.example.com", "nowhere.example.com"]) expect((await dig(lab, name)).rcode).toBe("NXDOMAIN");
  expect(await curl(lab, "other.example.com")).toBe(0); // glibc's A and AAAA queries, learned before answered

  const after = await scrape(s);
  const grew = (m: string) => count(after.families, m) - count(before.families, m);
  // 5 digs and curl's 2 queries were answered; 3 digs and curl's 2 went upstream (the
  // self-test may add its own probe meanwhile: at least, not exactly)
  expect(grew("egressctl_dns_answer_seconds")).toBeGreaterThanOrEqual(7);
  expect(grew("egressctl_dns_upstream_rtt_seconds")).toBeGreaterThanOrEqual(5);
  expect(grew("egressctl_dns_learn_wait_seconds")).toBeGreaterThanOrEqual(4); // the answers with addresses
  expect((sampleValue(after.families, "egressctl_dns_queries_total") ?? 0) - (sampleValue(before.families, "egressctl_dns_queries_total") ?? 0)).toBeGreaterThanOrEqual(7);
  expect(sampleValue(after.families, "egressctl_dns_denied_total")).toBeGreaterThanOrEqual(2);
  // an answer's time includes its upstream round trip and its learn wait
  expect(sampleValue(after.families, "egressctl_dns_answer_seconds_sum")).toBeGreaterThan(sampleValue(after.families, "egressctl_dns_upstream_rtt_seconds_sum")!);
  expect(sampleValue(after.families, "egressctl_learned_addresses")).toBeGreaterThanOrEqual(2);
});
