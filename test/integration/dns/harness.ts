// Starts the DNS proxy with a policy and upstreams from a JSON config file (argv[2]) and
// stays up until SIGTERM. Runs inside a lab namespace. Prints one JSON line per event on
// stdout ({"type":"ready"} first); on SIGUSR1 writes stats (and RSS) to config.statsFile.
// Learn modes: "record" (just report), "nft" (spawn nft to add the elements to a test
// table, after delayMs, so "learned before answered" is observable), "fail" (reject).
import { readFileSync, writeFileSync } from "node:fs";
import { parseUpstreamList } from "../../../src/core/dns/upstreams.ts";
import { compileGuard } from "../../../src/core/learn/guard.ts";
import { NO_LOCAL } from "../../../src/core/net/special.ts";
import type { LearnBatch } from "../../../src/core/learn/table.ts";
import { compileDomainMatcher } from "../../../src/core/match/domain.ts";
import { compileAddressMatcher } from "../../../src/core/net/intervals.ts";
import { loadPolicyText } from "../../../src/core/policy/load.ts";
import { startDnsProxy } from "../../../src/effects/dns/proxy.ts";

export interface HarnessConfig {
  policy: string;
  upstreams: string;
  listen?: { host: string; port: number }[];
  timeoutMs?: number;
  maxInFlight?: number;
  learn?: { mode: "record" | "nft" | "fail"; table?: string; delayMs?: number };
  statsFile?: string;
  /** the proxy's `mark` option; absent: its default (EXEMPT_MARK) */
  mark?: number | null;
}

const cfg = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as HarnessConfig;
const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
const { policy, problems } = loadPolicyText(cfg.policy);
if (!policy) throw new Error(`harness: bad policy: ${JSON.stringify(problems)}`);
const ups = parseUpstreamList(cfg.upstreams, cfg.listen ?? []);
if (ups.problems.length) throw new Error(`harness: ${ups.problems.join("; ")}`);

async function nftLearn(b: LearnBatch): Promise<void> {
  const { table, delayMs = 0 } = cfg.learn!;
  if (delayMs) await Bun.sleep(delayMs);
  const lines = [4, 6].flatMap((f) => {
    const els = b.addresses.filter((a) => a.family === f).map((a) => `${a.address} timeout ${b.ttl}s`);
    return els.length ? [`add element inet ${table} learned${f} { ${els.join(", ")} }`] : [];
  });
  const p = Bun.spawn(["nft", "-f", "-"], { stdin: new Blob([lines.join("\n") + "\n"]), stderr: "pipe" });
  if ((await p.exited) !== 0) throw new Error(await new Response(p.stderr).text());
}

const mode = cfg.learn?.mode ?? "record";
const proxy = await startDnsProxy({
  listen: cfg.listen ?? [{ host: "127.0.0.1", port: 15353 }, { host: "::1", port: 15353 }],
  upstreams: ups.upstreams,
  decide: compileDomainMatcher(policy),
  guard: compileGuard({ matchAddress: compileAddressMatcher(policy), defaultAction: policy.defaultAction, privateAnswers: "guard", local: NO_LOCAL }),
  timeoutMs: cfg.timeoutMs ?? 2000,
  maxInFlight: cfg.maxInFlight ?? 1024,
  ...("mark" in cfg ? { mark: cfg.mark } : {}),
  onEvent: (ev) => out(ev),
  learn: async (b) => {
    if (mode === "fail") throw new Error("learn sink fails on purpose");
    if (mode === "nft") await nftLearn(b);
    out({ type: "learn", name: b.name, ttl: b.ttl, addresses: b.addresses.map((a) => a.address) });
  },
});

process.on("SIGUSR1", () => {
  if (cfg.statsFile) writeFileSync(cfg.statsFile, JSON.stringify({ ...proxy.stats(), rss: process.memoryUsage().rss }));
});
process.on("SIGTERM", () => void proxy.close().then(() => process.exit(0)));
out({ type: "ready", listening: proxy.listening });
