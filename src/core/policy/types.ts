// The policy model shared by every part of egressctl. Produced by the policy engine
// (src/core/policy/), consumed by the matcher, the ruleset planner, the DNS decision
// and `explain`. Pure data: no I/O, no classes.
import type { Cidr, Family, Range } from "../net/ip.ts";

export type Action = "allow" | "deny";
/**
 * "never": a target that is no name, wildcard, address or CIDR (`x.com:443`, a URL).
 * OpenSandbox's sidecar takes such text for a name that no query equals; serve runs it
 * the same way, as a rule that matches nothing, and `validate` calls it an error.
 */
export type TargetKind = "exact" | "wildcard" | "address" | "cidr" | "never";

export interface SourcePos {
  line: number; // 1-based
  col: number; // 1-based
}

export interface Rule {
  /** position in the policy's egress list (0-based): for names the first match wins by this order; for addresses deny wins, then this order names the rule */
  index: number;
  action: Action;
  /** the target exactly as written in the document */
  raw: string;
  kind: TargetKind;
  /**
   * normalised target: for names lowercase ASCII (punycode) without trailing dot, and
   * for wildcards the form "*.suffix"; for addresses/CIDRs the canonical CIDR text; for
   * "never" the text with the spaces around it removed
   */
  target: string;
  /** exact/wildcard: the name, or for a wildcard the suffix below which it matches */
  name?: string;
  /** address/cidr: the parsed network */
  cidr?: Cidr;
  /** where the rule's target sits in the source document, when known */
  pos?: SourcePos;
}

export interface Policy {
  defaultAction: Action;
  requireFullIsolation: boolean;
  rules: Rule[];
}

/** The deny-all baseline: what an empty document, `null` or `{}` means. */
export const DENY_ALL: Policy = Object.freeze({
  defaultAction: "deny",
  requireFullIsolation: false,
  rules: [],
}) as Policy;

/**
 * Which layer decided: the operator's always lists (deny.always, then allow.always) sit
 * above the policy, whatever the policy's source (docs/always-rules.md).
 */
export type Layer = "deny.always" | "allow.always" | "policy";

export interface Decision {
  action: Action;
  /** the deciding rule; absent when defaultAction decided */
  rule?: Rule;
  layer: Layer;
}

/** Disjoint allow and deny ranges per family, sorted, non-overlapping, coalesced: deny holds every address a deny rule contains. */
export interface IntervalSets {
  4: { allow: Range[]; deny: Range[] };
  6: { allow: Range[]; deny: Range[] };
}

export type { Cidr, Family, Range };
