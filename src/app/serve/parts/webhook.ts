// The deny webhook part (webhook-runner.ts): built before the proxy, whose event sink
// hands it each denied name, and started once serve is ready: a receiver whose name did
// not resolve at start is resolved again with backoff, then let out through the
// enforcer (the ruleset installed again with its addresses) before anything is sent.
import type { Part } from "../../../core/lifecycle/lifecycle.ts";
import type { EventLog } from "../../../effects/log/events.ts";
import type { Enforcer } from "../enforcer.ts";
import type { WebhookPlan } from "../webhook-plan.ts";
import { webhookRunner, type WebhookRunner } from "../webhook-runner.ts";

export interface WebhookPart extends Part {
  /** null without a webhook, and in --audit (nothing is denied) */
  readonly runner: WebhookRunner | null;
}

export function webhookPart(plan: WebhookPlan | null, o: { audit: boolean; sandboxId?: string; mark: number | null; log: EventLog; enforcer: Pick<Enforcer, "letOut"> }): WebhookPart {
  const { log, enforcer } = o;
  const runner = webhookRunner(plan, {
    ...o,
    async open(found) {
      const r = await enforcer.letOut(found);
      if (!r.ok) log.emit("webhook.open_failed", { error: r.error }, "error");
      return r.ok;
    },
  });
  return {
    name: "deny webhook",
    runner,
    start: () => runner?.start(),
    stop: () => runner?.close(),
  };
}
