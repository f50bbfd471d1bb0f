// The enforcement level serve publishes is the one its self-test measured, not the one
// it intended (docs/serve.md, "Self-test"). Pure: check results in, level and findings out.
import type { Mode } from "../probe/modes.ts";
import type { KernelState } from "./kernel-state.ts";

export interface SelfTestChecks {
  /** a query sent from an unmarked socket to port 53 reached the proxy */
  redirectReachedProxy: boolean;
  /** the kernel table as read back; null when not readable or not nftables */
  kernel: KernelState | null;
  /** the digest serve loaded; null when nothing was loaded into nftables */
  expectedDigest: string | null;
  /** the always lists' address digest serve loaded (null: no always addresses); undefined: not checked */
  expectedAlways?: string | null;
  /** a learned address serve believes is in the kernel, checked to be there (null: none to check) */
  learnedPresent: boolean | null;
}

export interface Measured {
  level: Mode;
  findings: string[];
}

export function measureLevel(intended: Mode, c: SelfTestChecks): Measured {
  const findings: string[] = [];
  if (intended === "disabled") return { level: "disabled", findings: ["enforcement is disabled"] };
  if (!c.redirectReachedProxy) {
    findings.push("a DNS query to port 53 did not reach the proxy: DNS is NOT intercepted");
    return { level: "disabled", findings };
  }
  const guard = "the DNS guard chain is not hooked to filter output: DNS in a flow opened from outside is not forced through the proxy";
  if (intended === "dns-only") {
    if (c.kernel?.present && !c.kernel.guardHooked) findings.push(guard);
    return { level: "dns-only", findings };
  }
  const k = c.kernel;
  if (!k || !k.present) findings.push("table inet egressctl is missing");
  else {
    if (!k.filterHooked) findings.push("the filter chain is not hooked to output");
    if (!k.guardHooked) findings.push(guard);
    if (c.expectedDigest && k.digest !== c.expectedDigest) findings.push(`the kernel carries policy ${k.digest ?? "none"}, serve loaded ${c.expectedDigest}`);
    else if (c.expectedDigest && c.expectedAlways !== undefined && k.alwaysDigest !== c.expectedAlways) {
      findings.push(`the kernel carries always addresses ${k.alwaysDigest ?? "none"}, serve loaded ${c.expectedAlways ?? "none"}`);
    }
  }
  if (c.learnedPresent === false) findings.push("a learned address serve recorded is not in the kernel set");
  return { level: findings.length ? "dns-only" : "dns+nftables", findings };
}
