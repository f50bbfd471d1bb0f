// The golden cases: every policies/*.yaml with its `# golden:` options line, rendered.
// Shared by the unit test (text equals the .nft file) and the kernel check (each .nft
// loads in a lab namespace with --check semantics).
import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { loadPolicyText } from "../../src/core/policy/load.ts";
import { dohList } from "../../src/core/ruleset/doh.ts";
import { INBOUND_ANY, parseInboundFrom } from "../../src/core/ruleset/inbound.ts";
import { nameserverExempt } from "../../src/core/ruleset/nameserver-exempt.ts";
import type { Mode, PlanEnv, Upstream } from "../../src/core/ruleset/model.ts";
import { DEFAULT_PROXY_PORT, EXEMPT_MARK } from "../../src/core/ruleset/names.ts";
import { planRuleset } from "../../src/core/ruleset/plan.ts";
import { parseAlwaysFile } from "../../src/core/always/parse.ts";
import { noAlwaysRules, type AlwaysRules } from "../../src/core/always/types.ts";
import { renderRuleset } from "../../src/core/ruleset/render.ts";
import { parseAddress } from "../../src/core/net/ip.ts";

export const GOLDEN_DIR = import.meta.dir;
/** lab stand-ins for DoH providers (test/support/addresses.ts: dohV4, dohV6) */
export const LAB_DOH = "203.0.113.143,2001:db8:200::143";

export interface GoldenCase {
  name: string;
  policyFile: string;
  goldenFile: string;
  env: PlanEnv;
  always: AlwaysRules;
  rendered: string;
}

export function goldenCases(): GoldenCase[] {
  const dir = join(GOLDEN_DIR, "policies");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((f) => {
      const policyFile = join(dir, f);
      const text = readFileSync(policyFile, "utf8");
      const { policy, problems } = loadPolicyText(text, { source: f });
      if (!policy) throw new Error(`${f}: invalid fixture: ${JSON.stringify(problems)}`);
      const { env, always } = envFromHeader(f, text);
      const name = basename(f, ".yaml");
      return { name, policyFile, goldenFile: join(GOLDEN_DIR, `${name}.nft`), env, always, rendered: renderRuleset(planRuleset(policy, env, always)) };
    });
}

/**
 * `# golden: mode=dns-only audit drop-silently doh=builtin upstream=ADDR[:PORT] upstream-origin=resolv.conf proxy-port=N
 *  exempt=A,B webhook=ADDR:PORT doh-443=operator|strict always-deny=T,T always-allow=T,T inbound=any|none|CIDR,...`
 *  (always-*: the lines of deny.always / allow.always)
 */
function envFromHeader(file: string, text: string): { env: PlanEnv; always: AlwaysRules } {
  const always = noAlwaysRules("/golden");
  const m = /^# golden:(.*)$/m.exec(text);
  if (!m) throw new Error(`${file}: first line must be '# golden: ...'`);
  const env: PlanEnv = {
    mode: "dns+nftables",
    proxyPort: DEFAULT_PROXY_PORT,
    upstreams: [],
    upstreamOrigin: "configured",
    exemptMark: EXEMPT_MARK,
    doh: dohList(LAB_DOH).list,
    nameserverExempt: { 4: [], 6: [] },
    webhook: [],
    inbound: INBOUND_ANY,
    audit: false,
    dropSilently: false,
  };
  for (const opt of m[1]!.trim().split(/\s+/)) {
    const [k, v = ""] = opt.split("=");
    if (k === "mode") env.mode = v as Mode;
    else if (k === "audit") env.audit = true;
    else if (k === "drop-silently") env.dropSilently = true;
    else if (k === "doh" && v === "builtin") env.doh = dohList(undefined).list;
    else if (k === "proxy-port") env.proxyPort = Number(v);
    else if (k === "upstream") env.upstreams.push(upstream(v));
    else if (k === "exempt") env.nameserverExempt = nameserverExempt(v).list;
    else if (k === "webhook") env.webhook.push(upstream(v));
    else if (k === "doh-443" && v === "strict") Object.assign(env, { dohStance: "strict", doh: { 4: [], 6: [] } });
    else if (k === "doh-443" && v === "operator") env.dohStance = "operator";
    else if (k === "always-deny") always.deny = parseAlwaysFile(v.split(",").join("\n"), "deny", "/golden/deny.always");
    else if (k === "always-allow") always.allow = parseAlwaysFile(v.split(",").join("\n"), "allow", "/golden/allow.always");
    else if (k === "upstream-origin" && v === "resolv.conf") env.upstreamOrigin = v;
    else if (k === "inbound") {
      const i = parseInboundFrom(v);
      if ("error" in i) throw new Error(`${file}: ${i.error}`);
      env.inbound = i;
    }
    else throw new Error(`${file}: unknown golden option '${opt}'`);
  }
  return { env, always };
}

function upstream(s: string): Upstream {
  const b = /^\[(.+)\]:(\d+)$/.exec(s);
  const a = parseAddress(b ? b[1]! : s)!;
  return { family: a.family, address: b ? b[1]! : s, port: b ? Number(b[2]) : 53 };
}
