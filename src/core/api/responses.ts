// The JSON bodies of the policy API (CONTRACT section 7). Pure.
import { toDocument, type PolicyDocument } from "../policy/document.ts";
import type { Policy } from "../policy/types.ts";
import type { ApiProblem } from "./body.ts";

export type PolicyMode = "allow_all" | "deny_all" | "enforcing";
/** OpenSandbox's two names: dns+nft where packets are filtered, dns otherwise (dns-only, disabled) */
export type EnforcementMode = "dns" | "dns+nft";

export interface PolicyView {
  status: "ok";
  mode: PolicyMode;
  enforcementMode: EnforcementMode;
  policy: PolicyDocument;
  reason?: string;
}

export interface ErrorView {
  status: "error";
  error: string;
  problems?: ApiProblem[];
}

export function enforcementModeOf(mode: string): EnforcementMode {
  return mode === "dns+nftables" ? "dns+nft" : "dns";
}

/** `summary`: allow_all, deny_all or enforcing (live-policy.ts's policyMode); `mode`: the running enforcement mode */
export function policyView(p: Policy, summary: PolicyMode, mode: string, reason?: string): PolicyView {
  return { status: "ok", mode: summary, enforcementMode: enforcementModeOf(mode), policy: toDocument(p), ...(reason ? { reason } : {}) };
}

export function errorView(error: string, problems?: ApiProblem[]): ErrorView {
  return { status: "error", error, ...(problems && problems.length ? { problems } : {}) };
}
