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

export function shadowedBy(r: Rule, earlier: readonly Rule[], what: "name" | "address", more = false): Problem {
  const by = earlier.length === 1 && !more
    ? `${describeRule(earlier[0]!)}, which matches every ${what} this rule matches`
    : `${earlier.map(describeRule).join(", ")}${more ? " and others" : ""}, which together match every ${what} this rule matches`;
  const differs = earlier.some((e) => e.action !== r.action);
  const hint = differs
    ? `move this rule above ${earlier.map((e) => `egress[${e.index}]`).join(", ")} if it should win`
    : "remove this rule; it changes nothing";
  return ruleProblem(r, "shadowed", `"${r.target}" never decides anything: shadowed by ${by}`, hint);
}
