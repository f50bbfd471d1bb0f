// The whole machine's CPU time, from the first line of /proc/stat: what the throughput
// runs cost all programs together (client, servers, kernel), not one process. On a
// machine whose cores are all busy in a run, q/s is the cores divided by the CPU per
// answer, so a forwarder's ratio to the upstream queried directly is bounded by the
// CPU it adds per answer (docs/benchmarks.md, "Where the throughput goal sits").
import { readFileSync } from "node:fs";

export interface MachineTicks {
  /** clock ticks spent working (user, nice, system, irq, softirq), summed over all cores */
  busy: number;
  /**
   * clock ticks the hypervisor gave to other machines while this one had work: neither
   * work nor idle, and on a shared host the first sign that a run was disturbed
   */
  steal: number;
  /** all clock ticks, summed over all cores */
  total: number;
}

/** reads `cpu  user nice system idle iowait irq softirq steal ...` (proc(5); guest time is already in user) */
export function parseMachineTicks(procStat: string): MachineTicks | null {
  const line = procStat.split("\n", 1)[0] ?? "";
  const f = line.trim().split(/\s+/);
  if (f[0] !== "cpu" || f.length < 5) return null;
  const n = f.slice(1, 9).map(Number);
  if (n.some((x) => !Number.isFinite(x))) return null;
  const at = (i: number) => n[i] ?? 0;
  return { busy: at(0) + at(1) + at(2) + at(5) + at(6), steal: at(7), total: n.reduce((a, b) => a + b, 0) };
}

export function machineTicks(): MachineTicks | null {
  try {
    return parseMachineTicks(readFileSync("/proc/stat", "utf8"));
  } catch {
    return null;
  }
}

export interface MachineUse {
  /** cores busy on average over the interval (busy share of all ticks x cores) */
  coresBusy: number;
  /** the share of all ticks stolen by the hypervisor (0..1) */
  stolen: number;
  /** busy CPU time in the interval, seconds (ticks of 1/100 s) */
  busySeconds: number;
}

export function machineUse(a: MachineTicks, b: MachineTicks, cores: number): MachineUse | null {
  const total = b.total - a.total;
  if (total <= 0) return null;
  const busy = b.busy - a.busy;
  return { coresBusy: (busy / total) * cores, stolen: (b.steal - a.steal) / total, busySeconds: busy / 100 };
}

/** steal above which a measured run counts as disturbed from outside and is run again */
export const STEAL_AGAIN = 0.05;
/** how often one measurement is run at most */
export const STEAL_TRIES = 3;

/**
 * Runs `measure` again while the hypervisor stole more than STEAL_AGAIN of the machine
 * during it, STEAL_TRIES times at most, and keeps the least disturbed run. Steal is time
 * the host gave to other machines while this one had work: a run with much of it
 * measures the host's other tenants (this machine saw 10-40% for minutes at a time),
 * which have nothing to do with what the run measures: keeping the quietest run picks a
 * quiet moment of the host, not a favourable result. `runs` says how many it took.
 */
export async function leastStolen<T>(measure: () => Promise<T>, stolen: (r: T) => number): Promise<{ result: T; runs: number }> {
  let best = await measure();
  let runs = 1;
  while (stolen(best) > STEAL_AGAIN && runs < STEAL_TRIES) {
    const r = await measure();
    runs++;
    if (stolen(r) < stolen(best)) best = r;
  }
  return { result: best, runs };
}
