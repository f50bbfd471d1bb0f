// Policy warnings never stop serve, but an operator should see them: at start, on every
// reload that changes the policy, and for each API body that is accepted with oddities.
import type { Problem } from "../../core/policy/load.ts";
import type { Policy } from "../../core/policy/types.ts";
import type { EventLog } from "../../effects/log/events.ts";

export function logPolicyWarnings(log: EventLog, source: string, warnings: readonly Problem[], policy: Policy, mode: string): void {
  logWarnings(log, source, warnings);
  if (mode !== "dns+nftables" && policy.rules.some((r) => r.kind === "address" || r.kind === "cidr")) {
    log.emit("policy.warning", { source, code: "ignored-in-mode", message: `address and CIDR rules are not enforced in ${mode} mode: nothing filters packets` }, "warn");
  }
}

/** one policy.warning event per problem, with its path and line:column */
export function logWarnings(log: EventLog, source: string, warnings: readonly Problem[]): void {
  for (const w of warnings) log.emit("policy.warning", { source, path: w.path, line: w.line, col: w.col, message: w.message, code: w.code }, "warn");
}
