// `make bench-stall`: what a slow kernel costs the queries that do not wait for it.
// In a lab, serve answers three kinds of queries at a fixed pace (see stall-client.ts):
// denied names, names whose addresses the kernel already holds, and names whose new
// address must be learned. Meanwhile another process in the sandbox's namespace loads
// and deletes a table with a 600,000-element set, again and again: each such transaction
// holds the nf_tables commit mutex for about a second, and every netlink write serve
// makes waits for it inside sendto(). The upstream runs on the sandbox's loopback
// (stall-upstream.ts says why). Run with serve's kernel I/O in its worker thread (the
// default) and inline, on the thread that answers DNS (EGRESSCTL_KERNEL_IO=inline, as
// before), in dns+nftables and in dns-only. Prints p50/p99/max per kind;
// docs/benchmarks.md "A slow kernel" holds the figures. Needs root.
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { Lab, waitForOutput } from "../support/lab.ts";
import { startServe } from "../support/serve.ts";

const SECONDS = Number(process.env.STALL_SECONDS ?? 12);
const KINDS = process.env.STALL_KINDS ?? "denied,covered,learn";
const MODES = (process.env.STALL_IO ?? "worker,inline").split(",") as ("worker" | "inline")[];
const PACE_MS = 5;
const UPSTREAM = "127.0.0.53";

function bigSetScript(n: number): string {
  const lines = ["add table inet stallbench", "add set inet stallbench big { type ipv4_addr; size 2000000; flags timeout; }"];
  for (let j = 0; j < n; j += 10_000) {
    const els: string[] = [];
    for (let i = j; i < Math.min(n, j + 10_000); i++) els.push(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255} timeout 1h`);
    lines.push(`add element inet stallbench big { ${els.join(", ")} }`);
  }
  return `${lines.join("\n")}\n`;
}

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))]!;
};
const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(2));

const lab = await Lab.create();
try {
  // the loopback upstream: the sandbox's lo is up, 127.0.0.53 is on it
  const upstream = lab.spawn("sandbox", [process.execPath, join(import.meta.dir, "stall-upstream.ts"), UPSTREAM]);
  await waitForOutput(upstream, "ready", "the bench's upstream");
  const policy = lab.file("stall.yaml", "defaultAction: deny\negress:\n  - {action: allow, target: \"*.stall.example\"}\n");
  const big = join(lab.dir, "big.nft");
  writeFileSync(big, bigSetScript(600_000));
  const client = join(import.meta.dir, "stall-client.ts");
  let fresh = 0;
  console.log(`bench-stall: ${SECONDS} s per run, a query of each kind every ${PACE_MS} ms; stalls: a 600,000-element set loaded and deleted in a loop`);
  console.log("mode          kernel I/O  stall  kind     answers  p50 ms  p99 ms  max ms  failed");
  const runs = [...MODES.map((io) => ["dns+nftables", io, KINDS] as const), ["dns-only", "worker", "denied,covered"] as const];
  for (const [mode, io, kinds] of runs) {
    for (const stall of [false, true]) {
      const s = await startServe(lab, ["serve", policy, "--upstream", UPSTREAM, "--allow-local-upstream", "--mode", mode], { env: { EGRESSCTL_KERNEL_IO: io, OPENSANDBOX_EGRESS_DOH_BLOCKLIST: "" } });
      // the covered names learned first: their addresses are in the kernel before the run
      const warm = await lab.exec("sandbox", [process.execPath, client, UPSTREAM, "0.1", "1", "0"]);
      if (warm.code !== 0) throw new Error(warm.stderr);
      let stalling = stall;
      const stalls = (async () => {
        let n = 0;
        while (stalling) {
          const add = await lab.exec("sandbox", ["nft", "-f", big], { timeoutMs: 60_000 });
          if (add.code !== 0) throw new Error(add.stderr);
          await lab.exec("sandbox", ["nft", "delete", "table", "inet", "stallbench"], { timeoutMs: 60_000 });
          n++;
        }
        return n;
      })();
      const r = await lab.exec("sandbox", [process.execPath, client, UPSTREAM, String(SECONDS), String(PACE_MS), String(fresh + 100), kinds], { timeoutMs: (SECONDS + 30) * 1000 });
      stalling = false;
      const loads = await stalls;
      if (r.code !== 0) throw new Error(r.stderr);
      const out = JSON.parse(r.stdout) as { lat: Record<string, number[]>; failed: Record<string, number>; fresh: number };
      fresh = out.fresh;
      for (const kind of kinds.split(",")) {
        const l = out.lat[kind]!;
        console.log(`${mode.padEnd(12)}  ${io.padEnd(10)}  ${(stall ? `${loads}x` : "none").padEnd(5)}  ${kind.padEnd(7)}  ${String(l.length).padStart(7)}  ${fmt(pct(l, 0.5)).padStart(6)}  ${fmt(pct(l, 0.99)).padStart(6)}  ${fmt(Math.max(...l)).padStart(6)}  ${String(out.failed[kind]).padStart(6)}`);
      }
      await s.stop("SIGTERM");
      await lab.exec("sandbox", ["nft", "delete", "table", "inet", "egressctl"]);
    }
  }
} finally {
  await lab.destroy();
}
