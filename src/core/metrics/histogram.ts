// A Prometheus histogram with fixed buckets, cheap enough to observe on every DNS query:
// observe() walks a few upper bounds and adds to two numbers, allocating nothing. Counts
// are kept per bucket, not cumulative; the exposition adds them up (exposition.ts). Pure.

/**
 * Upper bounds (seconds) for the DNS latencies serve measures: 100 µs (an answer the
 * kernel already covers) to 5 s (beyond the upstream and learn timeouts).
 */
export const LATENCY_BUCKETS: readonly number[] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export class Histogram {
  readonly bounds: Float64Array;
  /** per bucket, the last one for values above every bound (+Inf) */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[] = LATENCY_BUCKETS) {
    this.bounds = Float64Array.from(bounds);
    this.counts = new Float64Array(bounds.length + 1);
  }

  /** one value, in the unit of the bounds (seconds); a bucket holds the values <= its bound */
  observe(value: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}
