// Benchmark (not a test): how long `apply` takes for policies of 1k, 10k and 100k CIDRs,
// and what adding learned elements costs in batches of 1, 8 and 64, through libnftables
// and through the nft binary. Runs inside a lab namespace: this file re-executes itself
// there with --inside (bun:ffi calls act on the namespace of the calling process).
// Run: make bench-apply   (or: node_modules/.bin/bun test/bench/apply.bench.ts)
// Goal: 10k CIDRs applied in <= 150 ms. Machines are shared and noisy: read the ratios.
import { renderLearn } from "../../src/core/ruleset/learn.ts";
import { planRuleset } from "../../src/core/ruleset/plan.ts";
import { renderDelete, renderRuleset } from "../../src/core/ruleset/render.ts";
import { openNftBackend, type NftBackend } from "../../src/effects/nft/backend.ts";
import { BENCH_ENV, bigPolicy, runInLab } from "./support.ts";

const SIZES = (process.env.BENCH_SIZES ?? "1000,10000,100000").split(",").map(Number);
const BATCHES = [1, 8, 64];
// Learning is measured twice: nft 1.0.6 refreshes its cache of the whole table before
// every command, so the cost of one `add element` grows with the static ruleset.
const LEARN_WITH = 10_000;

if (process.argv.includes("--inside")) await inside();
else await runInLab(import.meta.path);

function ms(t0: number): number {
  return performance.now() - t0;
}

function backend(kind: "library" | "binary"): NftBackend {
  const b = openNftBackend({ nftBackend: kind });
  if ("unavailable" in b) throw new Error(b.unavailable);
  return b;
}

function must(b: NftBackend, script: string): void {
  const r = b.run(script);
  if (!r.ok) throw new Error(r.error.slice(0, 500));
}

async function inside(): Promise<void> {
  const env = BENCH_ENV;
  const out: string[] = [
    "| CIDRs | resolve+plan+render | kernel, first apply (library) | kernel, re-apply (library) | kernel, re-apply (binary) | total re-apply (library) |",
    "|---:|---:|---:|---:|---:|---:|",
  ];
  const lib = backend("library");
  const bin = backend("binary");
  // the learned-element tables go after the apply table, not in the middle of it
  const learned: string[] = [];
  for (const n of SIZES) {
    const policy = bigPolicy(n);
    let t = performance.now();
    const script = renderRuleset(planRuleset(policy, env));
    const tRender = ms(t);
    must(lib, renderDelete());
    t = performance.now();
    must(lib, script);
    const tFirst = ms(t);
    // re-apply: median of 3, the case serve meets on every policy change
    const again = (b: NftBackend) => median([0, 1, 2].map(() => ((t = performance.now()), must(b, script), ms(t))));
    const tLib = again(lib);
    const tBin = again(bin);
    process.stderr.write(`${n}: ${f(tRender)} ${f(tFirst)} ${f(tLib)} ${f(tBin)}\n`);
    out.push(`| ${n.toLocaleString("en")} | ${f(tRender)} | ${f(tFirst)} | ${f(tLib)} | ${f(tBin)} | **${f(tRender + tLib)}** |`);
    if (n === LEARN_WITH) learnedCosts(learned, `with the ${n.toLocaleString("en")}-CIDR ruleset loaded`, lib, bin);
  }
  must(lib, renderDelete());
  must(lib, renderRuleset(planRuleset({ defaultAction: "deny", requireFullIsolation: false, rules: [] }, env)));
  learnedCosts(learned, "with an empty policy loaded", lib, bin);
  must(lib, renderDelete());
  process.stdout.write([...out, ...learned].join("\n") + "\n");
}

function learnedCosts(out: string[], what: string, lib: NftBackend, bin: NftBackend): void {
  out.push("", `Learned elements, ${what}:`, "", "| batch | library per batch | library per element | binary per batch | binary per element |", "|---:|---:|---:|---:|---:|");
  let k = 0;
  for (const size of BATCHES) {
    const cost = (b: NftBackend) => {
      const rounds = 30;
      const t0 = performance.now();
      for (let r = 0; r < rounds; r++) {
        const els = Array.from({ length: size }, () => ({ family: 6 as const, address: `2001:db8:ffff::${(k++).toString(16)}`, timeoutSec: 300 }));
        must(b, renderLearn(els));
      }
      return ms(t0) / rounds;
    };
    const l = cost(lib);
    const b = cost(bin);
    out.push(`| ${size} | ${f(l)} | ${f(l / size)} | ${f(b)} | ${f(b / size)} |`);
  }
}

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}

function f(x: number): string {
  return x >= 10 ? `${x.toFixed(0)} ms` : `${x.toFixed(2)} ms`;
}
