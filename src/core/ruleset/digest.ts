// The policy digest: sha256 over the policy's normalised form (normalised targets, in
// rule order, with the default action). It lands in the rendered text and in the kernel
// (as a chain comment), so serve and doctor can tell whether the kernel holds the policy
// they believe it holds. Two documents that differ only in spelling (case, trailing dots,
// YAML vs JSON, host bits) share a digest.
import { createHash } from "node:crypto";
import type { Policy } from "../policy/types.ts";

export function normalisedPolicy(p: Policy): string {
  return JSON.stringify({
    defaultAction: p.defaultAction,
    requireFullIsolation: p.requireFullIsolation,
    egress: p.rules.map((r) => ({ action: r.action, target: r.target })),
  });
}

export function policyDigest(p: Policy): string {
  return createHash("sha256").update(normalisedPolicy(p)).digest("hex");
}
