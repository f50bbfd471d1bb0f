// The benchmark's reading of dnsperf -v: latencies sorted, codes counted, and slow answers
// grouped into runs (stalls) in the order dnsperf printed them.
import { expect, test } from "bun:test";
import { parseLatencies, slowRuns } from "../../../test/bench/dns-perf.ts";

test("slow answers close together are one run; far apart, two; none, none", () => {
  const fast = (n: number) => Array<number>(n).fill(0.2);
  expect(slowRuns([...fast(5), 2, 3, ...fast(9), 5, ...fast(11), 1.5])).toEqual({ answers: 4, runs: 2 });
  expect(slowRuns(fast(100))).toEqual({ answers: 0, runs: 0 });
  expect(slowRuns([1, 1, 1])).toEqual({ answers: 0, runs: 0 }); // "over 1 ms" means more than 1
});

test("dnsperf -v lines: latencies in ms, sorted; codes counted; runs read before sorting", () => {
  const out = ["> NOERROR a.example A 0.000300", "> NOERROR b.example A 0.004000", "> NXDOMAIN c.example A 0.000100", "[Status] done"].join("\n");
  const r = parseLatencies(out);
  expect([...r.ms]).toEqual([0.1, 0.3, 4]);
  expect(r.rcodes).toEqual({ NOERROR: 2, NXDOMAIN: 1 });
  expect(r.slow).toEqual({ answers: 1, runs: 1 });
});
