// What PATCH and DELETE do to the policy in force, and the rule cap. Pure: the result is
// a policy document, which the caller validates again like any other (so rule indexes,
// lints and the digest are computed one way only).
import { toDocument, type PolicyDocument } from "../policy/document.ts";
import { parseTarget } from "../policy/target.ts";
import { goTrim } from "../policy/go-text.ts";
import type { Policy, Rule } from "../policy/types.ts";

/**
 * the key two targets are "the same" by: the normalised target (spaces around, case,
 * trailing dot, host bits), else (a target that matches nothing) its trimmed lowercase text
 */
export function targetKey(raw: string): string {
  const text = goTrim(raw);
  const t = parseTarget(text);
  return "error" in t ? text.toLowerCase() : t.target;
}

/**
 * PATCH, as OpenSandbox merges: the patched rules first, in their order (so they win for
 * names: first match wins; for addresses a deny wins wherever it is), then the base rules
 * whose target no patched rule has. Of several patched rules for one target only the
 * first is kept.
 */
export function mergeRules(base: Policy, patch: readonly Rule[]): PolicyDocument {
  const doc = toDocument(base);
  const seen = new Set<string>();
  const first = patch.filter((r) => {
    const k = targetKey(r.target);
    return seen.has(k) ? false : (seen.add(k), true);
  });
  return {
    ...doc,
    egress: [...first.map((r) => ({ action: r.action, target: r.target })), ...doc.egress.filter((r) => !seen.has(targetKey(r.target)))],
  };
}

/** DELETE: every rule whose target is one of `targets`; `removed` counts them. */
export function deleteTargets(base: Policy, targets: readonly string[]): { doc: PolicyDocument; removed: number } {
  const doc = toDocument(base);
  const gone = new Set(targets.map(targetKey));
  const egress = doc.egress.filter((r) => !gone.has(targetKey(r.target)));
  return { doc: { ...doc, egress }, removed: doc.egress.length - egress.length };
}

/** The rule cap (OPENSANDBOX_EGRESS_MAX_RULES; 0 = none): an error message, or null. */
export function overRuleCap(rules: number, max: number): string | null {
  if (max <= 0 || rules <= max) return null;
  return `the policy would have ${rules} rules, more than the cap of ${max} (OPENSANDBOX_EGRESS_MAX_RULES)`;
}
