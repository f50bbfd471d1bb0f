// WebhookRunner: a receiver whose name resolves only after start-up is resolved again
// with backoff, let out by the ruleset, then used. Fake clock; the lab test resolves a
// real name that appears in a real zone later.
import { expect, test } from "bun:test";
import type { DenyWebhook } from "../../../src/app/serve/deny-webhook.ts";
import { WebhookRunner, type WebhookRunnerDeps } from "../../../src/app/serve/webhook-runner.ts";
import { resolveRetryDelay } from "../../../src/core/events/webhook.ts";

const D = { family: 4 as const, address: "198.51.100.80", port: 8000 };

function setup(resolveAnswers: (typeof D)[][], opens: boolean[] = []) {
  const waits: number[] = [];
  let due: (() => void) | null = null;
  const calls: string[] = [];
  const notified: string[] = [];
  const deps: WebhookRunnerDeps = {
    url: { url: "http://hook.example:8000/", tls: false, host: "hook.example", port: 8000, path: "/", hostHeader: "hook.example:8000" },
    resolve: async () => (calls.push("resolve"), resolveAnswers.shift() ?? []),
    open: async (found) => (calls.push(`open ${found.map((f) => f.address)}`), opens.shift() ?? true),
    make: (destinations) => (calls.push(`make ${destinations.length}`), { notify: (n: string) => void notified.push(n), stats: () => ({ delivered: 1 }), close() {} }) as unknown as DenyWebhook,
    log: { emit: (e: string) => void calls.push(e), emitLimited() {} } as never,
    schedule: (fn, ms) => {
      waits.push(ms);
      due = fn;
      return () => void (due = null);
    },
  };
  const fire = async () => {
    const f = due;
    due = null;
    f?.();
    await new Promise((r) => setTimeout(r, 0));
  };
  return { deps, waits, calls, notified, fire, pending: () => due !== null };
}

test("resolved at start: used at once, nothing scheduled", () => {
  const s = setup([]);
  const r = new WebhookRunner(s.deps, [D]);
  r.start();
  r.notify("evil.example.com");
  expect(s.notified).toEqual(["evil.example.com"]);
  expect(s.waits).toEqual([]);
  expect(r.stats()).toMatchObject({ resolved: true, delivered: 1 });
});

test("unresolved at start: denials counted as dropped; retried with backoff; opened, then used", async () => {
  const s = setup([[], [], [D]]);
  const r = new WebhookRunner(s.deps, []);
  r.notify("a.example");
  expect(r.stats()).toMatchObject({ resolved: false, dropped: 1, addresses: [] });
  r.start();
  await s.fire();
  await s.fire();
  await s.fire();
  expect(s.waits).toEqual([resolveRetryDelay(1), resolveRetryDelay(2), resolveRetryDelay(3)]);
  expect(s.calls).toEqual(["resolve", "resolve", "resolve", "open 198.51.100.80", "make 1", "webhook"]);
  r.notify("b.example");
  expect(s.notified).toEqual(["b.example"]);
  expect(s.pending()).toBe(false);
});

test("the ruleset refuses to let the receiver out: not used, tried again later", async () => {
  const s = setup([[D], [D]], [false, true]);
  const r = new WebhookRunner(s.deps, []);
  r.start();
  await s.fire();
  expect(r.stats().resolved).toBe(false);
  await s.fire();
  expect(r.stats().resolved).toBe(true);
});

test("close() stops the retries", async () => {
  const s = setup([[D]]);
  const r = new WebhookRunner(s.deps, []);
  r.start();
  r.close();
  expect(s.pending()).toBe(false);
});

test("backoff: 5 s doubling, at most 5 minutes", () => {
  expect([1, 2, 3, 4, 5, 6, 7, 20].map(resolveRetryDelay)).toEqual([5000, 10000, 20000, 40000, 80000, 160000, 300000, 300000]);
});
