// The shared "apply this policy" step as the API uses it (persist hook), with the kernel
// faked: a persisted file that cannot be written undoes the install and changes nothing.
import { expect, test } from "bun:test";
import type { InstallResult } from "../../../src/app/serve/enforcer.ts";
import { fakeEnforcer } from "../serve/fake-enforcer.ts";
import { compilePolicy, type LivePolicy } from "../../../src/app/serve/live-policy.ts";
import { applyPolicy, type ReloadContext } from "../../../src/app/serve/reloader.ts";
import { PendingRemovals } from "../../../src/app/serve/remove-learned.ts";
import { LearnTable } from "../../../src/core/learn/table.ts";
import { loadPolicyText } from "../../../src/core/policy/load.ts";

function setup(install: InstallResult = { ok: true, digest: "x" }, mode: ReloadContext["mode"] = "dns+nftables") {
  const installed: string[] = [];
  const events: string[] = [];
  const enforcer = fakeEnforcer({ install: (p) => (installed.push(p.rules.map((r) => r.target).join(",")), install) }, mode);
  let live: LivePolicy = compilePolicy(loadPolicyText('{"egress":[{"action":"allow","target":"old.example.com"}]}').policy!, "env", undefined, 0);
  const counts = { ok: 0, failed: 0, lastError: null as string | null };
  const ctx: ReloadContext = {
    mode, enforcer, table: new LearnTable(), read: () => ({ ok: false, error: "unused" }),
    log: { emit: (e: string) => void events.push(e), emitLimited() {} } as unknown as ReloadContext["log"],
    live: () => live, swap: (n) => void (live = n), counts, pending: new PendingRemovals(),
  };
  const next = (json: string) => compilePolicy(loadPolicyText(json).policy!, "api", undefined, 1);
  return { ctx, installed, events, counts, live: () => live, next };
}

const NEW = '{"egress":[{"action":"allow","target":"new.example.com"}]}';

test("applied and persisted: kernel first, then the file, then the swap", async () => {
  const s = setup();
  const order: string[] = [];
  const r = await applyPolicy(s.ctx, s.next(NEW), "api", { persist: (n) => (order.push(`persist ${n.policy.rules[0]!.target} live=${s.live().policy.rules[0]!.target}`), null) });
  expect(r).toEqual({ ok: true, changed: true });
  expect(s.installed).toEqual(["new.example.com"]);
  expect(order).toEqual(["persist new.example.com live=old.example.com"]);
  expect(s.live().policy.rules[0]!.target).toBe("new.example.com");
  expect(s.events).toEqual(["policy.applied"]);
  expect(s.counts.ok).toBe(1);
});

test("the file cannot be written: the previous ruleset is installed again, nothing swapped", async () => {
  const s = setup();
  const r = await applyPolicy(s.ctx, s.next(NEW), "api", { persist: () => "EROFS" });
  expect(r).toMatchObject({ ok: false, kind: "persist" });
  expect(s.installed).toEqual(["new.example.com", "old.example.com"]);
  expect(s.live().policy.rules[0]!.target).toBe("old.example.com");
  expect(s.counts).toMatchObject({ ok: 0, failed: 1 });
});

test("the kernel refuses: nothing persisted, nothing swapped", async () => {
  const s = setup({ ok: false, error: "Device or resource busy" });
  let persisted = false;
  const r = await applyPolicy(s.ctx, s.next(NEW), "api", { persist: () => ((persisted = true), null) });
  expect(r).toMatchObject({ ok: false, kind: "kernel" });
  expect(persisted).toBe(false);
  expect(s.live().policy.rules[0]!.target).toBe("old.example.com");
});

test("require_full_isolation below dns+nftables: refused before the kernel", async () => {
  const s = setup(undefined, "dns-only");
  const r = await applyPolicy(s.ctx, s.next('{"require_full_isolation":true}'), "api");
  expect(r).toMatchObject({ ok: false, kind: "isolation" });
  expect(s.installed).toEqual([]);
});

test("the same policy: nothing installed, the file still written", async () => {
  const s = setup();
  let persisted = 0;
  const r = await applyPolicy(s.ctx, s.next('{"egress":[{"action":"allow","target":"OLD.example.com"}]}'), "api", { persist: () => (persisted++, null) });
  expect(r).toEqual({ ok: true, changed: false });
  expect(s.installed).toEqual([]);
  expect(persisted).toBe(1);
});
