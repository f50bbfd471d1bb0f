// Benchmark (not a test): how long a restarted serve takes to adopt full learned sets.
// serve is started in a lab, SIGKILLed, its learned4 set filled with N elements (each
// with a name as its comment, an hour to live, as a busy serve leaves them), and serve
// is started again: the time from spawn to the ready file, and to `learned.adopted`,
// is what the sandbox waits without DNS. Also timed on their own, in the same namespace:
// the table's JSON listing through libnftables and the netlink dump of the learned sets.
// Run: make bench-adopt   (BENCH_ADOPT=N elements, default 65,536: a full set at the default
// bound; BENCH_BIN=path runs another build of egressctl instead, to compare)
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Lab, waitFor } from "../support/lab.ts";
import { BIN } from "../support/serve.ts";

const N = Number(process.env.BENCH_ADOPT ?? 65_536);
/** another build to compare with (an older one takes no bound flags: its sets have no size) */
const OTHER = process.env.BENCH_BIN;
const SERVE = OTHER ?? BIN;
const BOUND_FLAGS = OTHER ? [] : ["--learn-max-elements", String(Math.max(N, 65_536))];

if (process.argv.includes("--inside")) await inside();
else if (process.argv.includes("--prober")) await prober();
else await outside();

/**
 * In the sandbox namespace: a query every 5 ms to the proxy's port for a name the policy
 * denies (answered by the proxy itself, so only serve's own availability counts), until
 * the flag file goes; prints the longest time without an answer once answers began.
 */
async function prober(): Promise<void> {
  const flag = process.argv[process.argv.indexOf("--prober") + 1]!;
  const q = Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 5, ...Buffer.from("stall"), 7, ...Buffer.from("invalid"), 0, 0, 1, 0, 1]);
  let last = 0;
  let longest = 0;
  let answers = 0;
  const sock = await Bun.udpSocket({
    socket: {
      data() {
        const now = performance.now();
        if (last) longest = Math.max(longest, now - last);
        last = now;
        answers++;
      },
    },
  });
  while (existsSync(flag)) {
    sock.send(q, 15353, "127.0.0.1");
    await Bun.sleep(5);
  }
  sock.close();
  console.log(JSON.stringify({ longest: Math.round(longest), answers }));
}

/** in the sandbox namespace: the two ways to read the learned sets, timed */
async function inside(): Promise<void> {
  const { openNftBackend } = await import("../../src/effects/nft/backend.ts");
  const nft = openNftBackend({ nftBackend: "library" });
  if ("unavailable" in nft) throw new Error(nft.unavailable);
  let t0 = performance.now();
  const listing = nft.listTableJson();
  const listMs = performance.now() - t0;
  t0 = performance.now();
  const { readKernelState } = await import("../../src/core/status/kernel-state.ts");
  const st = readKernelState(listing);
  const parseMs = performance.now() - t0;
  console.log(`| libnftables JSON listing of the table | ${listMs.toFixed(0)} ms | ${st.learnedEntries.length} entries (+${parseMs.toFixed(0)} ms to read them) |`);
  const reader = "../../src/effects/nft/netlink-reader.ts";
  if (!existsSync(join(import.meta.dir, reader))) return;
  const { readLearnedSets } = await import(reader);
  t0 = performance.now();
  const dumped = readLearnedSets();
  const dumpMs = performance.now() - t0;
  if (!dumped.ok) throw new Error(dumped.error);
  console.log(`| netlink dump of learned4 and learned6 | ${dumpMs.toFixed(0)} ms | ${dumped.entries.length} entries |`);
}

async function outside(): Promise<void> {
  const lab = await Lab.create();
  try {
    const policy = lab.file("policy.json", JSON.stringify({ defaultAction: "deny", egress: [{ action: "allow", target: "*.example.com" }] }));
    const run = async (tag: string) => {
      const ready = join(lab.dir, `${tag}.ready`);
      const t0 = performance.now();
      const p = lab.spawn("sandbox", [SERVE, "serve", policy, "--upstream", "198.51.100.53", "--http-addr", "off", ...BOUND_FLAGS, "--status-socket", join(lab.dir, `${tag}.sock`), "--ready-file", ready], {
        env: { EGRESSCTL_ASSUME_SANDBOX: "1", OPENSANDBOX_EGRESS_DOH_BLOCKLIST: "" },
      });
      let err = "";
      void (async () => {
        for await (const c of p.stderr) err += new TextDecoder().decode(c);
      })();
      let adoptedAt = -1;
      // DNS while serve starts: the longest time the proxy answered nothing
      const flag = lab.file(`${tag}.probing`, "");
      const probe = lab.spawn("sandbox", [process.execPath, import.meta.path, "--prober", flag]);
      await waitFor("serve ready", () => {
        if (p.exitCode !== null) throw new Error(`serve exited: ${err}`);
        if (adoptedAt < 0 && err.includes('"learned.adopted"')) adoptedAt = performance.now() - t0;
        return existsSync(ready);
      }, 120_000);
      const readyMs = performance.now() - t0;
      rmSync(flag);
      const stall = JSON.parse(await new Response(probe.stdout).text()) as { longest: number; answers: number };
      // CPU time serve used up to ready (user + system, the kernel's dump work included):
      // the machine is shared, and this, unlike wall time, does not grow with its load
      const stat = (await lab.exec("sandbox", ["cat", `/proc/${p.pid}/stat`])).stdout;
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const cpuMs = ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime, stime in USER_HZ (100)
      await lab.stop(p, "SIGKILL");
      return { readyMs, adoptedAt, err, cpuMs, stall };
    };
    const first = await run("first");
    // N elements with comments, in one nft transaction (as a full set a serve left);
    // IPv6 documentation addresses, which the address guard takes as public
    const lines = ["add table inet egressctl"];
    for (let i = 0; i < N; i += 1000) {
      const els: string[] = [];
      for (let j = i; j < Math.min(N, i + 1000); j++) els.push(`2001:db8:ffff:${(j >> 16).toString(16)}::${(j & 0xffff).toString(16)} timeout 3500s comment "n${j}.example.com"`);
      lines.push(`add element inet egressctl learned6 { ${els.join(", ")} }`);
    }
    const fill = await lab.exec("sandbox", ["nft", "-f", lab.file("fill.nft", `${lines.join("\n")}\n`)], { timeoutMs: 300_000 });
    if (fill.code !== 0) throw new Error(`fill: ${fill.stderr}`);
    const reads = await lab.exec("sandbox", [process.execPath, import.meta.path, "--inside"], { timeoutMs: 300_000 });
    if (reads.code !== 0) throw new Error(`reads: ${reads.stderr}`);
    const again = await run("restart");
    if (process.env.BENCH_TRACE) console.log(again.err.split("\n").filter((l) => l.startsWith("T ") || l.startsWith("A ")).join("\n"));
    const adopted = /"event":"learned.adopted"[^\n]*/.exec(again.err)?.[0] ?? "(no learned.adopted event)";
    // a fast adoption that lost elements would be no result: every element is judged once
    const judged = /"adopted":(\d+),"removed":(\d+)/.exec(adopted);
    if (!OTHER && (!judged || Number(judged[1]) + Number(judged[2]) !== N)) throw new Error(`adoption judged other than ${N} elements: ${adopted}`);
    console.log(`adopting ${N} learned elements at restart (${SERVE})\n`);
    console.log("| step | time | |\n|---|---:|---|");
    process.stdout.write(reads.stdout);
    console.log(`| restart: spawn to learned.adopted | ${again.adoptedAt.toFixed(0)} ms | ${adopted.replace(/\|/g, "/")} |`);
    console.log(`| restart: spawn to ready | ${again.readyMs.toFixed(0)} ms | |`);
    console.log(`| restart: serve's CPU time (user + system) to ready | ${again.cpuMs.toFixed(0)} ms | first start, empty sets: ${first.cpuMs.toFixed(0)} ms |`);
    console.log(`| restart: longest time the proxy answered no query, once it answered | ${again.stall.longest} ms | first start: ${first.stall.longest} ms (a query every 5 ms) |`);
    const load = (await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).join(" ");
    console.log(`\nload average at the end: ${load}`);
  } finally {
    await lab.destroy();
  }
}
