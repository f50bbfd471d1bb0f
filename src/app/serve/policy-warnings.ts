// Policy warnings never stop serve, but an operator should see them, at start and on
// every reload that changes the policy.
import type { Problem } from "../../core/policy/load.ts";
import type { Policy } from "../../core/policy/types.ts";
import type { EventLog } from "../../effects/log/events.ts";

export function logPolicyWarnings(log: EventLog, source: string, warnings: readonly Problem[], policy: Policy, mode: string): void {
  for (const w of warnings) log.emit("policy.warning", { source, path: w.path, line: w.line, message: w.message, code: w.code }, "warn");
  if (mode !== "dns+nftables" && policy.rules.some((r) => r.kind === "address" || r.kind === "cidr")) {
    log.emit("policy.warning", { source, code: "ignored-in-mode", message: `address and CIDR rules are not enforced in ${mode} mode: nothing filters packets` }, "warn");
  }
}

