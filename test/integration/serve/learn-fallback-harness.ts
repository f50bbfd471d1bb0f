// Runs inside the lab's sandbox namespace (lab.exec): serve's enforcer (dns+nftables,
// libnftables backend) with the netlink learn writer injected, its kernel ops run in
// this thread (a function cannot be handed to serve's worker thread). With "writerNetns" the
// writer's socket is opened in THAT namespace (setns, then back): the kernel there has no
// egressctl table and refuses every batch (ENOENT), a real netlink failure, while
// libnftables keeps writing here. Without it, the writer opens here as serve's would.
// Reads {policy, writerNetns?, rounds: [[{name, elements}]], forget?: [{family, address}]}
// on stdin; each round's groups are learned in one event-loop turn (one flush). With
// `forget`, those addresses are put into the learned sets through libnftables first, and
// the enforcer's forget() (a reload's prune) is the first kernel write it makes after
// the install. Prints what serve would report.
import { closeSync, openSync } from "node:fs";
import { dlopen, FFIType } from "bun:ffi";
import { createEnforcer } from "../../../src/app/serve/enforcer.ts";
import { kernelSettings } from "../../../src/core/config/kernel-settings.ts";
import { resolveRulesetSettings } from "../../../src/core/config/ruleset-settings.ts";
import { openKernelInProcess } from "../../../src/effects/kernel/kernel-io.ts";
import type { LearnElement } from "../../../src/core/learn/table.ts";
import { renderLearn } from "../../../src/core/ruleset/learn.ts";
import { openNftBackend } from "../../../src/effects/nft/backend.ts";
import { openNetlinkWriter } from "../../../src/effects/nft/netlink-writer.ts";
import { policy } from "../../unit/ruleset/env.ts";

const CLONE_NEWNET = 0x40000000;
const libc = dlopen("libc.so.6", { setns: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 } }).symbols;

/** `fn` with this thread in the network namespace at `path`; back home after, or exit */
function inNetns<T>(path: string, fn: () => T): T {
  const home = openSync("/proc/thread-self/ns/net", "r");
  const there = openSync(path, "r");
  try {
    if (libc.setns(there, CLONE_NEWNET) !== 0) throw new Error(`setns ${path} failed`);
    try {
      return fn();
    } finally {
      // never carry on in the wrong namespace: libnftables would write there
      if (libc.setns(home, CLONE_NEWNET) !== 0) process.exit(70);
    }
  } finally {
    closeSync(home);
    closeSync(there);
  }
}

type Address = { family: 4 | 6; address: string };
type Req = { policy: string; writerNetns?: string; rounds: { name: string; elements: LearnElement[] }[][]; forget?: Address[] };
const req: Req = JSON.parse(await Bun.stdin.text());
const backend = openNftBackend({ nftBackend: "library" });
if ("unavailable" in backend) throw new Error(backend.unavailable);
const notes: string[] = [];
let opened = 0;
const open = () => {
  opened++;
  return req.writerNetns ? inNetns(req.writerNetns, () => openNetlinkWriter()) : openNetlinkWriter();
};
const io = openKernelInProcess(backend, { learning: true, kernel: kernelSettings(process.env), openNetlink: open }, (n) => notes.push(n));
if ("unavailable" in io) throw new Error(io.unavailable);
const ruleset = resolveRulesetSettings({}, { OPENSANDBOX_EGRESS_DOH_BLOCKLIST: "203.0.113.143,2001:db8:200::143" }, []);
const enforcer = createEnforcer({ mode: "dns+nftables", via: "nftables", io, ruleset, upstreams: [], upstreamOrigin: "configured", webhook: [], ipv6: true });
const installed = await enforcer.install(policy(req.policy));
let forgot: Awaited<ReturnType<typeof enforcer.forget>> | null = null;
if (req.forget) {
  const seeded = backend.run(renderLearn(req.forget.map((a) => ({ ...a, timeoutSec: 300 })), "seed.example"));
  if (!seeded.ok) throw new Error(seeded.error);
  forgot = await enforcer.forget(req.forget);
}
const writer = [enforcer.refreshMethod()?.writer ?? null];
const rounds: ({ ok: true } | { ok: false; error: string })[] = [];
for (const groups of req.rounds) {
  // all in this turn: the enforcer's writer flushes them together on setImmediate
  const all = groups.map((g) => enforcer.learn(g.elements, g.name));
  rounds.push(
    await Promise.all(all).then(
      () => ({ ok: true as const }),
      (e: Error) => ({ ok: false as const, error: e.message }),
    ),
  );
  writer.push(enforcer.refreshMethod()?.writer ?? null);
}
// no cleanup(): the table stays for the test to read; the lab's namespace goes with it
console.log(JSON.stringify({ installed: installed.ok, opened, writer, rounds, notes, ...(forgot ? { forgot } : {}) }));
