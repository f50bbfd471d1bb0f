// The benchmark's reading of /proc/stat: busy is everything but idle and iowait.
import { expect, test } from "bun:test";
import { leastStolen, machineTicks, machineUse, parseMachineTicks } from "../../../test/bench/machine-cpu.ts";

test("the cpu line: busy is user, nice, system, irq and softirq; steal apart; total counts everything", () => {
  const stat = "cpu  100 5 50 800 20 3 2 7 0 0\ncpu0 50 2 25 400 10 1 1 4 0 0\nintr 1\n";
  expect(parseMachineTicks(stat)).toEqual({ busy: 160, steal: 7, total: 987 });
  expect(parseMachineTicks("cpu0 1 2 3 4\n")).toBeNull();
  expect(parseMachineTicks("cpu  a b c d e\n")).toBeNull();
});

test("use over an interval: the busy share of all ticks times the cores", () => {
  expect(machineUse({ busy: 100, steal: 0, total: 400 }, { busy: 250, steal: 20, total: 600 }, 2)).toEqual({ coresBusy: 1.5, stolen: 0.1, busySeconds: 1.5 });
  expect(machineUse({ busy: 1, steal: 0, total: 1 }, { busy: 1, steal: 0, total: 1 }, 2)).toBeNull();
});

test("this machine's /proc/stat reads, with busy ticks among all ticks", () => {
  const a = machineTicks();
  expect(a).not.toBeNull();
  expect(a!.busy).toBeGreaterThan(0);
  expect(a!.total).toBeGreaterThanOrEqual(a!.busy);
});

test("a disturbed run is run again, at most three times, and the least stolen is kept", async () => {
  const seq = (values: number[]) => {
    let i = 0;
    return async () => values[i++]!;
  };
  expect(await leastStolen(seq([0.01, 0.5]), (s) => s)).toEqual({ result: 0.01, runs: 1 });
  expect(await leastStolen(seq([0.3, 0.02, 0.5]), (s) => s)).toEqual({ result: 0.02, runs: 2 });
  expect(await leastStolen(seq([0.3, 0.2, 0.25, 0.01]), (s) => s)).toEqual({ result: 0.2, runs: 3 });
});
