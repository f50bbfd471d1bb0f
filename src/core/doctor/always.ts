// doctor and the operator's always lists: what serve reports in force (/status
// `always`), the lines it could not use, which layer decided how many names, and the
// lists as matchers for `doctor NAME|IP`. Pure.
import { layeredNames } from "../always/layered.ts";
import { parseAlwaysFile } from "../always/parse.ts";
import { noAlwaysRules, type AlwaysRules } from "../always/types.ts";
import type { Decision } from "../policy/types.ts";
import type { Finding, Section, Status } from "./report.ts";
import type { AlwaysFileStatus, ServeStatus } from "./input.ts";

type Add = (section: Section, check: string, status: Status, message: string) => void;
type Always = NonNullable<ServeStatus["always"]>;

export function alwaysFindings(a: Always, add: Add): void {
  const n = (f?: AlwaysFileStatus) => (f?.present ? `${f.targets?.length ?? 0}` : "absent");
  add("always", "always.lists", "info", `always rules from ${a.dir ?? "?"}: deny.always ${n(a.deny)}, allow.always ${n(a.allow)}, log_skip.always ${n(a.logSkip)}`);
  for (const [name, f] of [["deny.always", a.deny], ["allow.always", a.allow], ["log_skip.always", a.logSkip]] as const) {
    const ps = f?.problems ?? [];
    if (ps.length === 0) continue;
    const first = ps[0]!;
    add("always", "always.problems", "warn", `${name}: ${ps.length} line(s) not used as written; line ${first.line} "${first.text}": ${first.message}`);
  }
  const d = a.decisions ?? {};
  const deny = d["deny.always"]?.denied ?? 0;
  const allow = d["allow.always"]?.allowed ?? 0;
  if (deny || allow) add("always", "always.decisions", "info", `since start, deny.always denied ${deny} name(s) and allow.always allowed ${allow}`);
}

/** the lists as /status shows them, rebuilt into rules (the targets are already normalised) */
export function alwaysFromStatus(a: Always): AlwaysRules {
  const out = noAlwaysRules(a.dir);
  if (a.deny?.targets) out.deny = parseAlwaysFile(a.deny.targets.join("\n"), "deny", a.deny.path ?? "deny.always");
  if (a.allow?.targets) out.allow = parseAlwaysFile(a.allow.targets.join("\n"), "allow", a.allow.path ?? "allow.always");
  return out;
}

/** the always layer's decision for a name, or null when neither list matches it */
export function alwaysDecision(a: AlwaysRules, name: string): Decision | null {
  const none: Decision = { action: "allow", layer: "policy" };
  const d = layeredNames(a, () => none)(name);
  return d === none ? null : d;
}

export type { Finding };
