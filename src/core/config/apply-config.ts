// apply's flags and environment, resolved into one ApplyConfig with the same ruleset
// settings serve resolves (ruleset-settings.ts), so both render one ruleset. Unlike
// serve, apply refuses what it cannot use (a bad DoH, upstream or exempt entry is exit
// 2): it runs once, by hand, and can say so at once. Pure.
import { parseUpstreamList } from "../dns/upstreams.ts";
import { parseMode } from "../probe/modes.ts";
import type { Mode, Upstream } from "../ruleset/model.ts";
import { DOH_BLOCKLIST_ENV } from "../ruleset/names.ts";
import { kernelSettings, type KernelSettings } from "./kernel-settings.ts";
import { resolveRulesetSettings, type RulesetSettings } from "./ruleset-settings.ts";

export interface ApplyFlags {
  mode?: string;
  proxyPort?: string;
  audit?: boolean;
  dropSilently?: boolean;
  alwaysRulesDir?: string;
  inboundFrom?: string;
  allowHostNetwork?: boolean;
}

export interface ApplyConfig extends RulesetSettings {
  mode: Mode;
  /** OPENSANDBOX_EGRESS_DNS_UPSTREAM, parsed: the resolvers the proxy's exemption is limited to */
  upstreams: Upstream[];
  allowHostNetwork: boolean;
  kernel: KernelSettings;
}

export type ApplyConfigResult = { ok: true; config: ApplyConfig } | { ok: false; error: string };

export function resolveApplyConfig(flags: ApplyFlags, env: Record<string, string | undefined>): ApplyConfigResult {
  const errors: string[] = [];
  // apply loads a ruleset, so only the two modes that have one make sense here
  const mode = parseMode(flags.mode ?? "dns+nftables");
  if (mode !== "dns-only" && mode !== "dns+nftables") errors.push(`unknown --mode "${flags.mode}"; use dns+nftables or dns-only (aliases dns+nft, dns)`);
  const ruleset = resolveRulesetSettings({ ...flags, dnsPort: flags.proxyPort, upstream: undefined }, env, errors, "--proxy-port");
  const up = parseUpstreamList(ruleset.upstreamSpec ?? "");
  errors.push(
    ...ruleset.doh.problems.map((p) => `${DOH_BLOCKLIST_ENV}: ${p}`),
    ...up.problems.map((p) => `OPENSANDBOX_EGRESS_DNS_UPSTREAM: ${p}`),
    ...ruleset.nameserverExempt.problems,
  );
  if (errors.length) return { ok: false, error: errors.join("\n") };
  return {
    ok: true,
    config: { ...ruleset, mode: mode as Mode, upstreams: up.upstreams, allowHostNetwork: flags.allowHostNetwork ?? false, kernel: kernelSettings(env) },
  };
}
