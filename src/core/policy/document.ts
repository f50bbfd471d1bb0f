// The normalised policy as a document again: what `validate --json` prints and what an
// API can hand back. Field names are OpenSandbox's NetworkPolicy spelling (docs/policy.md, "Fields").
import type { Action, Policy } from "./types.ts";

export interface PolicyDocument {
  defaultAction: Action;
  require_full_isolation: boolean;
  egress: { action: Action; target: string }[];
}

export function toDocument(p: Policy): PolicyDocument {
  return {
    defaultAction: p.defaultAction,
    require_full_isolation: p.requireFullIsolation,
    egress: p.rules.map((r) => ({ action: r.action, target: r.target })),
  };
}
