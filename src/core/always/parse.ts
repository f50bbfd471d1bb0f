// One always file's text -> its rules and the lines it could not use. The format is
// OpenSandbox's: one target a line (a name, a `*.` wildcard, an address or a CIDR), `#`
// starting a comment line, blank lines ignored, spaces around a target ignored.
//
// A line that is not a usable target is reported as file:line and fails towards the
// safer side:
//   - allow.always: skipped (allowing less than meant is safe; OpenSandbox's sidecar
//     reads such a line as a name that matches nothing, with the same effect);
//   - deny.always: the operator meant to deny something, so the host it names is
//     salvaged where it can be (a URL, host:port, a path, words after the target) and
//     denied; only a line with no recognisable target is skipped;
//   - log_skip.always: skipped (logging more than meant is safe); addresses are not
//     names and are skipped too, as OpenSandbox refuses them.
// Pure: text in, rules out.
import { parseTarget, type ParsedTarget } from "../policy/target.ts";
import type { Action, Rule } from "../policy/types.ts";
import type { AlwaysFile, AlwaysList, AlwaysProblem } from "./types.ts";

export function parseAlwaysFile(text: string, list: AlwaysList, path: string): AlwaysFile {
  const rules: Rule[] = [];
  const problems: AlwaysProblem[] = [];
  const action: Action = list === "deny" ? "deny" : "allow";
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  lines.forEach((rawLine, i) => {
    const line = rawLine.trim();
    if (line === "" || line.startsWith("#")) return;
    const at = { line: i + 1, col: rawLine.indexOf(line) + 1 };
    const problem = (message: string, readAs?: string) => problems.push({ file: path, line: at.line, text: line, message, ...(readAs ? { readAs } : {}) });
    const push = (t: Extract<ParsedTarget, { kind: unknown }>) =>
      rules.push({ index: rules.length, action, raw: line, kind: t.kind, target: t.target, ...(t.name ? { name: t.name } : {}), ...(t.cidr ? { cidr: t.cidr } : {}), pos: at });
    const t = parseTarget(line);
    if (!("error" in t)) {
      if (list === "log_skip" && (t.kind === "address" || t.kind === "cidr")) return problem(`"${line}" is an address; log_skip.always holds name patterns only (skipped)`);
      push(t);
      return;
    }
    if (list === "deny") {
      const s = salvage(line);
      const st = s ? parseTarget(s) : null;
      if (st && !("error" in st)) {
        push(st);
        return problem(`${t.error}; denied as "${st.target}" (a deny line that is not a target fails towards deny)`, st.target);
      }
    }
    problem(`${t.error} (skipped)`);
  });
  return { path, present: true, rules, problems };
}

/**
 * The host a mistyped deny line most likely names: the first word, without a URL's
 * scheme, credentials, path or port, or an IPv6 zone id. Null when nothing is left.
 */
export function salvage(line: string): string | null {
  let s = line.split(/\s+/)[0]!;
  s = s.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "");
  s = s.replace(/^[^@/]*@/, "");
  s = s.split(/[/?#]/)[0]!;
  if (s.startsWith("[")) s = s.slice(1).split("]")[0]!;
  else if ((s.match(/:/g) ?? []).length === 1) s = s.split(":")[0]!;
  s = s.split("%")[0]!;
  return s === "" || s === line ? null : s;
}
