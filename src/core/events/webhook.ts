// OPENSANDBOX_EGRESS_DENY_WEBHOOK, the decisions: which URLs are accepted, what is sent,
// when a failed delivery is retried, and which notifications are sent at all. Pure (time
// is passed in); serve's deny-webhook.ts does the sending.
//
// OpenSandbox's meaning is kept: each name the DNS proxy denies is POSTed as
// {"hostname","timestamp","source":"opensandbox-egress","sandboxId"}; a request times
// out after 5 s; network errors and 5xx are retried after 1, 2 and 4 s; 4xx is not.
// Added here, because a sandboxed program controls how often it asks for a denied name:
// a name is notified at most once per REPEAT_MS, at most one delivery per name is under
// way at a time, all names together at most RATE (a loop over ever-new names must not
// flood a receiver that other sandboxes share), and at most QUEUE_MAX names wait.
// Whatever is left out is counted.

import { createRateLimiter } from "./rate-limit.ts";

export const WEBHOOK_SOURCE = "opensandbox-egress";
export const POST_TIMEOUT_MS = 5_000;
export const RETRY_DELAYS_MS = [1_000, 2_000, 4_000] as const;
export const REPEAT_MS = 10_000;
export const QUEUE_MAX = 256;
/** notifications of all names together: a burst, then a steady rate */
export const RATE = { burst: 50, perSecond: 10 } as const;
/** deliveries under way at once */
export const CONCURRENCY = 4;
/** resolving the receiver's host again after a failure: 5 s, doubling, at most 5 minutes */
export const RESOLVE_RETRY_MS = { first: 5_000, max: 300_000 } as const;

export function resolveRetryDelay(failures: number): number {
  return Math.min(RESOLVE_RETRY_MS.max, RESOLVE_RETRY_MS.first * 2 ** Math.max(0, failures - 1));
}

export interface WebhookUrl {
  /** as configured, for logs and /status */
  url: string;
  /** https: the receiver's certificate is verified against `host` */
  tls: boolean;
  /** a literal address (brackets removed) or a name to resolve */
  host: string;
  port: number;
  /** path and query, at least "/" */
  path: string;
  /** the Host header: host[:port] as written in the URL */
  hostHeader: string;
}

/** http(s)://HOST[:PORT][/PATH]; a string (the error) otherwise. */
export function parseWebhookUrl(spec: string): WebhookUrl | string {
  let u: URL;
  try {
    u = new URL(spec.trim());
  } catch {
    return `not a URL: '${spec}'`;
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return `the URL must start with http:// or https://, got '${spec}'`;
  if (u.username || u.password) return `credentials in the URL are not supported: '${spec}'`;
  const tls = u.protocol === "https:";
  const host = u.hostname.startsWith("[") ? u.hostname.slice(1, -1) : u.hostname;
  return { url: u.href, tls, host, port: u.port ? Number(u.port) : tls ? 443 : 80, path: `${u.pathname || "/"}${u.search}`, hostHeader: u.host };
}

export function webhookPayload(hostname: string, at: Date, sandboxId: string | undefined): string {
  return JSON.stringify({ hostname, timestamp: at.toISOString(), source: WEBHOOK_SOURCE, sandboxId: sandboxId ?? "" });
}

/** `final`: an error no retry can mend (a certificate that does not verify) */
export type PostOutcome = { status: number } | { error: string; final?: boolean };

/** Milliseconds until the next attempt, or null: delivered, refused for good, or out of retries. */
export function retryDelay(outcome: PostOutcome, attemptsSoFar: number): number | null {
  const retriable = "error" in outcome ? !outcome.final : outcome.status >= 500;
  if (!retriable) return null;
  return RETRY_DELAYS_MS[attemptsSoFar - 1] ?? null;
}

export const delivered = (o: PostOutcome): boolean => "status" in o && o.status >= 200 && o.status < 300;

export type Offer = "queued" | "pending" | "suppressed" | "ratelimited" | "dropped";

/** Which names wait to be sent; bounded, one entry per name, and a quiet time per name after each. */
export class WebhookQueue {
  private readonly waiting: string[] = [];
  /** names queued or being delivered */
  private readonly busy = new Set<string>();
  /** name -> when its last delivery ended; bounded by pruning on each offer */
  private readonly lastDone = new Map<string, number>();
  private readonly rate = createRateLimiter({ ...RATE, maxKeys: 1 });

  offer(name: string, now: number): Offer {
    if (this.busy.has(name)) return "pending";
    const done = this.lastDone.get(name);
    if (done !== undefined && now - done < REPEAT_MS) return "suppressed";
    this.prune(now);
    if (this.waiting.length >= QUEUE_MAX) return "dropped";
    if (this.rate.admit("all", now) === null) return "ratelimited";
    this.busy.add(name);
    this.waiting.push(name);
    return "queued";
  }

  /** the next name to deliver, oldest first */
  take(): string | undefined {
    return this.waiting.shift();
  }

  /** the delivery of `name` ended (delivered or given up): its quiet time starts */
  finished(name: string, now: number): void {
    this.busy.delete(name);
    this.lastDone.delete(name); // re-insert: the Map stays ordered by end time
    this.lastDone.set(name, now);
  }

  get size(): number {
    return this.waiting.length;
  }

  /** forget quiet times that have passed (they are in end-time order) */
  private prune(now: number): void {
    for (const [name, at] of this.lastDone) {
      if (now - at < REPEAT_MS) break;
      this.lastDone.delete(name);
    }
  }
}
