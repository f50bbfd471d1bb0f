// Runs inside the lab's sandbox namespace (lab.exec): serve's kernel I/O, in its worker
// thread or inline (argv[2]), installs a ruleset and writes N learned elements in one
// write (argv[3]), a write the kernel takes a while over. Meanwhile this thread counts
// its own event-loop turns (a setImmediate chain): with the worker they go on while the
// kernel works, inline there are none (the thread is inside the kernel call). Prints
// {turns, ok, held, writer} as JSON.
import { createEnforcer } from "../../../src/app/serve/enforcer.ts";
import { kernelSettings } from "../../../src/core/config/kernel-settings.ts";
import { resolveRulesetSettings } from "../../../src/core/config/ruleset-settings.ts";
import type { LearnElement } from "../../../src/core/learn/table.ts";
import { openKernelInProcess, startKernelWorker } from "../../../src/effects/kernel/kernel-io.ts";
import { policy } from "../../unit/ruleset/env.ts";

const [mode, n] = [process.argv[2] as "worker" | "inline", Number(process.argv[3])];
const opts = { learning: true, kernel: kernelSettings(process.env) };
const io = mode === "worker" ? await startKernelWorker(opts, () => {}) : openKernelInProcess(null, opts, () => {});
if ("unavailable" in io) throw new Error(io.unavailable);
const ruleset = resolveRulesetSettings({ learnMaxElements: "1000000" }, { OPENSANDBOX_EGRESS_DOH_BLOCKLIST: "" }, []);
const enforcer = createEnforcer({ mode: "dns+nftables", via: "nftables", io, ruleset, upstreams: [], upstreamOrigin: "configured", webhook: [], ipv6: true });
const installed = await enforcer.install(policy("defaultAction: deny\negress: []\n"));
if (!installed.ok) throw new Error(installed.error);

const elements: LearnElement[] = [];
for (let i = 1; i <= n; i++) elements.push({ family: 6, address: `2001:db8:77:${(i >> 16).toString(16)}::${(i & 0xffff).toString(16)}`, timeoutSec: 600 });
let turns = 0;
let spinning = true;
const spin = () => {
  turns++;
  if (spinning) setImmediate(spin);
};
spin();
const before = turns;
const r = await io.write([{ name: "bulk.example", elements }]);
const during = turns - before;
spinning = false;
const last = elements.at(-1)!;
const held = await enforcer.holdsLearned(6, last.address);
console.log(JSON.stringify({ turns: during, ok: r.ok, held, writer: enforcer.refreshMethod()?.writer ?? null }));
await io.close();
process.exit(0);
