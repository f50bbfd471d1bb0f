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
