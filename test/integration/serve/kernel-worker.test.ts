// serve's kernel I/O thread (src/effects/kernel/) against the real kernel: a write the
// kernel takes a while over (300,000 learned elements in one write) leaves the calling
// thread free while it runs (its event loop keeps turning), and lands whole; the same
// write made inline holds the thread for all of it (not one turn), which is what the
// worker is for. docs/dns.md "Kernel writes"; `make bench-stall` measures the effect on
// DNS answers.
import { expect, test } from "bun:test";
import { join } from "node:path";
import type { Lab } from "../../support/lab.ts";
import { useBareLab } from "../../support/lab-hooks.ts";

const HARNESS = join(import.meta.dir, "kernel-worker-harness.ts");
let lab!: Lab;
useBareLab((l) => void (lab = l));

async function run(mode: "worker" | "inline"): Promise<{ turns: number; ok: boolean; held: boolean; writer: string }> {
  const r = await lab.exec("sandbox", [process.execPath, HARNESS, mode, "300000"], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`harness failed (${r.code}): ${r.stderr}`);
  await lab.exec("sandbox", ["nft", "delete", "table", "inet", "egressctl"]);
  return JSON.parse(r.stdout);
}

test("in the worker thread: the kernel write lands whole while this thread's event loop keeps turning", async () => {
  const w = await run("worker");
  expect(w).toMatchObject({ ok: true, held: true, writer: "netlink" });
  expect(w.turns).toBeGreaterThanOrEqual(10);
}, 90_000);

test("inline (the control): the same write holds the thread, not one turn of its loop", async () => {
  const i = await run("inline");
  expect(i).toMatchObject({ ok: true, held: true, writer: "netlink" });
  expect(i.turns).toBe(0);
}, 90_000);
