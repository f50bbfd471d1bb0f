// Reads the closing statistics of dnsperf (DNS-OARC dnsperf 2.x).
export interface Dnsperf {
  sent: number;
  completed: number;
  lost: number;
  /** e.g. "NOERROR 123456 (100.00%)" */
  rcodes: string;
  qps: number;
  avgLatencyS: number;
}

export function parseDnsperf(out: string): Dnsperf | null {
  const num = (re: RegExp) => {
    const m = re.exec(out);
    return m ? Number(m[1]) : NaN;
  };
  const r: Dnsperf = {
    sent: num(/Queries sent:\s+(\d+)/),
    completed: num(/Queries completed:\s+(\d+)/),
    lost: num(/Queries lost:\s+(\d+)/),
    rcodes: /Response codes:\s+(.*)/.exec(out)?.[1]?.trim() ?? "",
    qps: num(/Queries per second:\s+([\d.]+)/),
    avgLatencyS: num(/Average Latency \(s\):\s+([\d.]+)/),
  };
  return Number.isFinite(r.qps) && Number.isFinite(r.sent) ? r : null;
}

/**
 * Per-query latencies from `dnsperf -v`, which prints one line per answer:
 * `> NOERROR n0.bench.example.com A 0.000421` (seconds). Sorted ascending, in ms;
 * `rcodes` counts the answers by code (lost queries print no latency and are left out).
 */
export function parseLatencies(out: string): { ms: Float64Array; rcodes: Record<string, number>; slow: Slow } {
  const values: number[] = [];
  const rcodes: Record<string, number> = {};
  for (const m of out.matchAll(/^> (\S+) \S+ \S+ (\d+\.\d+)$/gm)) {
    rcodes[m[1]!] = (rcodes[m[1]!] ?? 0) + 1;
    values.push(Number(m[2]) * 1000);
  }
  return { ms: Float64Array.from(values).sort(), rcodes, slow: slowRuns(values) };
}

export interface Slow {
  /** answers over SLOW_MS */
  answers: number;
  /** the separate runs they come in */
  runs: number;
}

/**
 * The slow answers (over SLOW_MS) and how many separate runs they come in, in the order
 * dnsperf printed them (completion order): an answer within STALL_GAP places of the last
 * slow one belongs to its run. Many slow answers in few runs are stalls of the server
 * (every query waiting during one is late); as many runs as answers are slow queries.
 */
export function slowRuns(inOrder: readonly number[]): Slow {
  let answers = 0;
  let runs = 0;
  let lastSlow = -Infinity;
  for (let i = 0; i < inOrder.length; i++) {
    if (inOrder[i]! <= SLOW_MS) continue;
    answers++;
    if (i - lastSlow > STALL_GAP) runs++;
    lastSlow = i;
  }
  return { answers, runs };
}

const SLOW_MS = 1;
const STALL_GAP = 10;

/** The p-th percentile (0..100) of ascending values, nearest rank. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
