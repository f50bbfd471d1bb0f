// Benchmark (not a test): one learn write, as serve makes it (a batch of 1, 8 or 64 new
// elements with the name as comment, one transaction), through the raw-netlink writer and
// through libnftables, with a static policy of 0, 1k and 10k CIDRs loaded. nft 1.0.6
// re-reads every interval set before each command, so its cost grows with the policy;
// the netlink writer's should not. Runs inside a lab namespace: this file re-executes
// itself there with --inside (bun:ffi calls act on the namespace of the calling process).
// Run: make bench-learn   (or: node_modules/.bin/bun test/bench/learn.bench.ts)
// Machines are shared and noisy: read the ratios.
import { renderForget, renderLearn, type LearnedElement } from "../../src/core/ruleset/learn.ts";
import { planRuleset } from "../../src/core/ruleset/plan.ts";
import { renderDelete, renderRuleset } from "../../src/core/ruleset/render.ts";
import { openNftBackend } from "../../src/effects/nft/backend.ts";
import { openNetlinkWriter } from "../../src/effects/nft/netlink-writer.ts";
import { BENCH_ENV, bigPolicy, runInLab } from "./support.ts";

const SIZES = (process.env.BENCH_SIZES ?? "0,1000,10000").split(",").map(Number);
const BATCHES = [1, 8, 64];
const NAME = "bench.example";

if (process.argv.includes("--inside")) await inside();
else await runInLab(import.meta.path);

async function inside(): Promise<void> {
  const lib = openNftBackend({ nftBackend: "library" });
  if ("unavailable" in lib) throw new Error(lib.unavailable);
  const nl = openNetlinkWriter();
  if ("unavailable" in nl) throw new Error(nl.unavailable);
  const must = (r: { ok: true } | { ok: false; error: string }) => {
    if (!r.ok) throw new Error(r.error.slice(0, 500));
  };
  let k = 0;
  const fresh = (n: number): LearnedElement[] =>
    Array.from({ length: n }, () => ({ family: 6 as const, address: `2001:db8:ffff:${(k >> 16).toString(16)}::${(k++ & 0xffff).toString(16)}`, timeoutSec: 600 }));
  /** mean milliseconds per write over `rounds` writes of `size` new elements */
  const cost = (rounds: number, size: number, write: (els: LearnedElement[]) => void) => {
    const batches = Array.from({ length: rounds }, () => fresh(size));
    for (let i = 0; i < 20; i++) write(fresh(size)); // warm up (JIT, caches)
    const t0 = performance.now();
    for (const b of batches) write(b);
    return (performance.now() - t0) / rounds;
  };
  /** a reload's prune: mean milliseconds to remove 8 learned addresses (learned first, untimed) */
  const removal = (rounds: number, remove: (els: LearnedElement[]) => void) => {
    let ms = 0;
    for (let i = 0; i < rounds + 5; i++) {
      const els = fresh(8);
      must(nl.write([{ name: NAME, elements: els }]));
      const t0 = performance.now();
      remove(els);
      if (i >= 5) ms += performance.now() - t0; // the first five warm up
    }
    return ms / rounds;
  };
  const removals = ["| static CIDRs | netlink per removal | libnftables per removal | libnftables / netlink |", "|---:|---:|---:|---:|"];
  const out = [
    "| static CIDRs | batch | netlink per write | libnftables per write | libnftables / netlink |",
    "|---:|---:|---:|---:|---:|",
  ];
  for (const n of SIZES) {
    must(lib.run(renderDelete()));
    must(lib.run(renderRuleset(planRuleset(bigPolicy(n), BENCH_ENV))));
    for (const size of BATCHES) {
      const tNl = cost(300, size, (els) => must(nl.write([{ name: NAME, elements: els }])));
      const tLib = cost(n >= 10_000 ? 20 : 100, size, (els) => must(lib.run(renderLearn(els, NAME))));
      process.stderr.write(`${n} x${size}: ${f(tNl)} ${f(tLib)}\n`);
      out.push(`| ${n.toLocaleString("en")} | ${size} | ${f(tNl)} | ${f(tLib)} | ${ratio(tLib, tNl)} |`);
    }
    const rNl = removal(100, (els) => must(nl.remove(els)));
    const rLib = removal(n >= 10_000 ? 20 : 100, (els) => must(lib.run(renderForget(els))));
    removals.push(`| ${n.toLocaleString("en")} | ${f(rNl)} | ${f(rLib)} | ${ratio(rLib, rNl)} |`);
  }
  must(lib.run(renderDelete()));
  nl.close();
  out.push("", "Removing 8 learned addresses (a reload's prune), as serve does it:", "", ...removals);
  process.stdout.write(out.join("\n") + "\n");
}

function ratio(slow: number, fast: number): string {
  return `${(slow / fast).toFixed(slow / fast < 10 ? 1 : 0)}x`;
}

function f(x: number): string {
  return x >= 10 ? `${x.toFixed(0)} ms` : x >= 0.1 ? `${x.toFixed(2)} ms` : `${(x * 1000).toFixed(0)} µs`;
}
