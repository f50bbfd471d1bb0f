// What /status and /metrics show, built from serve's live state. Pure formatting.
import type { LearnBounds } from "../../core/learn/bounds.ts";
import type { LearnTable } from "../../core/learn/table.ts";
import { localList } from "./local-watch.ts";
import type { Measured } from "../../core/status/level.ts";
import type { Assessment } from "../../core/probe/assess.ts";
import type { KernelState } from "../../core/status/kernel-state.ts";
import { COMMIT, VERSION } from "../../version.ts";
import type { DnsProxy } from "../../effects/dns/proxy.ts";
import type { WebhookStats } from "./deny-webhook.ts";
import { policyMode, type LivePolicy } from "./live-policy.ts";
import { alwaysStatus } from "./always-log.ts";
import type { LayerCounts } from "./dns-events.ts";
import { expectedAlwaysDigest } from "../../core/ruleset/plan.ts";

export interface ServeState {
  startedAt: number;
  assessment: Assessment;
  live: LivePolicy;
  measured: Measured | null;
  kernel: (opts?: { learned?: boolean }) => KernelState | null;
  table: LearnTable;
  proxy: DnsProxy | null;
  reloads: { ok: number; failed: number; lastError: string | null };
  audit: boolean;
  webhook: { stats(): WebhookStats } | null;
  /** OPENSANDBOX_EGRESS_NAMESERVER_EXEMPT as in force (CIDR texts) */
  nameserverExempt: string[];
  /** names each layer (deny.always, allow.always, policy) allowed and denied */
  layerCounts: LayerCounts;
  /** the learned sets' bounds in force */
  learnBounds: LearnBounds;
}

export function statusJson(s: ServeState, now: number): unknown {
  const k = s.kernel();
  const intended = s.assessment.mode;
  return {
    version: VERSION,
    commit: COMMIT,
    uptimeSeconds: Math.round((now - s.startedAt) / 1000),
    mode: intended,
    measuredLevel: s.measured?.level ?? null,
    selfTestFindings: s.measured?.findings ?? [],
    audit: s.audit,
    reasons: s.assessment.reasons,
    warning: intended === "disabled" ? "egress enforcement is DISABLED: nothing is filtered" : undefined,
    policy: {
      source: s.live.source,
      digest: s.live.digest,
      mode: policyMode(s.live.policy),
      defaultAction: s.live.policy.defaultAction,
      rules: s.live.policy.rules.length,
      appliedAt: new Date(s.live.appliedAt).toISOString(),
    },
    always: { ...alwaysStatus(s.live.always, s.live.alwaysDigest), decisions: s.layerCounts },
    kernel: k && {
      present: k.present,
      matches: k.digest === s.live.digest && k.alwaysDigest === expectedAlwaysDigest(s.live.always),
      digest: k.digest,
      filterHooked: k.filterHooked,
      natHooked: k.natHooked,
      learnedElements: k.learned[4] + k.learned[6],
      learned: { 4: k.learned[4], 6: k.learned[6] },
    },
    learned: { names: s.table.nameCount, addresses: s.table.addressCount, maxLifetimeSec: s.learnBounds.maxLifetimeSec, maxElements: s.learnBounds.maxElements },
    guard: { privateAnswers: s.live.guardSettings.privateAnswers, local: localList(s.live.guardSettings.local) },
    reloads: s.reloads,
    dns: s.proxy?.stats() ?? null,
    webhook: s.webhook?.stats() ?? null,
    nameserverExempt: s.nameserverExempt,
  };
}

export function metricsText(s: ServeState): string {
  const lines: string[] = [];
  const gauge = (name: string, help: string, value: number, type = "gauge") => {
    lines.push(`# HELP egressctl_${name} ${help}`, `# TYPE egressctl_${name} ${type}`, `egressctl_${name} ${value}`);
  };
  const levels = ["disabled", "dns-only", "dns+nftables"];
  gauge("enforcement_level", `measured level: ${levels.map((l, i) => `${i}=${l}`).join(", ")}`, levels.indexOf(s.measured?.level ?? s.assessment.mode));
  gauge("learned_addresses", "distinct addresses learned from allowed answers", s.table.addressCount);
  gauge("learned_names", "names with learned addresses", s.table.nameCount);
  gauge("policy_rules", "rules in the policy in force", s.live.policy.rules.length);
  gauge("reloads_total", "policy reloads applied", s.reloads.ok, "counter");
  lines.push("# HELP egressctl_dns_decisions_total names answered, by deciding layer and verdict", "# TYPE egressctl_dns_decisions_total counter");
  for (const [layer, c] of Object.entries(s.layerCounts)) {
    lines.push(`egressctl_dns_decisions_total{layer="${layer}",verdict="allow"} ${c.allowed}`, `egressctl_dns_decisions_total{layer="${layer}",verdict="deny"} ${c.denied}`);
  }
  gauge("reload_failures_total", "policy reloads rejected", s.reloads.failed, "counter");
  // what the kernel refused, per reason (the table's named counters)
  const counters = Object.entries(s.kernel({ learned: false })?.counters ?? {}).filter(([n]) => n.startsWith("denied_"));
  if (counters.length) {
    lines.push("# HELP egressctl_denied_packets_total packets the filter denied, by reason", "# TYPE egressctl_denied_packets_total counter");
    for (const [n, c] of counters) lines.push(`egressctl_denied_packets_total{reason="${n.slice(7)}"} ${c.packets}`);
    lines.push("# HELP egressctl_denied_bytes_total bytes the filter denied, by reason", "# TYPE egressctl_denied_bytes_total counter");
    for (const [n, c] of counters) lines.push(`egressctl_denied_bytes_total{reason="${n.slice(7)}"} ${c.bytes}`);
  }
  const st = s.proxy?.stats();
  if (st) {
    for (const [k, v] of Object.entries(st)) {
      if (typeof v !== "number") continue;
      const name = `dns_${k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`;
      gauge(k === "inFlight" ? name : `${name}_total`, `DNS proxy: ${k}`, v, k === "inFlight" ? "gauge" : "counter");
    }
    for (const u of st.upstreams) lines.push(`egressctl_upstream_up{upstream="${u.upstream}"} ${u.up ? 1 : 0}`);
  }
  const w = s.webhook?.stats();
  if (w) {
    lines.push("# HELP egressctl_webhook_notifications_total denied names for the deny webhook, by outcome", "# TYPE egressctl_webhook_notifications_total counter");
    for (const k of ["delivered", "failed", "coalesced", "suppressed", "ratelimited", "dropped"] as const) lines.push(`egressctl_webhook_notifications_total{outcome="${k}"} ${w[k]}`);
    gauge("webhook_retries_total", "deny webhook: attempts retried", w.retries, "counter");
  }
  return `${lines.join("\n")}\n`;
}
