// What validation reports: one Problem per mistake, never just the first. A Problem
// carries the field path (`egress[3].target`) and, when the text is known, the 1-based
// line:column, so both people and editors can jump to it. Pure data.
export type Severity = "error" | "warning";

export interface Problem {
  severity: Severity;
  /** field path, e.g. `egress[3].target`; "" for the document as a whole */
  path: string;
  line?: number;
  col?: number;
  message: string;
  /** how to fix it */
  hint?: string;
  /** stable machine-readable kind, e.g. "unknown-field" (see docs/policy.md) */
  code?: string;
}

export type PathKey = string | number;

/** ["egress", 3, "target"] -> "egress[3].target" */
export function formatPath(path: readonly PathKey[]): string {
  let out = "";
  for (const k of path) {
    if (typeof k === "number") out += `[${k}]`;
    else out += out === "" ? k : `.${k}`;
  }
  return out;
}

/** Document order: by line, then column; problems without a position go last. */
export function sortProblems(ps: Problem[]): Problem[] {
  const key = (p: Problem) => (p.line ?? Number.MAX_SAFE_INTEGER) * 1e6 + (p.col ?? 0);
  return ps
    .map((p, i) => ({ p, i }))
    .sort((a, b) => key(a.p) - key(b.p) || a.i - b.i)
    .map((x) => x.p);
}

export function hasErrors(ps: readonly Problem[]): boolean {
  return ps.some((p) => p.severity === "error");
}
