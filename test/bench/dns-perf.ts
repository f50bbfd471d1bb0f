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
