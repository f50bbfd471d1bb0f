// Everything serve decides before it touches anything: the policy, the facts of the
// namespace and the mode they allow, the listeners, the upstreams, the DoH list, the
// kernel backend. Any refusal is an exit code here (2, 3, 4 or 1), so nothing has been
// changed when serve gives up.
import { chooseUpstreams } from "../../core/dns/upstream-choice.ts";
import { ownAddresses, type Upstream } from "../../core/dns/upstreams.ts";
import type { ServeConfig } from "../../core/config/serve-config.ts";
import { parseSearchConfig } from "../../core/dns/search-list.ts";
import { Exit } from "../../core/exit-codes.ts";
import { assess, type Assessment } from "../../core/probe/assess.ts";
import { MODE_SPELLINGS, parseMode } from "../../core/probe/modes.ts";
import type { ProbeFacts } from "../../core/probe/types.ts";
import type { CidrList } from "../../core/ruleset/cidr-list.ts";
import { STRICT_443_WARNING } from "../../core/ruleset/doh.ts";
import type { AlwaysRules } from "../../core/always/types.ts";
import { readAlwaysRules } from "../../effects/fs/always-files.ts";
import { alwaysSummary, logAlwaysProblems } from "./always-log.ts";
import type { UpstreamOrigin } from "../../core/ruleset/model.ts";
import { EXEMPT_MARK, UPSTREAMS_V4, UPSTREAMS_V6 } from "../../core/ruleset/names.ts";
import { readRecordedUpstreams, type RecordedUpstreams } from "../../core/ruleset/upstream-record.ts";
import { openNetlinkReader } from "../../effects/nft/netlink-reader.ts";
import { exemptMatcher, exemptUpstream } from "../../core/ruleset/nameserver-exempt.ts";
import { readPolicyText } from "../../effects/fs/policy-file.ts";
import type { EventLog } from "../../effects/log/events.ts";
import { openNftBackend, type NftBackend } from "../../effects/nft/backend.ts";
import { gatherFacts } from "../../effects/probe/facts.ts";
import { prepareSocketDir } from "../../effects/fs/private-dir.ts";
import { interfaceAddresses } from "../../effects/sys/interface-addresses.ts";
import { choosePolicy, type PolicyChoice, type ReadText } from "./policy-source.ts";
import { logPolicyWarnings } from "./policy-warnings.ts";
import { planWebhook, readCaPem, type WebhookPlan } from "./webhook-plan.ts";

export interface StartPlan {
  choice: PolicyChoice;
  /** the operator's always lists as read at start */
  always: AlwaysRules;
  facts: ProbeFacts;
  assessment: Assessment;
  listen: { host: string; port: number }[];
  upstreams: Upstream[];
  /** configured, or read from resolv.conf at the first start in this namespace */
  upstreamOrigin: UpstreamOrigin;
  /** kept from the kernel's record of an earlier serve instead of re-reading resolv.conf */
  upstreamsPinned: boolean;
  /** upstreams on the namespace's own addresses (--allow-local-upstream) */
  upstreamsLocal: string[];
  nameserverExempt: CidrList;
  /** the deny webhook, where its host resolved to ([]: not yet), and how to resolve it again; null when not configured */
  webhook: WebhookPlan | null;
  /**
   * The mark serve's own connections carry: EXEMPT_MARK, or null in disabled mode (no
   * redirect to be exempt from, and setting SO_MARK needs CAP_NET_ADMIN or CAP_NET_RAW,
   * which disabled mode may lack). `markFor`: the same per upstream, null for an exempt
   * nameserver, whose DNS the ruleset lets out unmarked (nameserver-exempt.ts).
   */
  mark: number | null;
  markFor: (u: { address: string; port: number }) => number | null;
  isExempt: (address: string) => boolean;
}

/** Policy files are read the same way at start and on every reload. */
export const readText: ReadText = (path) => {
  const d = readPolicyText(path);
  if ("text" in d) return { ok: true, text: d.text };
  return "unreadable" in d ? { ok: false, error: d.unreadable } : { ok: false, error: d.problem.message, problems: [d.problem] };
};

export async function planStart(cfg: ServeConfig, log: EventLog): Promise<StartPlan | number> {
  const wantMode = parseMode(cfg.mode);
  if (wantMode === null) {
    log.emit("serve.refused", { reason: `unknown mode '${cfg.mode}' (${MODE_SPELLINGS.join(", ")})` }, "error");
    return Exit.usage;
  }
  const chosen = choosePolicy({ file: cfg.policyFile, envPolicyFile: cfg.envPolicyFile, envRules: cfg.envRules }, readText);
  if (!chosen.ok) {
    log.emit("policy.invalid", { source: chosen.source, error: chosen.error, problems: chosen.problems }, "error");
    return Exit.invalidPolicy;
  }
  const choice = chosen.choice;
  for (const note of choice.notes) log.emit("policy.note", { note }, "warn");
  for (const warning of cfg.warnings) log.emit("config.warning", { warning }, "warn");
  // as OpenSandbox: a list that exists but cannot be read stops the start (exit 1)
  const always = readAlwaysRules(cfg.alwaysRulesDir);
  if (!always.ok) {
    log.emit("serve.refused", { reason: always.errors.map((e) => `cannot read ${e.path}: ${e.error}`).join("; ") }, "error");
    return Exit.runtime;
  }
  log.emit("always", alwaysSummary(always.rules));
  logAlwaysProblems(log, always.rules);

  const facts = await gatherFacts({ kernel: cfg.kernel });
  const a = assess(facts, { wantMode, requireFullIsolation: choice.policy.requireFullIsolation, allowHostNetwork: cfg.allowHostNetwork });
  if (a.refusal) {
    log.emit("serve.refused", { reason: a.refusal.message, available: a.available }, "error");
    return Exit.unavailable;
  }
  log.emit("mode", { mode: a.mode, redirect: a.redirect, reasons: a.reasons }, a.mode === "disabled" ? "error" : "info");
  logPolicyWarnings(log, choice.source, choice.warnings, choice.policy, a.mode);

  const backend = a.redirect === "nftables" ? openNftBackend(cfg.kernel) : null;
  if (backend && "unavailable" in backend) {
    log.emit("serve.refused", { reason: backend.unavailable }, "error");
    return Exit.unavailable;
  }
  const listen = [{ host: "127.0.0.1", port: cfg.dnsPort }, ...(facts.ipv6.enabled ? [{ host: "::1", port: cfg.dnsPort }] : [])];
  const resolvConf = readText("/etc/resolv.conf");
  const ups = chooseUpstreams({
    spec: cfg.upstreamSpec,
    resolvConf,
    recorded: backend ? recordedUpstreamsIn(backend) : null,
    self: listen,
    own: ownAddresses(interfaceAddresses()),
    allowLocal: cfg.allowLocalUpstream,
  });
  for (const p of ups.problems) log.emit("upstream.ignored", { problem: p }, "warn");
  for (const n of ups.notes) log.emit(n.event, n.fields, n.level);
  if (ups.upstreams.length === 0) {
    log.emit("serve.refused", { reason: "no usable upstream resolver: set --upstream or OPENSANDBOX_EGRESS_DNS_UPSTREAM" }, "error");
    return Exit.runtime;
  }
  const doh = cfg.doh;
  for (const p of doh.problems) log.emit("doh.ignored", { problem: p }, "warn");
  if (doh.stance === "strict") log.emit("doh.strict", { warning: STRICT_443_WARNING }, "warn");
  // A bad entry fails closed (DNS to it is judged like any other), so warn and go on.
  const exempt = cfg.nameserverExempt;
  for (const p of exempt.problems) log.emit("exempt.ignored", { problem: p }, "warn");
  const exempted = [...exempt.list[4], ...exempt.list[6]];
  if (exempted.length && a.mode === "dns-only") {
    log.emit("exempt.bypass", { nameservers: exempted, note: "dns-only mode: names resolved through these servers are not judged and nothing filters their addresses" }, "warn");
  }

  const ca = webhookCa(cfg);
  if ("error" in ca) {
    log.emit("serve.refused", { reason: ca.error }, "error");
    return Exit.usage;
  }
  // the status socket's directory is serve's own (0700): fixed or refused after every
  // other refusal (so those change nothing) and before the kernel is touched
  const dir = prepareSocketDir(cfg.statusSocket);
  if ("refused" in dir) {
    log.emit("serve.refused", { reason: dir.refused }, "error");
    return Exit.usage;
  }
  if ("failed" in dir) {
    log.emit("serve.failed", { reason: dir.failed }, "error");
    return Exit.runtime;
  }
  if (dir.fixed) log.emit("status.dir_fixed", { path: dir.path, was: dir.fixed, now: { mode: "0700", uid: process.getuid?.(), gid: process.getgid?.() } }, "warn");
  const mark = a.mode === "disabled" ? null : EXEMPT_MARK;
  const isExempt = exemptMatcher(exempted);
  const markFor = (u: { address: string; port: number }) => (exemptUpstream(isExempt, u) ? null : mark);
  for (const u of ups.upstreams.filter((x) => exemptUpstream(isExempt, x))) {
    log.emit("exempt.upstream", { upstream: u.label, note: "an exempt nameserver: the proxy's queries to it go unmarked, as the application's may" });
  }
  const search = resolvConf.ok ? parseSearchConfig(resolvConf.text) : { search: [], ndots: 1 };
  const webhook = cfg.denyWebhook
    ? await planWebhook(cfg.denyWebhook, { upstreams: ups.upstreams, search, markFor, timeoutMs: cfg.upstreamTimeoutMs, ca: ca.ca, log })
    : null;
  return { choice, always: always.rules, facts, assessment: a, listen, upstreams: ups.upstreams, upstreamOrigin: ups.origin, upstreamsPinned: ups.pinned, upstreamsLocal: ups.local, nameserverExempt: exempt.list, webhook, mark, markFor, isExempt };
}

/**
 * What an earlier serve recorded: over netlink, as serve reads the kernel throughout
 * (libnftables fetches every learned element before listing any set, a second and more
 * with full sets, and DNS is not answered yet); through libnftables where netlink fails.
 */
function recordedUpstreamsIn(nft: NftBackend): RecordedUpstreams | null {
  const reader = openNetlinkReader();
  if (!("unavailable" in reader)) {
    try {
      const r = reader.upstreams();
      if (r.ok) return r.value;
    } finally {
      reader.close();
    }
  }
  return readRecordedUpstreams([nft.listSetJson(UPSTREAMS_V4), nft.listSetJson(UPSTREAMS_V6)]);
}

/** EGRESSCTL_WEBHOOK_CA_FILE, read and checked when an https webhook will use it */
function webhookCa(cfg: ServeConfig): { ca?: string } | { error: string } {
  if (!cfg.webhookCaFile || !cfg.denyWebhook?.tls) return {};
  const r = readText(cfg.webhookCaFile);
  const pem = r.ok ? readCaPem(r.text) : { error: r.error };
  return typeof pem === "string" ? { ca: pem } : { error: `EGRESSCTL_WEBHOOK_CA_FILE ${cfg.webhookCaFile}: ${pem.error}` };
}
