// The reload use case with its effects faked: the enforcer's kernel answers are chosen
// by the test, so the failure paths that a real kernel rarely produces are covered.
import { expect, test } from "bun:test";
import { createReloader } from "../../../src/app/serve/reloader.ts";
import { compilePolicy, type LivePolicy } from "../../../src/app/serve/live-policy.ts";
import type { ForgetResult, InstallResult } from "../../../src/app/serve/enforcer.ts";
import { fakeEnforcer } from "./fake-enforcer.ts";
import { LearnTable } from "../../../src/core/learn/table.ts";
import { PendingRemovals, removeLearned } from "../../../src/app/serve/remove-learned.ts";
import { loadPolicyText } from "../../../src/core/policy/load.ts";

function setup(kernel: { install?: InstallResult; forget?: ForgetResult }) {
  const events: { event: string; fields: Record<string, unknown>; level?: string }[] = [];
  const log = { emit: (event: string, fields: Record<string, unknown> = {}, level?: string) => void events.push({ event, fields, level }), emitLimited() {} };
  const calls: string[] = [];
  const enforcer = fakeEnforcer({
    install: () => (calls.push("install"), kernel.install ?? { ok: true, digest: "x" }),
    forget: () => (calls.push("forget"), kernel.forget ?? { ok: true }),
  });
  const table = new LearnTable();
  table.add({ name: "old.example.com", addresses: [{ family: 4, address: "198.51.100.10" }], ttl: 300 }, Date.now());
  const policyOf = (yaml: string) => loadPolicyText(yaml).policy!;
  let live: LivePolicy = compilePolicy(policyOf("egress:\n  - { action: allow, target: old.example.com }\n"), "file:/p.yaml", "/p.yaml", 0);
  let fileText = "egress:\n  - { action: allow, target: new.example.com }\n";
  const counts = { ok: 0, failed: 0, lastError: null as string | null };
  const reload = createReloader({
    mode: "dns+nftables",
    enforcer,
    table,
    log,
    read: () => ({ ok: true, text: fileText }),
    live: () => live,
    swap: (n) => void (live = n),
    counts,
    pending: new PendingRemovals(),
  });
  return { reload, events, calls, table, counts, live: () => live, setFile: (t: string) => void (fileText = t) };
}

test("a changed policy: installed, swapped, pruned", async () => {
  const s = setup({});
  await s.reload("policy.yaml changed");
  expect(s.calls).toEqual(["install", "forget"]);
  expect(s.live().policy.rules[0]!.raw).toBe("new.example.com");
  expect(s.table.nameCount).toBe(0);
  expect(s.counts.ok).toBe(1);
  expect(s.events.map((e) => e.event)).toEqual(["policy.applied"]);
});

test("the kernel refuses the prune: the table forgets everything and it is said loudly", async () => {
  const s = setup({ forget: { ok: false, error: "Device or resource busy", flushed: true } });
  s.table.add({ name: "kept.example.com", addresses: [{ family: 4, address: "198.51.100.11" }], ttl: 300 }, Date.now());
  await s.reload("policy.yaml changed");
  expect(s.table.nameCount).toBe(0);
  const ev = s.events.find((e) => e.event === "learned.flushed")!;
  expect(ev.level).toBe("error");
  expect(ev.fields).toMatchObject({ why: "reload", error: "Device or resource busy" });
});

test("an exception while removing: nothing thrown to the caller, the addresses stay pending and it is said", async () => {
  const pending = new PendingRemovals();
  const table = new LearnTable();
  const events: string[] = [];
  const log = { emit: (e: string) => void events.push(e), emitLimited() {} };
  const throwing = async (): Promise<ForgetResult> => {
    throw new Error("netlink socket closed");
  };
  await removeLearned(throwing, table, [{ family: 4, address: "198.51.100.10" }], log as never, "reload", pending); // resolves: nothing thrown
  expect(pending.size).toBe(1);
  expect(events).toEqual(["learned.remove_failed"]);
});

test("the kernel refuses the ruleset: nothing swapped, nothing pruned, the old digest kept", async () => {
  const s = setup({ install: { ok: false, error: "Error: Could not process rule: Device or resource busy" } });
  const before = s.live();
  await s.reload("policy.yaml changed");
  expect(s.live()).toBe(before);
  expect(s.calls).toEqual(["install"]);
  expect(s.table.nameCount).toBe(1);
  expect(s.counts).toMatchObject({ ok: 0, failed: 1 });
  expect(s.events[0]!.event).toBe("policy.reload.rejected");
  expect(s.events[0]!.fields.kept).toBe(before.digest);
});

test("an unchanged file: a directory event changes nothing and says so, a SIGHUP re-installs", async () => {
  const s = setup({});
  s.setFile("egress:\n  - { action: allow, target: old.example.com }\n");
  await s.reload("policy.yaml changed");
  expect(s.calls).toEqual([]);
  expect(s.events.map((e) => [e.event, e.fields.why])).toEqual([["policy.unchanged", "policy.yaml changed"]]);
  await s.reload("SIGHUP");
  expect(s.calls).toEqual(["install"]);
  expect(s.events.map((e) => e.event)).toEqual(["policy.unchanged", "policy.reinstalled"]);
});

test("garbage in the file: rejected with the problems, nothing touched", async () => {
  const s = setup({});
  s.setFile("egress: [ {{{");
  await s.reload("policy.yaml changed");
  expect(s.calls).toEqual([]);
  const ev = s.events[0]!;
  expect(ev.event).toBe("policy.reload.rejected");
  expect((ev.fields.problems as unknown[]).length).toBeGreaterThan(0);
});

test("the prune and the flush both refused: the addresses stay pending, retried until the kernel takes them", async () => {
  const results: ForgetResult[] = [{ ok: false, error: "Device or resource busy", flushed: false }, { ok: true }];
  const events: string[] = [];
  const log = { emit: (e: string) => void events.push(e), emitLimited() {} };
  const forget = async () => results.shift()!;
  const table = new LearnTable();
  table.add({ name: "kept.example.com", addresses: [{ family: 4, address: "198.51.100.11" }], ttl: 300 }, Date.now());
  const pending = new PendingRemovals();
  await removeLearned(forget, table, [{ family: 4, address: "198.51.100.10" }], log, "reload", pending);
  expect(pending.size).toBe(1);
  expect(table.nameCount).toBe(1); // nothing was flushed: the table still matches the kernel
  expect(events).toEqual(["learned.remove_failed"]);
  expect(await pending.retry(forget, table, log)).toBe(true);
  expect(pending.size).toBe(0);
  expect(events).toEqual(["learned.remove_failed", "learned.removed"]);
});
