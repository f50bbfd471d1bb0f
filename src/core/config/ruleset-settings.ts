// Everything besides the policy that shapes the ruleset, resolved once from flags and
// environment, the same way for apply and serve: so the two render the same ruleset for
// the same environment (test/integration/apply/same-ruleset.test.ts proves it in the
// kernel). Entries that cannot be used are kept as `problems`: apply refuses them (exit
// 2), serve warns and goes on without them (docs/serve.md). Pure.
import { DEFAULT_ALWAYS_DIR } from "../always/types.ts";
import { parseWebhookUrl, type WebhookUrl } from "../events/webhook.ts";
import { DEFAULT_MAX_ELEMENTS, DEFAULT_MAX_LIFETIME_SEC, MAX_ELEMENTS_RANGE, MAX_LIFETIME_RANGE, type LearnBounds } from "../learn/bounds.ts";
import { parseAddress } from "../net/ip.ts";
import type { CidrList } from "../ruleset/cidr-list.ts";
import { dohFromSettings, type DohSettings } from "../ruleset/doh.ts";
import { INBOUND_ANY, INBOUND_ENV, parseInboundFrom, type InboundFrom } from "../ruleset/inbound.ts";
import type { Mode, PlanEnv, Upstream, UpstreamOrigin } from "../ruleset/model.ts";
import { nameserverExempt } from "../ruleset/nameserver-exempt.ts";
import { DEFAULT_PROXY_PORT, EXEMPT_MARK } from "../ruleset/names.ts";
import { numberSetting } from "./number-setting.ts";

export interface RulesetFlags {
  /** serve --dns-port, apply --proxy-port */
  dnsPort?: string;
  audit?: boolean;
  dropSilently?: boolean;
  upstream?: string;
  alwaysRulesDir?: string;
  inboundFrom?: string;
  learnMaxTtl?: string;
  learnMaxElements?: string;
}

export interface RulesetSettings {
  /** the DNS proxy's port on 127.0.0.1 and ::1: where the redirect sends DNS */
  dnsPort: number;
  audit: boolean;
  dropSilently: boolean;
  /** --upstream, else OPENSANDBOX_EGRESS_DNS_UPSTREAM; unparsed (serve chooses among it, its record and resolv.conf) */
  upstreamSpec?: string;
  /** OPENSANDBOX_EGRESS_BLOCK_DOH_443 with OPENSANDBOX_EGRESS_DOH_BLOCKLIST */
  doh: DohSettings;
  /** OPENSANDBOX_EGRESS_NAMESERVER_EXEMPT */
  nameserverExempt: { list: CidrList; problems: string[] };
  /** --inbound-from / EGRESSCTL_INBOUND_FROM */
  inbound: InboundFrom;
  /** where deny.always, allow.always and log_skip.always are read from */
  alwaysRulesDir: string;
  /** OPENSANDBOX_EGRESS_DENY_WEBHOOK: where denied names are POSTed; undefined = nowhere */
  denyWebhook?: WebhookUrl;
  /** how long a learned element lives at most, and how many each learned set holds */
  learnBounds: LearnBounds;
}

/** Resolves the settings; errors are pushed onto `errors` (one usage message for all). */
export function resolveRulesetSettings(flags: RulesetFlags, env: Record<string, string | undefined>, errors: string[], portFlag = "--dns-port"): RulesetSettings {
  const named = (flag: string, value: string | undefined, variable: string) => (value !== undefined ? flag : variable);
  const s: RulesetSettings = {
    dnsPort: numberSetting(errors, portFlag, flags.dnsPort, DEFAULT_PROXY_PORT, 1, 65535, true),
    audit: flags.audit ?? false,
    dropSilently: flags.dropSilently ?? false,
    upstreamSpec: flags.upstream ?? (env.OPENSANDBOX_EGRESS_DNS_UPSTREAM || undefined),
    // set-but-empty DOH_BLOCKLIST is meaningful: it turns the built-in DoH list off
    doh: dohFromSettings(env.OPENSANDBOX_EGRESS_BLOCK_DOH_443, env.OPENSANDBOX_EGRESS_DOH_BLOCKLIST),
    nameserverExempt: nameserverExempt(env.OPENSANDBOX_EGRESS_NAMESERVER_EXEMPT || undefined),
    inbound: INBOUND_ANY,
    alwaysRulesDir: flags.alwaysRulesDir ?? (env.EGRESSCTL_ALWAYS_RULES_DIR || DEFAULT_ALWAYS_DIR),
    learnBounds: {
      maxLifetimeSec: numberSetting(errors, named("--learn-max-ttl", flags.learnMaxTtl, "EGRESSCTL_LEARN_MAX_TTL"), flags.learnMaxTtl ?? env.EGRESSCTL_LEARN_MAX_TTL, DEFAULT_MAX_LIFETIME_SEC, ...MAX_LIFETIME_RANGE, true),
      maxElements: numberSetting(errors, named("--learn-max-elements", flags.learnMaxElements, "EGRESSCTL_LEARN_MAX_ELEMENTS"), flags.learnMaxElements ?? env.EGRESSCTL_LEARN_MAX_ELEMENTS, DEFAULT_MAX_ELEMENTS, ...MAX_ELEMENTS_RANGE, true),
    },
  };
  const inbound = parseInboundFrom(flags.inboundFrom ?? env[INBOUND_ENV]);
  if ("error" in inbound) errors.push(`${named("--inbound-from", flags.inboundFrom, INBOUND_ENV)}: ${inbound.error}`);
  else s.inbound = inbound;
  const hook = env.OPENSANDBOX_EGRESS_DENY_WEBHOOK?.trim();
  if (hook) {
    const u = parseWebhookUrl(hook);
    if (typeof u === "string") errors.push(`OPENSANDBOX_EGRESS_DENY_WEBHOOK: ${u}`);
    else s.denyWebhook = u;
  }
  return s;
}

/** What is known only at run time: the mode, the upstreams chosen, where the webhook's receiver is. */
export interface RulesetRun {
  mode: Mode;
  upstreams: readonly Upstream[];
  upstreamOrigin: UpstreamOrigin;
  /** serve's own connections to the deny webhook's receiver */
  webhook: readonly Upstream[];
}

/** The planner's input, for apply and serve alike. */
export function planEnvOf(s: RulesetSettings, run: RulesetRun): PlanEnv {
  return {
    mode: run.mode,
    proxyPort: s.dnsPort,
    upstreams: run.upstreams.map((u) => ({ family: u.family, address: u.address, port: u.port })),
    upstreamOrigin: run.upstreamOrigin,
    exemptMark: EXEMPT_MARK,
    doh: s.doh.list,
    dohStance: s.doh.stance,
    nameserverExempt: s.nameserverExempt.list,
    webhook: [...run.webhook],
    inbound: s.inbound,
    audit: s.audit,
    dropSilently: s.dropSilently,
    learnedMax: s.learnBounds.maxElements,
  };
}

/**
 * The receiver's address when the webhook URL names one literally: known without DNS,
 * so apply lets it out as serve does. A host name is resolved by serve at start (and
 * let out once it resolves); apply, which resolves nothing, renders none.
 */
export function literalWebhook(url: WebhookUrl | undefined): Upstream[] {
  const a = url ? parseAddress(url.host) : null;
  return a && url ? [{ family: a.family, address: url.host, port: url.port }] : [];
}
