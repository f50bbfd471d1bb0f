// Sends each denied name to OPENSANDBOX_EGRESS_DENY_WEBHOOK. The decisions (what is sent,
// retried, left out) are core/events/webhook.ts; this drives them with timers and
// marked connections. Nothing here can hold up a DNS answer: notify() only queues.
import { CONCURRENCY, POST_TIMEOUT_MS, WebhookQueue, delivered, retryDelay, webhookPayload, type PostOutcome, type WebhookUrl } from "../../core/events/webhook.ts";
import type { EventLog } from "../../effects/log/events.ts";
import type { Destination } from "../../effects/sys/marked-tcp.ts";

export interface WebhookStats {
  url: string;
  addresses: string[];
  delivered: number;
  /** given up: 4xx, or still failing after the last retry */
  failed: number;
  retries: number;
  /** a delivery for the name was already under way */
  coalesced: number;
  /** notified within the last REPEAT_MS */
  suppressed: number;
  /** over the rate of all names together */
  ratelimited: number;
  /** the queue was full */
  dropped: number;
  queued: number;
}

export interface WebhookDeps {
  url: WebhookUrl;
  /** where the URL's host resolved to (tried in order) */
  destinations: Destination[];
  sandboxId?: string;
  post(to: Destination, req: { hostHeader: string; path: string; body: string }, timeoutMs: number): Promise<PostOutcome>;
  log: EventLog;
  /**
   * A monotonic clock in ms for the bounds (default performance.now): a wall clock
   * stepped back would stall the rate limit and the quiet times for as long.
   */
  now?: () => number;
  /** runs fn after ms; returns a cancel (default: setTimeout; tests: a fake clock) */
  schedule?: (fn: () => void, ms: number) => () => void;
}

export const realSchedule = (fn: () => void, ms: number) => {
  const t = setTimeout(fn, ms);
  return () => clearTimeout(t);
};

export class DenyWebhook {
  private readonly queue = new WebhookQueue();
  private active = 0;
  /** index of the destination that answered last */
  private preferred = 0;
  private closed = false;
  /** cancels of the retries waiting */
  private readonly timers = new Set<() => void>();
  private readonly counts = { delivered: 0, failed: 0, retries: 0, coalesced: 0, suppressed: 0, ratelimited: 0, dropped: 0 };

  constructor(private readonly d: WebhookDeps) {}

  notify(hostname: string): void {
    if (this.closed) return;
    const r = this.queue.offer(hostname, this.now());
    if (r === "pending") this.counts.coalesced++;
    else if (r === "suppressed") this.counts.suppressed++;
    else if (r === "ratelimited") this.counts.ratelimited++;
    else if (r === "dropped") this.counts.dropped++;
    this.pump();
  }

  stats(): WebhookStats {
    return { url: this.d.url.url, addresses: this.d.destinations.map((x) => x.address), ...this.counts, queued: this.queue.size };
  }

  /** stops sending; deliveries under way finish on their own, retries are cancelled */
  close(): void {
    this.closed = true;
    for (const cancel of this.timers) cancel();
    this.timers.clear();
  }

  private now(): number {
    return this.d.now?.() ?? performance.now();
  }

  private pump(): void {
    while (!this.closed && this.active < CONCURRENCY) {
      const name = this.queue.take();
      if (name === undefined) return;
      this.active++;
      void this.deliver(name, webhookPayload(name, new Date(), this.d.sandboxId), 1);
    }
  }

  /** One attempt; a retriable failure schedules the next and keeps the slot meanwhile. */
  private async deliver(name: string, body: string, attempt: number): Promise<void> {
    const outcome = await this.send(body);
    const wait = delivered(outcome) || this.closed ? null : retryDelay(outcome, attempt);
    if (wait !== null) {
      this.counts.retries++;
      const cancel = (this.d.schedule ?? realSchedule)(() => {
        this.timers.delete(cancel);
        void this.deliver(name, body, attempt + 1);
      }, wait);
      this.timers.add(cancel);
      return;
    }
    if (delivered(outcome)) this.counts.delivered++;
    else {
      this.counts.failed++;
      const why = "status" in outcome ? `HTTP ${outcome.status}` : outcome.error;
      this.d.log.emitLimited("webhook", "webhook.failed", { hostname: name, attempts: attempt, error: why }, "warn");
    }
    this.queue.finished(name, this.now());
    this.active--;
    this.pump();
  }

  /**
   * The first destination that gives an HTTP answer decides; the one that last did is
   * tried first, so a dead address costs its timeout once, not on every notification.
   */
  private async send(body: string): Promise<PostOutcome> {
    let last: PostOutcome = { error: "no address" };
    const order = [...this.d.destinations];
    order.unshift(...order.splice(this.preferred, 1));
    for (const to of order) {
      try {
        last = await this.d.post(to, { hostHeader: this.d.url.hostHeader, path: this.d.url.path, body }, POST_TIMEOUT_MS);
      } catch (e) {
        last = { error: (e as Error).message }; // a delivery must end, or its name stays busy
      }
      if ("status" in last) {
        this.preferred = this.d.destinations.indexOf(to);
        return last;
      }
    }
    return last;
  }
}
