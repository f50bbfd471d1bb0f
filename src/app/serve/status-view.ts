// What /status shows, built from serve's live state (/metrics: metrics.ts). Pure formatting.
import type { LearnBounds } from "../../core/learn/bounds.ts";
import type { LearnTable } from "../../core/learn/table.ts";
import { localList } from "./local-watch.ts";
import type { Measured } from "../../core/status/level.ts";
import type { Assessment } from "../../core/probe/assess.ts";
import type { KernelState } from "../../core/status/kernel-state.ts";
import { COMMIT, VERSION } from "../../version.ts";
import type { DnsProxy } from "../../effects/dns/proxy.ts";
import type { WebhookStats } from "./deny-webhook.ts";
import type { PrivilegeScan } from "../../core/caps/privileged.ts";
import { upstreamAt } from "../../core/dns/upstreams.ts";
import { inboundView, type InboundFrom } from "../../core/ruleset/inbound.ts";
import type { UpstreamOrigin } from "../../core/ruleset/model.ts";
import { policyMode, type LivePolicy } from "./live-policy.ts";
import { alwaysStatus } from "./always-log.ts";
import type { LayerCounts } from "./dns-events.ts";
import { expectedAlwaysDigest } from "../../core/ruleset/plan.ts";

export interface ServeState {
  startedAt: number;
  assessment: Assessment;
  live: LivePolicy;
  measured: Measured | null;
  kernel: (opts?: { learned?: boolean }) => Promise<KernelState | null>;
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
  /** --inbound-from */
  inbound: InboundFrom;
  upstreamOrigin: UpstreamOrigin;
  upstreamsPinned: boolean;
  upstreamsLocal: string[];
  /** the last scan for processes holding NET_RAW or NET_ADMIN; null before the first */
  privileged: () => PrivilegeScan | null;
}

export async function statusJson(s: ServeState, now: number): Promise<unknown> {
  const k = await s.kernel();
  const intended = s.assessment.mode;
  return {
    version: VERSION,
    commit: COMMIT,
    uptimeSeconds: Math.round((now - s.startedAt) / 1000),
    mode: intended,
    // how DNS reaches the proxy: doctor checks the iptables fallback's chains by this
    redirect: s.assessment.redirect,
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
      guardHooked: k.guardHooked,
      // what a later serve without --upstream will keep (docs/security.md, "Upstreams are pinned")
      upstreams: k.recordedUpstreams ? { origin: k.recordedUpstreams.origin, recorded: k.recordedUpstreams.upstreams.map((u) => upstreamAt(u.family, u.address, u.port).label) } : null,
      learnedElements: k.learned[4] + k.learned[6],
      learned: { 4: k.learned[4], 6: k.learned[6] },
    },
    learned: { names: s.table.nameCount, addresses: s.table.addressCount, maxLifetimeSec: s.learnBounds.maxLifetimeSec, maxElements: s.learnBounds.maxElements },
    guard: { privateAnswers: s.live.guardSettings.privateAnswers, local: localList(s.live.guardSettings.local) },
    reloads: s.reloads,
    dns: s.proxy?.stats() ?? null,
    webhook: s.webhook?.stats() ?? null,
    nameserverExempt: s.nameserverExempt,
    // enforced by the filter only: in dns-only nothing filters packets at all
    inbound: { from: inboundView(s.inbound), enforced: intended === "dns+nftables" },
    upstreams: { origin: s.upstreamOrigin, pinned: s.upstreamsPinned, local: s.upstreamsLocal },
    pid: process.pid,
    privileged: s.privileged(),
  };
}
