// The deny webhook's decisions (src/core/events/webhook.ts): accepted URLs, the payload
// OpenSandbox receivers expect, when to retry, and which notifications are left out.
import { describe, expect, test } from "bun:test";
import {
  QUEUE_MAX, RATE, REPEAT_MS, WebhookQueue, delivered, parseWebhookUrl, retryDelay, webhookPayload,
} from "../../../src/core/events/webhook.ts";

describe("parseWebhookUrl", () => {
  test("http with a literal address, a name, IPv6, default port, path and query", () => {
    expect(parseWebhookUrl("http://198.51.100.80:8000/hooks/egress?team=a")).toEqual({
      url: "http://198.51.100.80:8000/hooks/egress?team=a", tls: false, host: "198.51.100.80", port: 8000, path: "/hooks/egress?team=a", hostHeader: "198.51.100.80:8000",
    });
    expect(parseWebhookUrl(" http://hook.example.com ")).toMatchObject({ host: "hook.example.com", port: 80, path: "/", hostHeader: "hook.example.com" });
    expect(parseWebhookUrl("http://[2001:db8::80]:9/x")).toMatchObject({ host: "2001:db8::80", port: 9, path: "/x", hostHeader: "[2001:db8::80]:9" });
  });

  test("https: TLS, port 443 by default", () => {
    expect(parseWebhookUrl("https://hook.example.com/x")).toMatchObject({ tls: true, host: "hook.example.com", port: 443, hostHeader: "hook.example.com" });
    expect(parseWebhookUrl("https://hook.example.com:8443/")).toMatchObject({ tls: true, port: 8443 });
  });

  test("everything else is an error that says what to write", () => {
    expect(parseWebhookUrl("ftp://hook.example.com/")).toContain("must start with http:// or https://");
    expect(parseWebhookUrl("hook.example.com:8000")).toContain("must start with http:// or https://");
    expect(parseWebhookUrl("not a url")).toContain("not a URL");
    expect(parseWebhookUrl("http://user:pw@hook.example.com/")).toContain("credentials");
  });
});

test("webhookPayload: OpenSandbox's four fields, sandboxId empty when unknown", () => {
  const at = new Date("2026-08-21T00:00:00.000Z");
  expect(JSON.parse(webhookPayload("blocked.example.com", at, "sbx-1"))).toEqual({
    hostname: "blocked.example.com", timestamp: "2026-08-21T00:00:00.000Z", source: "opensandbox-egress", sandboxId: "sbx-1",
  });
  expect(JSON.parse(webhookPayload("x.example", at, undefined)).sandboxId).toBe("");
});

describe("retryDelay and delivered", () => {
  test("network errors and 5xx: after 1, 2 and 4 s, then no more", () => {
    for (const o of [{ error: "connection refused" }, { status: 500 }, { status: 503 }]) {
      expect([1, 2, 3, 4].map((n) => retryDelay(o, n))).toEqual([1000, 2000, 4000, null]);
    }
  });
  test("an error marked final (a certificate that does not verify) is not retried", () => {
    expect(retryDelay({ error: "TLS: unable to verify the first certificate", final: true }, 1)).toBeNull();
  });

  test("2xx, 3xx and 4xx end the delivery; only 2xx counts as delivered", () => {
    for (const status of [200, 204, 302, 400, 404, 429]) expect(retryDelay({ status }, 1)).toBeNull();
    expect([200, 204, 299, 302, 400, 500].map((status) => delivered({ status }))).toEqual([true, true, true, false, false, false]);
    expect(delivered({ error: "timeout" })).toBe(false);
  });
});

describe("WebhookQueue", () => {
  test("one entry per name while it waits or is delivered; FIFO", () => {
    const q = new WebhookQueue();
    expect(q.offer("a.example", 0)).toBe("queued");
    expect(q.offer("b.example", 0)).toBe("queued");
    expect(q.offer("a.example", 1)).toBe("pending");
    expect(q.take()).toBe("a.example");
    expect(q.offer("a.example", 2)).toBe("pending"); // taken, still being delivered
    expect(q.take()).toBe("b.example");
    expect(q.take()).toBeUndefined();
  });

  test("after a delivery ends the name is quiet for REPEAT_MS, then notified again", () => {
    const q = new WebhookQueue();
    q.offer("a.example", 0);
    q.take();
    q.finished("a.example", 100);
    expect(q.offer("a.example", 100 + REPEAT_MS - 1)).toBe("suppressed");
    expect(q.offer("a.example", 100 + REPEAT_MS)).toBe("queued");
  });

  test("all names together: a burst, then the steady rate; the rest are rate-limited", () => {
    const q = new WebhookQueue();
    const offered = (at: number, n: number, tag: string) => Array.from({ length: n }, (_, i) => { const r = q.offer(`${tag}${i}.example`, at); if (r === "queued") q.take(); return r; });
    expect(offered(0, RATE.burst, "a").every((r) => r === "queued")).toBe(true);
    expect(offered(0, 5, "b")).toEqual(Array(5).fill("ratelimited"));
    expect(offered(1000, RATE.perSecond + 3, "c").filter((r) => r === "queued")).toHaveLength(RATE.perSecond);
  });

  test("at most QUEUE_MAX names wait; the rest are dropped, and room comes back as they are taken", () => {
    const q = new WebhookQueue();
    // spread over time, so the rate limit is not what stops them
    const at = (i: number) => (i * 1000) / RATE.perSecond;
    for (let i = 0; i < QUEUE_MAX; i++) expect(q.offer(`n${i}.example`, at(i))).toBe("queued");
    expect(q.offer("late.example", at(QUEUE_MAX))).toBe("dropped");
    expect(q.size).toBe(QUEUE_MAX);
    q.take();
    expect(q.offer("late.example", at(QUEUE_MAX + 1))).toBe("queued");
  });

  test("quiet times are forgotten once they pass, so the table does not grow without bound", () => {
    const q = new WebhookQueue();
    for (let i = 0; i < 1000; i++) {
      q.offer(`n${i}.example`, i);
      q.take();
      q.finished(`n${i}.example`, i);
    }
    const inner = q as unknown as { lastDone: Map<string, number> };
    q.offer("probe.example", 999 + REPEAT_MS);
    expect(inner.lastDone.size).toBeLessThanOrEqual(1);
  });
});
