// What a user of the sandbox feels from egressctl, measured for `make bench`
// (test/bench/dns.bench.ts runs these; docs/benchmarks.md "What users feel"):
//   - added latency: dnsperf at a fixed rate, the per-query latencies (-v) of the same
//     client, through serve's redirect and against Knot directly, in alternating
//     segments (latencyBeside); p50, p99, p99.9;
//   - resident memory after ready, after 1M and after 2M queries (growth over the second);
//   - exec to ready: from the exec of the binary to its --ready-file;
//   - Bun's floor for the last two: bun-floor.ts, compiled like egressctl, which uses
//     the runtime features serve needs and nothing of egressctl.
// Numbers are reported, never asserted.
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { type Lab, waitFor } from "../support/lab.ts";
import { startServe } from "../support/serve.ts";
import { parseDnsperf, parseLatencies, percentile, type Slow } from "./dns-perf.ts";
import { leastStolen, machineTicks } from "./machine-cpu.ts";

export interface Latency {
  label: string;
  answers: number;
  lost: number;
  p50: number;
  p99: number;
  p999: number;
  rcodes: Record<string, number>;
  /** answers over 1 ms, and the runs they come in (dns-perf.ts `slowRuns`) */
  slow: Slow;
  /** the share of the machine's time the hypervisor took meanwhile (machine-cpu.ts) */
  stolen: number;
  /** segments measured again because the host stole too much of the machine (leastStolen) */
  reruns: number;
}

/** Where a latency run sends its queries. */
export interface Target {
  label: string;
  server: string;
  port: number;
}

/**
 * `dnsperf -Q rate -v` against `target` and against `baseline` (the same client, queries
 * and rate), after a 1 s warm-up each; latencies in ms. `seconds` each, cut into
 * `segments` runs that alternate (baseline first, then the order flips each
 * segment), so both sample the same stretch of a shared machine: a noisy minute raises
 * both sides rather than whichever ran in it, and the difference of their percentiles
 * is what the target adds, not when it happened to run. A pair of segments during which
 * the host stole more than 5% of the machine is measured again (machine-cpu.ts
 * leastStolen).
 */
export async function latencyBeside(lab: Lab, target: Target, baseline: Target, queries: string, rate: number, seconds: number, segments = 4): Promise<{ target: Latency; baseline: Latency }> {
  await warmUp(lab, baseline, queries, rate);
  await warmUp(lab, target, queries, rate);
  const each = Math.max(1, Math.round(seconds / segments));
  const runs: { target: Segment[]; baseline: Segment[] } = { target: [], baseline: [] };
  let reruns = 0;
  for (let i = 0; i < segments; i++) {
    const order = i % 2 === 0 ? (["baseline", "target"] as const) : (["target", "baseline"] as const);
    // the pair is measured again (both sides) while the host disturbed either
    const pair = await leastStolen(
      async () => {
        const got: Partial<Record<"target" | "baseline", Segment>> = {};
        for (const side of order) got[side] = await segment(lab, side === "target" ? target : baseline, queries, rate, each);
        return got as Record<"target" | "baseline", Segment>;
      },
      (p) => Math.max(p.target.steal / Math.max(1, p.target.ticks), p.baseline.steal / Math.max(1, p.baseline.ticks)),
    );
    reruns += pair.runs - 1;
    runs.target.push(pair.result.target);
    runs.baseline.push(pair.result.baseline);
  }
  return { target: pooled(target.label, runs.target, reruns), baseline: pooled(`${baseline.label}, beside it`, runs.baseline, reruns) };
}

interface Segment {
  ms: Float64Array;
  lost: number;
  rcodes: Record<string, number>;
  slow: Slow;
  /** the machine's clock ticks over the segment: stolen, and all */
  steal: number;
  ticks: number;
}

function dnsperfArgs(t: Target, queries: string, rate: number): string[] {
  return ["dnsperf", "-s", t.server, "-p", String(t.port), "-d", queries, "-c", "4", "-t", "2", "-Q", String(rate)];
}

async function warmUp(lab: Lab, t: Target, queries: string, rate: number): Promise<void> {
  await lab.exec("sandbox", [...dnsperfArgs(t, queries, rate), "-l", "1"], { timeoutMs: 30_000 });
}

async function segment(lab: Lab, t: Target, queries: string, rate: number, seconds: number): Promise<Segment> {
  const before = machineTicks();
  const r = await lab.exec("sandbox", [...dnsperfArgs(t, queries, rate), "-l", String(seconds), "-v"], { timeoutMs: (seconds + 30) * 1000 });
  const after = machineTicks();
  const stats = parseDnsperf(r.stdout);
  const { ms, rcodes, slow } = parseLatencies(r.stdout);
  if (!stats || ms.length === 0) throw new Error(`dnsperf -v against ${t.label}: no latencies (exit ${r.code}):\n${r.stderr}`);
  const steal = before && after ? after.steal - before.steal : 0;
  return { ms, lost: stats.lost, rcodes, slow, steal, ticks: before && after ? after.total - before.total : 0 };
}

/** the segments of one side as one run: latencies pooled, counts summed */
function pooled(label: string, segs: Segment[], reruns: number): Latency {
  const ms = new Float64Array(segs.reduce((n, s) => n + s.ms.length, 0));
  let at = 0;
  for (const s of segs) {
    ms.set(s.ms, at);
    at += s.ms.length;
  }
  ms.sort();
  const rcodes: Record<string, number> = {};
  for (const s of segs) for (const [k, v] of Object.entries(s.rcodes)) rcodes[k] = (rcodes[k] ?? 0) + v;
  const sum = (f: (s: Segment) => number) => segs.reduce((n, s) => n + f(s), 0);
  const slow = { answers: sum((s) => s.slow.answers), runs: sum((s) => s.slow.runs) };
  const stolen = sum((s) => s.steal) / Math.max(1, sum((s) => s.ticks));
  return { label, answers: ms.length, lost: sum((s) => s.lost), p50: percentile(ms, 50), p99: percentile(ms, 99), p999: percentile(ms, 99.9), rcodes, slow, stolen, reruns };
}

export interface Footprint {
  idleKb: number | null;
  /** the same, split into anonymous and file-backed pages */
  idle: Resident | null;
  /** at the end of the first million (the working set under load) */
  after1MKb: number | null;
  after2MKb: number | null;
  /** one second later, idle again (what the process keeps) */
  settled1MKb: number | null;
  settled2MKb: number | null;
  /** queries sent in each step (a million unless BENCH_MEMORY_QUERIES says otherwise) */
  step: number;
  /** answers dnsperf counted in each step */
  completed: [number, number];
}

/**
 * Resident memory of a serve (pid) idle, then after each of two million queries at full
 * speed, read as the load ends and again a second later (BENCH_MEMORY_QUERIES changes
 * the million, for a quick trial).
 */
export async function memoryOverQueries(lab: Lab, pid: number, server: string, port: number, queries: string, names: number): Promise<Footprint> {
  const idle = residentKb(pid);
  const idleKb = idle?.rss ?? null;
  const runs = Math.max(1, Math.round(Number(process.env.BENCH_MEMORY_QUERIES ?? 1_000_000) / names));
  const million = async () => {
    const r = await lab.exec("sandbox", ["dnsperf", "-s", server, "-p", String(port), "-d", queries, "-c", "4", "-t", "2", "-n", String(runs)], { timeoutMs: 600_000 });
    const s = parseDnsperf(r.stdout);
    if (!s) throw new Error(`dnsperf (1M queries): no statistics (exit ${r.code}):\n${r.stderr}`);
    return s.completed;
  };
  const settled = async () => (await Bun.sleep(1000), vmRssKb(pid));
  const first = await million();
  const after1MKb = vmRssKb(pid);
  const settled1MKb = await settled();
  const second = await million();
  const after2MKb = vmRssKb(pid);
  return { idleKb, idle, after1MKb, after2MKb, settled1MKb, settled2MKb: await settled(), step: runs * names, completed: [first, second] };
}

/**
 * Exec to ready, `times` times: a shell writes the time (ns) and execs serve, which
 * writes its --ready-file once the proxy listens, the ruleset is loaded and the first
 * self-test ran; the file's mtime minus that time. Each serve is stopped (and its
 * ruleset removed) before the next.
 */
export async function execToReady(lab: Lab, args: string[], times: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < times; i++) {
    const t0 = join(lab.dir, `exec-${i}.ns`);
    const served = await startServe(lab, [...args, "--cleanup-on-exit"], { prefix: ["sh", "-c", `date +%s%N > ${t0}; exec "$@"`, "sh"] });
    const ready = statSync(served.readyFile, { bigint: true }).mtimeNs;
    out.push(Number(ready - BigInt(readFileSync(t0, "utf8").trim())) / 1e6);
    await served.stop();
  }
  return out.sort((a, b) => a - b);
}

/** resident memory of a process, kB: all of it, anonymous (heap, JIT code) and file-backed (the binary's pages) */
export interface Resident {
  rss: number;
  anon: number;
  file: number;
}

export function residentKb(pid: number): Resident | null {
  try {
    const text = readFileSync(`/proc/${pid}/status`, "utf8");
    const field = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(text)?.[1] ?? NaN);
    const r = { rss: field("VmRSS"), anon: field("RssAnon"), file: field("RssFile") };
    return Number.isFinite(r.rss) ? r : null;
  } catch {
    return null;
  }
}

export interface Floor {
  /** exec to ready file, ms, ascending */
  ready: number[];
  /** idle, right after ready (as serve's idle figure) */
  idle: Resident | null;
}

/**
 * Bun's floor: bun-floor.ts compiled into the lab's directory (as scripts/compile.ts
 * compiles egressctl), its exec to ready `times` times, then its resident memory idle.
 */
export async function bunFloor(lab: Lab, times: number): Promise<Floor> {
  const bin = join(lab.dir, "bun-floor");
  const built = Bun.spawnSync([process.execPath, "build", "--compile", "--bytecode", "--format=esm", join(import.meta.dir, "bun-floor.ts"), "--outfile", bin], { stderr: "pipe" });
  if (built.exitCode !== 0) throw new Error(`compiling bun-floor.ts: ${built.stderr.toString()}`);
  const start = async (i: number, extra: string[]) => {
    const t0 = join(lab.dir, `floor-${i}.ns`);
    const readyFile = join(lab.dir, `floor-${i}.ready`);
    const proc = lab.spawn("sandbox", ["sh", "-c", `date +%s%N > ${t0}; exec "$@"`, "sh", bin, readyFile, lab.dir, ...extra]);
    await waitFor("bun-floor ready", () => existsSync(readyFile), 15_000);
    const ms = Number(statSync(readyFile, { bigint: true }).mtimeNs - BigInt(readFileSync(t0, "utf8").trim())) / 1e6;
    return { proc, ms };
  };
  const ready: number[] = [];
  for (let i = 0; i < times; i++) {
    const { proc, ms } = await start(i, []);
    ready.push(ms);
    await lab.stop(proc);
  }
  const { proc } = await start(times, []);
  const idle = residentKb(proc.pid);
  await lab.stop(proc);
  return { ready: ready.sort((a, b) => a - b), idle };
}

export function vmRssKb(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}
