// DenyWebhook's scheduling with its effects faked: post answers as the test says, the
// clock and the retry timers are the test's. The lab test (test/integration/serve/
// deny-webhook.test.ts) sends real requests to a real receiver.
import { expect, test } from "bun:test";
import { DenyWebhook, type WebhookDeps } from "../../../src/app/serve/deny-webhook.ts";
import { CONCURRENCY, type PostOutcome } from "../../../src/core/events/webhook.ts";

const A = { family: 4 as const, address: "198.51.100.80", port: 8000 };
const B = { family: 4 as const, address: "198.51.100.81", port: 8000 };

function setup(answer: (to: string, n: number) => PostOutcome | Promise<PostOutcome> | "throw", destinations = [A]) {
  let now = 1_000_000;
  const timers: { at: number; fn: () => void; live: boolean }[] = [];
  const posts: { to: string; body: any }[] = [];
  const events: { event: string; fields: Record<string, unknown> }[] = [];
  const deps: WebhookDeps = {
    url: { url: "http://hook.example:8000/", tls: false, host: "hook.example", port: 8000, path: "/", hostHeader: "hook.example:8000" },
    destinations,
    sandboxId: "sbx",
    async post(to, req) {
      posts.push({ to: to.address, body: JSON.parse(req.body) });
      const r = answer(to.address, posts.length);
      if (r === "throw") throw new Error("boom");
      return r;
    },
    log: { emit() {}, emitLimited: (_k: string, event: string, fields: Record<string, unknown>) => void events.push({ event, fields }) } as never,
    now: () => now,
    schedule(fn, ms) {
      const t = { at: now + ms, fn, live: true };
      timers.push(t);
      return () => void (t.live = false);
    },
  };
  const hook = new DenyWebhook(deps);
  const settle = () => new Promise((r) => setTimeout(r, 0));
  /** moves the clock forward, running the retries that fall due */
  const advance = async (ms: number) => {
    now += ms;
    for (const t of timers.filter((x) => x.live && x.at <= now)) {
      t.live = false;
      t.fn();
    }
    await settle();
  };
  return { hook, posts, events, timers, advance, settle };
}

test("5xx and errors are retried after 1, 2, 4 s with the same body; then given up and logged", async () => {
  const s = setup(() => ({ status: 503 }));
  s.hook.notify("evil.example.com");
  await s.settle();
  for (const wait of [1000, 2000, 4000]) {
    expect(s.posts).toHaveLength(1 + [1000, 2000, 4000].indexOf(wait));
    await s.advance(wait - 1);
    expect(s.posts).toHaveLength(1 + [1000, 2000, 4000].indexOf(wait));
    await s.advance(1);
  }
  expect(s.posts).toHaveLength(4);
  expect(new Set(s.posts.map((p) => JSON.stringify(p.body))).size).toBe(1);
  expect(s.posts[0]!.body).toMatchObject({ hostname: "evil.example.com", sandboxId: "sbx", source: "opensandbox-egress" });
  expect(s.hook.stats()).toMatchObject({ delivered: 0, failed: 1, retries: 3, queued: 0 });
  expect(s.events).toEqual([{ event: "webhook.failed", fields: { hostname: "evil.example.com", attempts: 4, error: "HTTP 503" } }]);
});

test("a post that throws counts as a failed attempt: the name is not stuck, the slot is freed", async () => {
  const s = setup((_to, n) => (n === 1 ? "throw" : { status: 204 }));
  s.hook.notify("a.example");
  await s.settle();
  await s.advance(1000);
  expect(s.hook.stats()).toMatchObject({ delivered: 1, failed: 0, retries: 1 });
});

test("close() cancels the retries waiting", async () => {
  const s = setup(() => ({ error: "connection refused" }));
  s.hook.notify("a.example");
  await s.settle();
  s.hook.close();
  expect(s.timers.filter((t) => t.live)).toEqual([]);
  await s.advance(10_000);
  expect(s.posts).toHaveLength(1);
  s.hook.notify("b.example");
  await s.settle();
  expect(s.posts).toHaveLength(1);
});

test("at most CONCURRENCY deliveries at once; the rest wait their turn", async () => {
  const pending: ((o: PostOutcome) => void)[] = [];
  const s = setup(() => new Promise<PostOutcome>((r) => pending.push(r)));
  for (let i = 0; i < CONCURRENCY + 3; i++) s.hook.notify(`n${i}.example`);
  await s.settle();
  expect(s.posts).toHaveLength(CONCURRENCY);
  expect(s.hook.stats().queued).toBe(3);
  pending.shift()!({ status: 200 });
  await s.settle();
  expect(s.posts).toHaveLength(CONCURRENCY + 1);
});

test("a dead address is skipped, and the one that answered is tried first next time", async () => {
  const s = setup((to) => (to === A.address ? { error: "no reply within 5000 ms" } : { status: 200 }), [A, B]);
  s.hook.notify("a.example");
  await s.settle();
  s.hook.notify("b.example");
  await s.settle();
  expect(s.posts.map((p) => p.to)).toEqual([A.address, B.address, B.address]);
  expect(s.hook.stats()).toMatchObject({ delivered: 2, failed: 0 });
});
