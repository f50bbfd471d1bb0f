// A PlanEnv for unit tests: defaults plus overrides, DoH list pointed at lab addresses.
import { loadPolicyText } from "../../../src/core/policy/load.ts";
import type { Policy } from "../../../src/core/policy/types.ts";
import { dohList } from "../../../src/core/ruleset/doh.ts";
import { INBOUND_ANY } from "../../../src/core/ruleset/inbound.ts";
import type { PlanEnv } from "../../../src/core/ruleset/model.ts";
import { DEFAULT_PROXY_PORT, EXEMPT_MARK } from "../../../src/core/ruleset/names.ts";

export function env(over: Partial<PlanEnv> = {}): PlanEnv {
  return {
    mode: "dns+nftables",
    proxyPort: DEFAULT_PROXY_PORT,
    upstreams: [],
    upstreamOrigin: "configured",
    exemptMark: EXEMPT_MARK,
    doh: dohList("203.0.113.143,2001:db8:200::143").list,
    nameserverExempt: { 4: [], 6: [] },
    webhook: [],
    inbound: INBOUND_ANY,
    audit: false,
    dropSilently: false,
    ...over,
  };
}

export function policy(text: string): Policy {
  const r = loadPolicyText(text);
  if (!r.policy) throw new Error(JSON.stringify(r.problems));
  return r.policy;
}
