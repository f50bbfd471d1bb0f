// Phrasing shared by the name and address lint passes, so a duplicate or a shadowed
// rule reads the same whatever its kind.
import type { Problem } from "./problems.ts";
import type { Rule } from "./types.ts";

export function ruleProblem(r: Rule, code: string, message: string, hint?: string): Problem {
  return {
    severity: "warning",
    path: `egress[${r.index}].target`,
    ...(r.pos ? { line: r.pos.line, col: r.pos.col } : {}),
    code,
    message,
    ...(hint ? { hint } : {}),
  };
}

export function describeRule(r: Rule): string {
  return `egress[${r.index}] (${r.action} ${r.target}${r.pos ? `, line ${r.pos.line}` : ""})`;
}

export function duplicateOf(r: Rule, first: Rule): Problem {
  const hint = first.action === r.action
    ? "remove this rule; it changes nothing"
    : `the earlier rule (${first.action}) wins; remove the one you do not mean`;
  return ruleProblem(r, "duplicate", `"${r.target}" duplicates ${describeRule(first)}`, hint);
}

/** A name rule that an earlier wildcard matches wholly (names are first match). */
export function shadowedBy(r: Rule, earlier: Rule): Problem {
  const hint = earlier.action !== r.action ? `move this rule above egress[${earlier.index}] if it should win` : "remove this rule; it changes nothing";
  return ruleProblem(r, "shadowed", `"${r.target}" never decides anything: shadowed by ${describeRule(earlier)}, which matches every name this rule matches`, hint);
}
