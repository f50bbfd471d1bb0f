// Which policy serve starts with (issue 4): the FILE argument; else a valid
// OPENSANDBOX_EGRESS_POLICY_FILE (an empty one counts as absent); else
// OPENSANDBOX_EGRESS_RULES; else deny-all.
// An explicitly named FILE or RULES that is invalid is an error (exit 3): starting with a
// different policy than the one the operator wrote would be a surprise. A persisted
// POLICY_FILE that is missing or invalid only falls through, as in OpenSandbox.
// Every source is read as OpenSandbox's sidecar reads it (profile "run": its oddities are
// warnings); RULES is JSON, a file is JSON when its name ends in .json, else YAML.
import { loadPolicyText, syntaxOfFile, type Problem } from "../../core/policy/load.ts";
import { DENY_ALL, type Policy } from "../../core/policy/types.ts";

export interface PolicyChoice {
  policy: Policy;
  /** "file:PATH", "env:OPENSANDBOX_EGRESS_POLICY_FILE:PATH", "env:OPENSANDBOX_EGRESS_RULES", "default:deny-all" */
  source: string;
  /** the file to watch for changes, when the policy came from one */
  path?: string;
  warnings: Problem[];
  /** things worth logging about the choice (a persisted file that was skipped, ...) */
  notes: string[];
}

/** problems: when the bytes were read but are not policy text at all (not-text) */
export type ReadText = (path: string) => { ok: true; text: string } | { ok: false; error: string; problems?: Problem[] };

export type ChoiceResult = { ok: true; choice: PolicyChoice } | { ok: false; source: string; error: string; problems: Problem[] };

export function choosePolicy(
  src: { file?: string; envPolicyFile?: string; envRules?: string; mode?: string },
  read: ReadText,
): ChoiceResult {
  const notes: string[] = [];
  if (src.file) return fromFile(src.file, `file:${src.file}`, read, src.mode, notes);
  if (src.envPolicyFile) {
    // as OpenSandbox: an empty persisted file (nothing but white space) is no policy at
    // all, so OPENSANDBOX_EGRESS_RULES decides; `null` or `{}` in it is deny-all
    const text = read(src.envPolicyFile);
    if (text.ok && text.text.trim() === "") {
      notes.push(`OPENSANDBOX_EGRESS_POLICY_FILE ${src.envPolicyFile} is empty; falling back to OPENSANDBOX_EGRESS_RULES`);
    } else {
      const r = fromFile(src.envPolicyFile, `env:OPENSANDBOX_EGRESS_POLICY_FILE:${src.envPolicyFile}`, read, src.mode, notes);
      if (r.ok) return r;
      notes.push(`OPENSANDBOX_EGRESS_POLICY_FILE skipped: ${r.error}`);
    }
  }
  if (src.envRules !== undefined && src.envRules.trim() !== "") {
    const { policy, problems } = loadPolicyText(src.envRules, { source: "OPENSANDBOX_EGRESS_RULES", mode: src.mode, syntax: "json", profile: "run" });
    if (!policy) return { ok: false, source: "env:OPENSANDBOX_EGRESS_RULES", error: "OPENSANDBOX_EGRESS_RULES is not a valid policy", problems };
    return { ok: true, choice: { policy, source: "env:OPENSANDBOX_EGRESS_RULES", warnings: problems, notes } };
  }
  return { ok: true, choice: { policy: DENY_ALL, source: "default:deny-all", warnings: [], notes } };
}

/** Reads and validates one policy file; used at start and on every reload. */
export function loadPolicyFile(path: string, read: ReadText, mode?: string): ChoiceResult {
  return fromFile(path, `file:${path}`, read, mode, []);
}

function fromFile(path: string, source: string, read: ReadText, mode: string | undefined, notes: string[]): ChoiceResult {
  const r = read(path);
  if (!r.ok) return { ok: false, source, error: r.problems ? `${path} is not a valid policy` : `cannot read ${path}: ${r.error}`, problems: r.problems ?? [] };
  const { policy, problems } = loadPolicyText(r.text, { source: path, mode, syntax: syntaxOfFile(path), profile: "run" });
  if (!policy) return { ok: false, source, error: `${path} is not a valid policy`, problems };
  return { ok: true, choice: { policy, source, path, warnings: problems, notes } };
}
