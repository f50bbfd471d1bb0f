// The deny webhook over serve's life (docs/serve.md "Deny webhook"). The filter can let
// serve reach the receiver only once its addresses are known: a literal address is known
// at once; a name is resolved at start and, when that fails (the cluster's DNS not ready
// yet, say), again with backoff until it resolves. Then the ruleset is installed again
// with the receiver let out, and notifications start. Until then each denied name is
// counted as dropped: a missing notification channel must not hold up enforcement.
import { resolveRetryDelay, type WebhookUrl } from "../../core/events/webhook.ts";
import { postJson } from "../../effects/http/post-json.ts";
import type { EventLog } from "../../effects/log/events.ts";
import type { Destination } from "../../effects/sys/marked-tcp.ts";
import { DenyWebhook, realSchedule, type WebhookStats } from "./deny-webhook.ts";
import type { WebhookPlan } from "./webhook-plan.ts";

/**
 * The runner for serve's configuration, its start logged: none without a webhook, and
 * none in --audit, where nothing is denied. `open` lets serve reach new addresses.
 */
export function webhookRunner(
  plan: WebhookPlan | null,
  o: { audit: boolean; sandboxId?: string; mark: number | null; log: EventLog; open(found: Destination[]): Promise<boolean> },
): WebhookRunner | null {
  if (!plan) return null;
  const runner = o.audit ? null : new WebhookRunner({
    url: plan.url,
    resolve: plan.resolve,
    open: o.open,
    make: (destinations) => new DenyWebhook({
      url: plan.url, destinations, sandboxId: o.sandboxId, log: o.log,
      post: (to, req, timeoutMs) => postJson(to, req, { timeoutMs, mark: o.mark, tls: plan.tls }),
    }),
    log: o.log,
  }, plan.destinations);
  o.log.emit("webhook", { url: plan.url.url, addresses: plan.destinations.map((d) => d.address), sending: runner !== null && plan.destinations.length > 0 });
  return runner;
}

export interface WebhookRunnerDeps {
  url: WebhookUrl;
  resolve(): Promise<Destination[]>;
  /** lets serve's connections reach these addresses (the ruleset); false when that failed */
  open(destinations: Destination[]): Promise<boolean>;
  make(destinations: Destination[]): DenyWebhook;
  log: EventLog;
  /** runs fn after ms; returns a cancel (tests: a fake clock) */
  schedule?: (fn: () => void, ms: number) => () => void;
}

export class WebhookRunner {
  private hook: DenyWebhook | null = null;
  private unsent = 0;
  private failures = 0;
  private cancel: (() => void) | null = null;
  private closed = false;

  /** `initial`: what the start-up resolution found ([]: not resolved yet) */
  constructor(private readonly d: WebhookRunnerDeps, initial: Destination[]) {
    if (initial.length) this.hook = d.make(initial);
  }

  /** Starts resolving again if start-up could not; call once serve is running. */
  start(): void {
    if (!this.hook && !this.closed) this.later();
  }

  notify(hostname: string): void {
    if (this.hook) this.hook.notify(hostname);
    else this.unsent++;
  }

  stats(): WebhookStats & { resolved: boolean } {
    if (this.hook) {
      const st = this.hook.stats();
      return { ...st, dropped: st.dropped + this.unsent, resolved: true }; // counters never go back
    }
    const zero = { delivered: 0, failed: 0, retries: 0, coalesced: 0, suppressed: 0, ratelimited: 0, queued: 0 };
    return { url: this.d.url.url, addresses: [], ...zero, dropped: this.unsent, resolved: false };
  }

  close(): void {
    this.closed = true;
    this.cancel?.();
    this.hook?.close();
  }

  private later(): void {
    this.failures++;
    this.cancel = (this.d.schedule ?? realSchedule)(() => void this.attempt(), resolveRetryDelay(this.failures));
  }

  private async attempt(): Promise<void> {
    const found = await this.d.resolve().catch(() => []);
    if (this.closed) return;
    let opened = false;
    try {
      opened = found.length > 0 && (await this.d.open(found));
    } catch {
      opened = false; // the ruleset could not be installed: try again later
    }
    if (!opened) return this.later();
    this.hook = this.d.make(found);
    this.d.log.emit("webhook", { url: this.d.url.url, addresses: found.map((f) => f.address), sending: true, after: `${this.failures} failed attempt(s)` });
  }
}
