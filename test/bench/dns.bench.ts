// DNS throughput benchmark (not a test): part of `make bench`, or on its own
//   node_modules/.bin/bun test/bench/dns.bench.ts
// One lab, Knot in the world with 2000 names, and dnsperf in the sandbox sending the same
// load (4 clients, the 2000 names, type A) to each resolver in turn:
//   knot direct, dnsmasq forwarding (no cache), dnsmasq + --nftset, egressctl serve
//   (dns+nftables, learning every answer), egressctl serve dns-only, egressctl answering
//   denied names locally (NXDOMAIN); and, for reference, a minimal Bun forwarder as is,
//   learning through libnftables, and judging queries and answers with egressctl's own
//   functions (test/bench/dns-min-forwarder.ts), as is and behind egressctl's dns-only
//   ruleset. Beside each: how busy the whole machine was and its CPU per answer.
// Then what users feel (test/bench/serve-feel.ts): p50/p99 latency at a fixed 5,000 q/s
// through serve's redirect beside Knot queried directly by the same client (and, as
// Bun's floor, the minimal forwarders and serve queried at their own ports),
// resident memory idle and after 1M and 2M queries, and exec to ready, beside a compiled
// program that uses only the runtime features serve needs (test/bench/bun-floor.ts).
// It reports ratios and never asserts speed: the machines are shared and noisy, so a ratio
// from one run means something, an absolute number does not (docs/benchmarks.md).
// Knot and the dnsmasq runs come first, before any egressctl table exists in the sandbox.
// BENCH_DNS_SECONDS (default 10) sets the length of each measured throughput run,
// BENCH_LATENCY_SECONDS (default 20) and BENCH_LATENCY_QPS (default 5000) the latency
// runs, BENCH_READY_RUNS (default 5) how often exec to ready is measured.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { LAB, Lab, waitFor } from "../support/lab.ts";
import { startKnot } from "../support/knot.ts";
import { BIN, startServe, type Served } from "../support/serve.ts";
import { hostV4 } from "../support/zones.ts";
import { parseDnsperf, type Dnsperf } from "./dns-perf.ts";
import { leastStolen, machineTicks, machineUse, type MachineUse } from "./machine-cpu.ts";
import { bunFloor, execToReady, latencyBeside, memoryOverQueries, vmRssKb, type Floor, type Footprint, type Latency, type Resident, type Target } from "./serve-feel.ts";

const SECONDS = Number(process.env.BENCH_DNS_SECONDS ?? 10);
const WARMUP_SECONDS = 1;
const CLIENTS = 4;
const NAMES = 2000;
const PROXY_PORT = 15353;
const DNSMASQ_PORT = 5300;
const MIN_PORT = 5301;
const MIN_FORWARDER = join(import.meta.dir, "dns-min-forwarder.ts");
const KNOT_SIDE_PORT = 5353;
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 20);
const LATENCY_QPS = Number(process.env.BENCH_LATENCY_QPS ?? 5000);
const READY_RUNS = Number(process.env.BENCH_READY_RUNS ?? 5);

interface Row {
  tool: string;
  run: Dnsperf;
  /** CPU seconds the server process used during the measured run (user + system) */
  cpu: number | null;
  /** the whole machine during the measured run: every program and the kernel */
  machine: MachineUse | null;
  note?: string;
}

const lab = await Lab.create();
const rows: Row[] = [];
const rss: { when: string; kb: number | null }[] = [];
/** each latency run, and Knot queried directly in the segments beside it */
const latency: { target: Latency; baseline: Latency }[] = [];
let footprint: Footprint | null = null;
let ready: number[] = [];
let floor: Floor | null = null;
const started = performance.now();
try {
  const records = Array.from({ length: NAMES }, (_, i) => `n${i}.bench 300 A ${hostV4(i % 500)}`);
  // Knot also on a second port: the baseline of the latency runs, queried beside each
  // resolver in alternating segments, even while a DNS redirect (port 53 only) is in force
  const knot = await startKnot(lab, { zones: [{ origin: "example.com", records }], listen: [LAB.dnsV4, `${LAB.dnsV4}@${KNOT_SIDE_PORT}`] });
  const queries = lab.file("queries.txt", Array.from({ length: NAMES }, (_, i) => `n${i}.bench.example.com A\n`).join(""));

  const dnsperf = async (tool: string, server: string, port: number, pid: number | null, expect: string, note?: string) => {
    const args = ["dnsperf", "-s", server, "-p", String(port), "-d", queries, "-c", String(CLIENTS), "-t", "2"];
    await lab.exec("sandbox", [...args, "-l", String(WARMUP_SECONDS)], { timeoutMs: 30_000 });
    const measured = await leastStolen(
      async () => {
        const cpu0 = pid ? cpuSeconds(pid) : null;
        const m0 = machineTicks();
        const r = await lab.exec("sandbox", [...args, "-l", String(SECONDS)], { timeoutMs: (SECONDS + 30) * 1000 });
        const m1 = machineTicks();
        const cpu1 = pid ? cpuSeconds(pid) : null;
        const machine = m0 && m1 ? machineUse(m0, m1, navigatorCores()) : null;
        return { r, cpu: cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null, machine };
      },
      (m) => m.machine?.stolen ?? 0,
    );
    const { r, cpu, machine } = measured.result;
    if (measured.runs > 1) note = withNote(note, `measured ${measured.runs} times for steal, the least disturbed kept`);
    const run = parseDnsperf(r.stdout);
    if (!run) throw new Error(`dnsperf against ${tool}: no statistics (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    // a fast wrong answer is no result: every answer must carry the expected code
    if (!run.rcodes.startsWith(`${expect} `) || run.rcodes.includes(",")) note = withNote(note, `unexpected rcodes: ${run.rcodes}`);
    rows.push({ tool, run, cpu, machine, note });
    process.stderr.write(`  ${tool}: ${Math.round(run.qps)} q/s\n`);
  };

  // 1. the upstream itself
  await dnsperf("knot direct", LAB.dnsV4, 53, knot.proc.pid, "NOERROR");
  // latency at a fixed rate, beside Knot queried directly by the same client
  const knotSide: Target = { label: "knot direct", server: LAB.dnsV4, port: KNOT_SIDE_PORT };
  const feel = async (label: string, server: string, port: number) =>
    void latency.push(await latencyBeside(lab, { label, server, port }, knotSide, queries, LATENCY_QPS, LATENCY_SECONDS));

  // 2. dnsmasq as a plain forwarder, no cache
  const dnsmasqArgs = (name: string, extra: string[]) => [
    "dnsmasq", "-k", "--no-resolv", `--server=${LAB.dnsV4}`, "--cache-size=0", `--port=${DNSMASQ_PORT}`,
    "--listen-address=127.0.0.1", "--bind-interfaces", "--no-hosts", `--pid-file=${lab.dir}/${name}.pid`, "--user=root", ...extra,
  ];
  {
    const p = lab.spawn("sandbox", dnsmasqArgs("dnsmasq", []));
    await waitAnswers(lab, "127.0.0.1", DNSMASQ_PORT, p);
    await dnsperf("dnsmasq (no cache)", "127.0.0.1", DNSMASQ_PORT, p.pid, "NOERROR");
    await lab.stop(p);
  }

  // 3. dnsmasq adding every answer to timed nftables sets (table `inet bench`, ours)
  const benchTable = async () => {
    await lab.exec("sandbox", ["nft", "delete", "table", "inet", "bench"]);
    const nft = await lab.exec("sandbox", ["nft", "-f", "-"], {
      stdin: `table inet bench {
  set set4 { type ipv4_addr; flags timeout; timeout 300s; }
  set set6 { type ipv6_addr; flags timeout; timeout 300s; }
}\n`,
    });
    if (nft.code !== 0) throw new Error(`nft: ${nft.stderr}`);
  };
  const noteSet = async () => {
    const row = rows[rows.length - 1]!;
    row.note = withNote(row.note, `set4 holds ${await setSize(lab, "inet bench set4")} addresses`);
  };
  {
    await benchTable();
    const p = lab.spawn("sandbox", dnsmasqArgs("dnsmasq-nftset", ["--nftset=/example.com/4#inet#bench#set4,6#inet#bench#set6"]));
    await waitAnswers(lab, "127.0.0.1", DNSMASQ_PORT, p);
    await dnsperf("dnsmasq + nftset", "127.0.0.1", DNSMASQ_PORT, p.pid, "NOERROR");
    await noteSet();
    await lab.stop(p);
  }

  // reference: a minimal Bun forwarder (test/bench/dns-min-forwarder.ts), as is, with one
  // libnftables call per answer, and judging every query and answer with egressctl's own
  // pure functions: what the runtime allows, without egressctl's proxy around them
  const policy = (name: string, yaml: string) => lab.file(name, yaml);
  // Knot's own address is allowed so that serve's filter lets the latency baseline (Knot
  // queried directly, on its second port) out; serve's DNS path does not look at it
  const allow = policy("allow.yaml", `defaultAction: deny\negress:\n  - { action: allow, target: "*.bench.example.com" }\n  - { action: allow, target: ${LAB.dnsV4} }\n`);
  const variants = [
    { label: "minimal Bun forwarder", args: [] as string[] },
    { label: "minimal Bun forwarder + learning", args: ["--learn"] },
    { label: "minimal Bun forwarder + judging", args: ["--judge", allow] },
  ];
  for (const v of variants) {
    await benchTable();
    const p = lab.spawn("sandbox", [process.execPath, MIN_FORWARDER, String(MIN_PORT), LAB.dnsV4, ...v.args]);
    await waitAnswers(lab, "127.0.0.1", MIN_PORT, p);
    await dnsperf(v.label, "127.0.0.1", MIN_PORT, p.pid, "NOERROR");
    if (v.args[0] === "--learn") await noteSet();
    // Bun's floor for latency: the same fixed rate, straight at the forwarder's port
    else await feel(`${v.label}, at its port`, "127.0.0.1", MIN_PORT);
    await lab.stop(p);
  }
  await lab.exec("sandbox", ["nft", "delete", "table", "inet", "bench"]);

  // The same forwarders behind egressctl's own dns-only ruleset, on serve's port, their
  // upstream socket carrying serve's exempt mark: the DNS redirect sends the sandbox's
  // port-53 queries to them, and its conntrack and nat hooks are on every datagram of
  // the namespace, as they are for serve. The floor for serve dns-only, and for the
  // latency serve adds through the redirect.
  const ruleset = (extra: string[]) =>
    lab.exec("sandbox", [BIN, "apply", ...extra, "--always-rules-dir", join(lab.dir, "always-rules")], { env: { EGRESSCTL_ASSUME_SANDBOX: "1" } });
  const applied = await ruleset([allow, "--mode", "dns-only", "--proxy-port", String(PROXY_PORT)]);
  if (applied.code !== 0) throw new Error(`egressctl apply: ${applied.stderr}`);
  for (const v of [
    { label: "minimal Bun forwarder, egressctl ruleset", args: ["--exempt"] },
    { label: "minimal Bun forwarder + judging, egressctl ruleset", args: ["--judge", allow, "--exempt"] },
  ]) {
    const p = lab.spawn("sandbox", [process.execPath, MIN_FORWARDER, String(PROXY_PORT), LAB.dnsV4, ...v.args]);
    await waitAnswers(lab, "127.0.0.1", PROXY_PORT, p);
    await dnsperf(v.label, "127.0.0.1", PROXY_PORT, p.pid, "NOERROR");
    if (v.args[0] === "--judge") await feel("minimal Bun forwarder + judging, through the redirect", LAB.dnsV4, 53);
    await lab.stop(p);
  }
  await ruleset(["--delete"]);

  // 4.-6. egressctl serve, queried directly at its proxy port
  const denyAll = policy("deny.yaml", "defaultAction: deny\negress: []\n");
  const serve = async (tool: string, file: string, mode: string, expect: string, measureRss: boolean) => {
    const served: Served = await startServe(lab, ["serve", file, "--upstream", LAB.dnsV4, "--mode", mode, "--cleanup-on-exit", "--dns-port", String(PROXY_PORT)]);
    try {
      const pid = served.proc.pid;
      if (measureRss) rss.push({ when: `${tool}, idle after ready`, kb: vmRssKb(pid) });
      await dnsperf(tool, "127.0.0.1", PROXY_PORT, pid, expect);
      const row = rows[rows.length - 1]!;
      if (mode === "dns+nftables") {
        const n = await setSize(lab, "inet egressctl learned4");
        row.note = withNote(row.note, `learned4 holds ${n} addresses`);
      }
      if (measureRss) rss.push({ when: `${tool}, after the load`, kb: vmRssKb(pid) });
      // the proxy's own counters: a learning failure or overload answers SERVFAIL fast
      const st = (JSON.parse((await served.get("/status")).body || "{}") as { dns?: Record<string, number> }).dns ?? {};
      const counters = ["learnBatches", "learnFailures", "servfail", "overloaded", "upstreamTimeouts"].map((k) => `${k} ${st[k] ?? "?"}`).join(", ");
      row.note = withNote(row.note, counters);
    } finally {
      await served.stop();
    }
  };
  await serve("egressctl dns+nftables", allow, "dns+nftables", "NOERROR", true);
  await serve("egressctl dns-only", allow, "dns-only", "NOERROR", true);
  await serve("egressctl denied (local NXDOMAIN)", denyAll, "dns+nftables", "NXDOMAIN", false);

  // what users feel: the application's queries go to port 53 and meet the redirect
  const serveArgs = ["serve", allow, "--upstream", LAB.dnsV4, "--mode", "dns+nftables", "--dns-port", String(PROXY_PORT)];
  {
    const served = await startServe(lab, [...serveArgs, "--cleanup-on-exit"]);
    try {
      await feel("egressctl dns+nftables, through the redirect", LAB.dnsV4, 53);
      // beside the minimal forwarder, queried the same way (no redirect in between)
      await feel("egressctl dns+nftables, at its port", "127.0.0.1", PROXY_PORT);
    } finally {
      await served.stop();
    }
  }
  {
    const served = await startServe(lab, [...serveArgs, "--cleanup-on-exit"]);
    try {
      footprint = await memoryOverQueries(lab, served.proc.pid, "127.0.0.1", PROXY_PORT, queries, NAMES);
    } finally {
      await served.stop();
    }
  }
  ready = await execToReady(lab, serveArgs, READY_RUNS);
  floor = await bunFloor(lab, READY_RUNS);
} finally {
  await lab.destroy();
}

report();

function report(): void {
  const knot = rows.find((r) => r.tool === "knot direct")?.run.qps;
  const nftset = rows.find((r) => r.tool === "dnsmasq + nftset")?.run.qps;
  const ratio = (q: number, base?: number) => (base ? (q / base).toFixed(2) : "-");
  const knotRow = rows.find((r) => r.tool === "knot direct");
  const perAnswer = (r: Row) => (r.machine ? (r.machine.busySeconds * 1e6) / Math.max(1, r.run.completed) : null);
  const knotCost = knotRow ? perAnswer(knotRow) : null;
  const us = (v: number | null) => (v === null ? "-" : `${v.toFixed(1)} µs`);
  const head = ["tool", "q/s", "avg latency", "lost", "server CPU/1k q", "machine busy", "machine CPU/answer", "CPU-bound vs knot", "vs knot", "vs dnsmasq+nftset"];
  const body = rows.map((r) => [
    r.tool,
    Math.round(r.run.qps).toString(),
    `${(r.run.avgLatencyS * 1000).toFixed(2)} ms`,
    `${r.run.lost} (${((100 * r.run.lost) / Math.max(1, r.run.sent)).toFixed(2)}%)`,
    r.cpu === null ? "-" : `${((r.cpu * 1000) / Math.max(1, r.run.completed) * 1000).toFixed(1)} ms`,
    r.machine ? `${r.machine.coresBusy.toFixed(2)} cores, steal ${(r.machine.stolen * 100).toFixed(0)}%` : "-",
    us(perAnswer(r)),
    // with every core busy in both runs, q/s is cores over CPU per answer: this ratio
    // is what the row's CPU per answer allows, whatever its threads
    knotCost !== null && perAnswer(r) !== null ? (knotCost / perAnswer(r)!).toFixed(2) : "-",
    ratio(r.run.qps, knot),
    ratio(r.run.qps, nftset),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`;
  console.log(`\nDNS throughput: dnsperf -c ${CLIENTS} -l ${SECONDS} over ${NAMES} names (type A), from the sandbox; ${navigatorCores()} cores`);
  console.log(line(head));
  console.log(`|${widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : "-".repeat(w + 1) + ":")).join("|")}|`);
  for (const b of body) console.log(line(b));
  for (const r of rows) if (r.note) console.log(`  ${r.tool}: ${r.note}`);
  console.log("\negressctl resident memory (VmRSS):");
  for (const m of rss) console.log(`  ${m.when.padEnd(44)} ${m.kb === null ? "?" : `${(m.kb / 1024).toFixed(1)} MB`}`);
  reportFeel();
  console.log(`\n(${((performance.now() - started) / 1000).toFixed(0)} s; one run on a shared machine: compare ratios, not absolute numbers)`);
}

function reportFeel(): void {
  const ms = (v: number) => `${v.toFixed(2)} ms`;
  console.log(`\nLatency at ${LATENCY_QPS} q/s (dnsperf -Q ${LATENCY_QPS} -c 4 -v, the same client and names; ${LATENCY_SECONDS} s each, in segments alternating with Knot queried directly):`);
  const width = Math.max(...latency.flatMap((l) => [l.target.label.length, l.baseline.label.length]));
  const line = (l: Latency) => {
    const codes = Object.entries(l.rcodes).map(([k, v]) => `${k} ${v}`).join(", ");
    console.log(`  ${l.label.padEnd(width)} p50 ${ms(l.p50)}  p99 ${ms(l.p99)}  p99.9 ${ms(l.p999)}  (${l.answers} answers, ${l.lost} lost; ${codes}; ${l.slow.answers} over 1 ms in ${l.slow.runs} runs; steal ${(l.stolen * 100).toFixed(0)}%${l.reruns ? `, ${l.reruns} segment${l.reruns === 1 ? "" : "s"} run again for steal` : ""})`);
  };
  for (const { target, baseline } of latency) {
    line(target);
    line(baseline);
  }
  for (const { target: l, baseline: k } of latency) console.log(`  added by ${l.label}: p50 ${ms(l.p50 - k.p50)}, p99 ${ms(l.p99 - k.p99)}, p99.9 ${ms(l.p999 - k.p999)}`);
  const mb = (kb: number | null) => (kb === null ? "?" : `${(kb / 1024).toFixed(1)} MB`);
  const split = (r: Resident | null) => (r ? `${mb(r.rss)} (anonymous ${mb(r.anon)}, file-backed ${mb(r.file)})` : "?");
  if (footprint) {
    const growth = (a: number | null, b: number | null) => (a !== null && b !== null ? `${((b - a) / 1024).toFixed(1)} MB` : "?");
    const n = (k: number) => (k % 1_000_000 === 0 ? `${k / 1_000_000}M` : `${k}`);
    const f = footprint;
    console.log(`\negressctl dns+nftables resident memory (VmRSS): idle ${split(f.idle)}`);
    console.log(`  as the load ends: after ${n(f.step)} queries ${mb(f.after1MKb)}, after ${n(2 * f.step)} ${mb(f.after2MKb)} (growth over the second ${n(f.step)}: ${growth(f.after1MKb, f.after2MKb)}; answers ${f.completed.join(" + ")})`);
    console.log(`  a second later:   after ${n(f.step)} queries ${mb(f.settled1MKb)}, after ${n(2 * f.step)} ${mb(f.settled2MKb)} (growth: ${growth(f.settled1MKb, f.settled2MKb)})`);
  }
  if (ready.length) {
    const med = ready[Math.floor(ready.length / 2)]!;
    console.log(`exec to ready (--ready-file), ${ready.length} starts: median ${med.toFixed(0)} ms, min ${ready[0]!.toFixed(0)}, max ${ready[ready.length - 1]!.toFixed(0)}`);
  }
  if (floor) {
    const med = floor.ready[Math.floor(floor.ready.length / 2)]!;
    console.log(`Bun's floor (test/bench/bun-floor.ts, compiled): idle ${split(floor.idle)}; exec to ready median ${med.toFixed(0)} ms (min ${floor.ready[0]!.toFixed(0)}, max ${floor.ready[floor.ready.length - 1]!.toFixed(0)})`);
  }
}

/** a row's note with one more remark */
function withNote(note: string | undefined, more: string): string {
  return note ? `${note}; ${more}` : more;
}

/** utime + stime of a process, in seconds (clock ticks of 1/100 s on Linux). */
function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // fields 14 and 15 of proc(5)
  } catch {
    return null;
  }
}

function navigatorCores(): number {
  return navigator.hardwareConcurrency;
}

async function setSize(l: Lab, set: string): Promise<number> {
  const r = await l.exec("sandbox", ["nft", "-j", "list", "set", ...set.split(" ")]);
  try {
    const j = JSON.parse(r.stdout) as { nftables: { set?: { elem?: unknown[] } }[] };
    return j.nftables.find((x) => x.set)?.set?.elem?.length ?? 0;
  } catch {
    return -1;
  }
}

async function waitAnswers(l: Lab, server: string, port: number, p: { exitCode: number | null; stderr: ReadableStream }): Promise<void> {
  await waitFor(`a resolver on ${server}:${port}`, async () => {
    if (p.exitCode !== null) throw new Error(`exited ${p.exitCode}: ${await new Response(p.stderr).text()}`);
    const r = await l.exec("sandbox", ["kdig", "+short", "+timeout=1", "+retry=0", `@${server}`, "-p", String(port), "n0.bench.example.com", "A"]);
    return r.code === 0 && r.stdout.trim().length > 0;
  });
}
