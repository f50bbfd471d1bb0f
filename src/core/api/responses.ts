// The JSON bodies of the policy API (docs/serve.md, "Policy HTTP API"), shaped as
// OpenSandbox's OpenAPI spec has them (its specs/egress-api.yaml: PolicyStatusResponse and
// NetworkPolicy allow no other fields), so clients generated from that spec accept them. Pure.
import { toDocument } from "../policy/document.ts";
import type { Policy } from "../policy/types.ts";
import type { ApiProblem } from "./body.ts";

export type PolicyMode = "allow_all" | "deny_all" | "enforcing";
/** OpenSandbox's two names: dns+nft where packets are filtered, dns otherwise (dns-only, disabled) */
export type EnforcementMode = "dns" | "dns+nft";

export interface PolicyView {
  status: "ok";
  mode: PolicyMode;
  enforcementMode: EnforcementMode;
  policy: ApiPolicyDocument;
  reason?: string;
}

/**
 * OpenSandbox's NetworkPolicy: `defaultAction` and `egress`. egressctl's own extension,
 * `require_full_isolation`, appears only when the policy uses it (true).
 */
export interface ApiPolicyDocument {
  defaultAction: "allow" | "deny";
  egress: { action: "allow" | "deny"; target: string }[];
  require_full_isolation?: true;
}

/**
 * An error as JSON (OpenSandbox answers text/plain): `message` repeats `error` because the
 * OpenSandbox SDK shows a JSON error body's `message` to its caller.
 */
export interface ErrorView {
  status: "error";
  error: string;
  message: string;
  problems?: ApiProblem[];
}

export function enforcementModeOf(mode: string): EnforcementMode {
  return mode === "dns+nftables" ? "dns+nft" : "dns";
}

/** `summary`: allow_all, deny_all or enforcing (live-policy.ts's policyMode); `mode`: the running enforcement mode */
export function policyView(p: Policy, summary: PolicyMode, mode: string, reason?: string): PolicyView {
  return { status: "ok", mode: summary, enforcementMode: enforcementModeOf(mode), policy: apiDocument(p), ...(reason ? { reason } : {}) };
}

/** the policy as the API shows and persists it */
export function apiDocument(p: Policy): ApiPolicyDocument {
  const d = toDocument(p);
  return { defaultAction: d.defaultAction, egress: d.egress, ...(d.require_full_isolation ? { require_full_isolation: true as const } : {}) };
}

export function errorView(error: string, problems?: ApiProblem[]): ErrorView {
  return { status: "error", error, message: error, ...(problems && problems.length ? { problems } : {}) };
}
