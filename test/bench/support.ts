// Shared by the kernel benchmarks: a large policy and the plan environment they apply it in.
import { parseCidr } from "../../src/core/net/ip.ts";
import type { Policy, Rule } from "../../src/core/policy/types.ts";
import { dohList } from "../../src/core/ruleset/doh.ts";
import { INBOUND_ANY } from "../../src/core/ruleset/inbound.ts";
import type { PlanEnv } from "../../src/core/ruleset/model.ts";
import { DEFAULT_PROXY_PORT, EXEMPT_MARK } from "../../src/core/ruleset/names.ts";

/** serve's full mode, with the lab's DoH stand-ins */
export const BENCH_ENV: PlanEnv = {
  mode: "dns+nftables", proxyPort: DEFAULT_PROXY_PORT, upstreams: [], upstreamOrigin: "configured", exemptMark: EXEMPT_MARK,
  doh: dohList("203.0.113.143,2001:db8:200::143").list, nameserverExempt: { 4: [], 6: [] }, webhook: [], inbound: INBOUND_ANY, audit: false, dropSilently: false,
};

/**
 * n disjoint CIDRs in documentation space (2001:db8::/32), alternating allow/deny so
 * nothing coalesces. Built as a Policy directly: loading text is the policy engine's
 * cost, measured by its own benchmark (test/bench/policy.bench.ts).
 */
export function bigPolicy(n: number): Policy {
  const rules: Rule[] = [];
  for (let i = 0; i < n; i++) {
    const target = `2001:db8:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}::/64`;
    rules.push({ index: i, action: i % 2 ? "deny" : "allow", raw: target, kind: "cidr", target, cidr: parseCidr(target)! });
  }
  return { defaultAction: "deny", requireFullIsolation: false, rules };
}

/**
 * Runs `script --inside` in the sandbox namespace of a new lab and prints its output:
 * bun:ffi calls (libnftables, netlink) act on the namespace of the calling process.
 */
export async function runInLab(script: string): Promise<void> {
  const { Lab } = await import("../support/lab.ts");
  const lab = await Lab.create();
  try {
    const r = await lab.exec("sandbox", [process.execPath, script, "--inside"], { timeoutMs: 600_000 });
    process.stdout.write(r.stdout);
    if (r.code !== 0) throw new Error(`benchmark failed (${r.code}): ${r.stderr}`);
  } finally {
    await lab.destroy();
  }
}
