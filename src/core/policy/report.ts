// How `egressctl validate` presents results: the human one-line-per-problem form
// (`file:line:col: error: path: message (hint: ...)`) and the stable --json shape
// documented in docs/policy.md. Pure: the command does the printing.
import type { Problem } from "./problems.ts";
import type { Policy } from "./types.ts";
import { toDocument, type PolicyDocument } from "./document.ts";

export interface FileResult {
  file: string;
  policy: Policy | null;
  problems: Problem[];
}

export interface JsonReport {
  valid: boolean;
  errors: number;
  warnings: number;
  files: {
    file: string;
    valid: boolean;
    problems: Problem[];
    policy: PolicyDocument | null;
  }[];
}

export function humanLine(file: string, p: Problem): string {
  const where = p.line !== undefined ? `${file}:${p.line}:${p.col ?? 1}` : file;
  const path = p.path ? `${p.path}: ` : "";
  const hint = p.hint ? ` (hint: ${p.hint})` : "";
  return `${where}: ${p.severity}: ${path}${p.message}${hint}`;
}

export function summaryLine(results: readonly FileResult[]): string {
  const c = count(results);
  const invalid = results.filter((r) => r.policy === null).length;
  const files = `${results.length} file${results.length === 1 ? "" : "s"}`;
  return `${files}: ${invalid} invalid, ${c.errors} error${c.errors === 1 ? "" : "s"}, ${c.warnings} warning${c.warnings === 1 ? "" : "s"}`;
}

export function humanReport(results: readonly FileResult[]): string {
  const lines = results.flatMap((r) => r.problems.map((p) => humanLine(r.file, p)));
  return [...lines, summaryLine(results)].join("\n") + "\n";
}

export function jsonReport(results: readonly FileResult[]): JsonReport {
  const c = count(results);
  return {
    valid: results.every((r) => r.policy !== null),
    ...c,
    files: results.map((r) => ({
      file: r.file,
      valid: r.policy !== null,
      // fixed key order so the JSON is stable to diff
      problems: r.problems.map((p) => ({
        severity: p.severity,
        code: p.code ?? "other",
        path: p.path,
        ...(p.line !== undefined ? { line: p.line, col: p.col ?? 1 } : {}),
        message: p.message,
        ...(p.hint ? { hint: p.hint } : {}),
      })),
      policy: r.policy ? toDocument(r.policy) : null,
    })),
  };
}

function count(results: readonly FileResult[]) {
  let errors = 0;
  let warnings = 0;
  for (const r of results) for (const p of r.problems) p.severity === "error" ? errors++ : warnings++;
  return { errors, warnings };
}
