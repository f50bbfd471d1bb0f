// Benchmark (not a test): how long a restarted serve takes to adopt full learned sets.
// serve is started in a lab, SIGKILLed, its learned4 set filled with N elements (each
// with a name as its comment, an hour to live, as a busy serve leaves them), and serve
// is started again: the time from spawn to the ready file, and to `learned.adopted`,
// is what the sandbox waits without DNS. Also timed on their own, in the same namespace:
// the table's JSON listing through libnftables and the netlink dump of the learned sets.
// Run: make bench-adopt   (BENCH_ADOPT=N elements, default 65,536: a full set at the default
// bound; BENCH_BIN=path runs another build of egressctl instead, to compare)
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Lab, waitFor } from "../support/lab.ts";
import { BIN } from "../support/serve.ts";

const N = Number(process.env.BENCH_ADOPT ?? 65_536);
/** another build to compare with (an older one takes no bound flags: its sets have no size) */
const OTHER = process.env.BENCH_BIN;
const SERVE = OTHER ?? BIN;
const BOUND_FLAGS = OTHER ? [] : ["--learn-max-elements", String(Math.max(N, 65_536))];

if (process.argv.includes("--inside")) await inside();
else await outside();

/** in the sandbox namespace: the two ways to read the learned sets, timed */
async function inside(): Promise<void> {
  const { openNftBackend } = await import("../../src/effects/nft/backend.ts");
  const nft = openNftBackend({ EGRESSCTL_NFT_BACKEND: "library" });
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
      await waitFor("serve ready", () => {
        if (p.exitCode !== null) throw new Error(`serve exited: ${err}`);
        if (adoptedAt < 0 && err.includes('"learned.adopted"')) adoptedAt = performance.now() - t0;
        return existsSync(ready);
      }, 120_000);
      const readyMs = performance.now() - t0;
      await lab.stop(p, "SIGKILL");
      return { readyMs, adoptedAt, err };
    };
    await run("first");
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
    if (process.env.BENCH_TRACE) console.log(again.err.split("\n").filter((l) => l.startsWith("T ")).join("\n"));
    const adopted = /"event":"learned.adopted"[^\n]*/.exec(again.err)?.[0] ?? "(no learned.adopted event)";
    console.log(`adopting ${N} learned elements at restart (${SERVE})\n`);
    console.log("| step | time | |\n|---|---:|---|");
    process.stdout.write(reads.stdout);
    console.log(`| restart: spawn to learned.adopted | ${again.adoptedAt.toFixed(0)} ms | ${adopted.replace(/\|/g, "/")} |`);
    console.log(`| restart: spawn to ready | ${again.readyMs.toFixed(0)} ms | |`);
  } finally {
    await lab.destroy();
  }
}
