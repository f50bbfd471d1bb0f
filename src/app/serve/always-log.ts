// What serve says about the always lists: a summary for `always` / `always.applied`
// events and /status, and one `always.warning` per line it could not use.
import type { AlwaysFile, AlwaysRules } from "../../core/always/types.ts";
import type { EventLog } from "../../effects/log/events.ts";

export function alwaysSummary(a: AlwaysRules): { dir: string; deny: number; allow: number; logSkip: number } {
  return { dir: a.dir, deny: a.deny.rules.length, allow: a.allow.rules.length, logSkip: a.logSkip.rules.length };
}

export function logAlwaysProblems(log: EventLog, a: AlwaysRules): void {
  for (const f of [a.deny, a.allow, a.logSkip]) {
    for (const p of f.problems) log.emit("always.warning", { file: p.file, line: p.line, text: p.text, message: p.message, ...(p.readAs ? { readAs: p.readAs } : {}) }, "warn");
  }
}

/** /status `always`: the lists in force, with their targets, and the lines skipped */
export function alwaysStatus(a: AlwaysRules, digest: string): Record<string, unknown> {
  const file = (f: AlwaysFile) => ({
    path: f.path,
    present: f.present,
    targets: f.rules.map((r) => r.target),
    problems: f.problems.map((p) => ({ line: p.line, text: p.text, message: p.message, ...(p.readAs ? { readAs: p.readAs } : {}) })),
  });
  return { dir: a.dir, digest, deny: file(a.deny), allow: file(a.allow), logSkip: file(a.logSkip) };
}
