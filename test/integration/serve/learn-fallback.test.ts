// serve's retry of a failed netlink learn write through libnftables
// (src/app/serve/enforcer.ts), against the real kernel in a lab namespace. The netlink
// failure is real: the injected writer's socket lives in the lab's OTHER namespace, whose
// kernel has no egressctl table and refuses the batch (ENOENT). The same flush's elements
// must land here anyway (through libnftables), every answer succeed, the failure be
// noted once (serve logs the note as learn.writer) and later writes skip netlink.
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { HEADROOM_SEC } from "../../../src/core/learn/kernel-expiry.ts";
import type { LearnElement } from "../../../src/core/learn/table.ts";
import type { Lab } from "../../support/lab.ts";
import { useBareLab } from "../../support/lab-hooks.ts";
import { nft } from "../apply/support.ts";

const HARNESS = join(import.meta.dir, "learn-fallback-harness.ts");
const POLICY = "defaultAction: deny\negress:\n  - {action: allow, target: 198.51.100.0/24}\n";

let lab!: Lab;
useBareLab((l) => void (lab = l));
afterEach(async () => void (await nft(lab, "delete", "table", "inet", "egressctl")));

type Group = { name: string; elements: LearnElement[] };
interface Out {
  installed: boolean;
  opened: number;
  /** the enforcer's writer after install, then after each round */
  writer: (string | null)[];
  rounds: ({ ok: true } | { ok: false; error: string })[];
  notes: string[];
}

// two turns: two names learned together, then a third name on its own
const ROUNDS: Group[][] = [
  [
    { name: "api.example", elements: [{ family: 4, address: "203.0.113.60", timeoutSec: 400 }, { family: 6, address: "2001:db8:310::60", timeoutSec: 400 }] },
    { name: "cdn.example", elements: [{ family: 4, address: "203.0.113.61", timeoutSec: 500 }] },
  ],
  [{ name: "late.example", elements: [{ family: 4, address: "203.0.113.62", timeoutSec: 600 }] }],
];

async function run(writerNetns?: string, forget?: { family: 4 | 6; address: string }[]): Promise<Out & { forgot?: unknown }> {
  // the refresh method forced: the netlink writer is used only where re-adding refreshes
  const r = await lab.exec("sandbox", [process.execPath, HARNESS], {
    stdin: JSON.stringify({ policy: POLICY, writerNetns, rounds: ROUNDS, ...(forget ? { forget } : {}) }),
    env: { EGRESSCTL_ELEMENT_REFRESH: "refresh" },
    timeoutMs: 30_000,
  });
  if (r.code !== 0) throw new Error(`harness failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** learned4 and learned6 of the sandbox's table: address -> [comment, timeout] */
async function learned(): Promise<Record<string, [string | undefined, number]>> {
  const out: Record<string, [string | undefined, number]> = {};
  for (const set of ["learned4", "learned6"]) {
    const r = await nft(lab, "-j", "list", "set", "inet", "egressctl", set);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout).nftables.find((o: { set?: unknown }) => o.set).set;
    for (const e of s.elem ?? []) out[e.elem.val] = [e.elem.comment, e.elem.timeout];
  }
  return out;
}

// with re-add refreshing, the kernel gets the TTL plus headroom (kernel-expiry.ts)
const WANT: Record<string, [string, number]> = {
  "203.0.113.60": ["api.example", 400 + HEADROOM_SEC],
  "203.0.113.61": ["cdn.example", 500 + HEADROOM_SEC],
  "203.0.113.62": ["late.example", 600 + HEADROOM_SEC],
  "2001:db8:310::60": ["api.example", 400 + HEADROOM_SEC],
};

describe("learn writes when netlink fails", () => {
  test("the kernel refuses the netlink batch: the flush lands through libnftables, noted once, netlink dropped", async () => {
    const out = await run(`/run/netns/${lab.world}`);
    expect(out.installed).toBe(true);
    expect(out.opened).toBe(1);
    expect(out.rounds).toEqual([{ ok: true }, { ok: true }]);
    expect(out.writer[0]).toBe("netlink");
    // the refusal came from the other namespace's kernel, and is what serve reports
    expect(out.notes).toHaveLength(1);
    expect(out.notes[0]).toMatch(/^netlink writes failed \(netlink: adding \d element\(s\) to learned[46] \(\w+\.example\): ENOENT .*\); libnftables from now on$/);
    expect(out.writer[1]).toBe(`libnftables (${out.notes[0]})`);
    expect(out.writer[2]).toBe(out.writer[1]);
    expect(await learned()).toEqual(WANT);
    // and the failed netlink writes created nothing where they went
    expect((await lab.exec("world", ["nft", "list", "ruleset"])).stdout.trim()).toBe("");
  }, 60_000);

  test("a removal (a reload's prune) the kernel refuses over netlink lands through libnftables, noted once", async () => {
    const gone = [{ family: 4 as const, address: "203.0.113.70" }, { family: 6 as const, address: "2001:db8:310::70" }];
    const out = await run(`/run/netns/${lab.world}`, gone);
    expect(out.forgot).toEqual({ ok: true });
    expect(out.notes).toHaveLength(1);
    expect(out.notes[0]).toMatch(/^netlink writes failed \(netlink: (adding|removing) \d element\(s\) (to|from) learned[46]: ENOENT .*\); libnftables from now on$/);
    // the seeded addresses are gone; what the rounds learned afterwards is there
    expect(await learned()).toEqual(WANT);
  }, 60_000);

  test("control: a netlink writer in serve's own namespace keeps writing, nothing noted", async () => {
    const out = await run();
    expect(out).toEqual({ installed: true, opened: 1, writer: ["netlink", "netlink", "netlink"], rounds: [{ ok: true }, { ok: true }], notes: [] });
    expect(await learned()).toEqual(WANT);
  }, 60_000);

  test("control: a removal over netlink in serve's own namespace, nothing noted", async () => {
    const out = await run(undefined, [{ family: 4, address: "203.0.113.70" }, { family: 6, address: "2001:db8:310::70" }]);
    expect(out).toMatchObject({ forgot: { ok: true }, notes: [], writer: ["netlink", "netlink", "netlink"] });
    expect(await learned()).toEqual(WANT);
  }, 60_000);
});
