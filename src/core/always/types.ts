// The operator's always lists, as OpenSandbox's sidecar reads them from
// /var/egress/rules: deny.always and allow.always sit above every policy (deny.always,
// then allow.always, then the policy), log_skip.always names whose allowed resolutions
// are not logged. Pure data; parse.ts builds it, layered.ts compiles it.
import type { Rule } from "../policy/types.ts";

export type AlwaysList = "deny" | "allow" | "log_skip";

/** the file name of each list inside the rules directory */
export const ALWAYS_FILES: Record<AlwaysList, string> = {
  deny: "deny.always",
  allow: "allow.always",
  log_skip: "log_skip.always",
};

/** OpenSandbox's directory; --always-rules-dir / EGRESSCTL_ALWAYS_RULES_DIR point elsewhere */
export const DEFAULT_ALWAYS_DIR = "/var/egress/rules";

/** One line that is not a usable target, reported as `file:line`. */
export interface AlwaysProblem {
  file: string;
  line: number;
  text: string;
  message: string;
  /** deny.always only: the target the line was read as (failing towards deny), when one could be salvaged */
  readAs?: string;
}

export interface AlwaysFile {
  path: string;
  /** false: the file does not exist (no effect, as in OpenSandbox) */
  present: boolean;
  /**
   * the usable targets in file order; `index` is the position among them, `pos.line` the
   * line in the file, `raw` the line as written
   */
  rules: Rule[];
  problems: AlwaysProblem[];
}

export interface AlwaysRules {
  dir: string;
  deny: AlwaysFile;
  allow: AlwaysFile;
  logSkip: AlwaysFile;
}

const none = (path: string): AlwaysFile => ({ path, present: false, rules: [], problems: [] });

/** No always rules: what a missing directory means. */
export function noAlwaysRules(dir = DEFAULT_ALWAYS_DIR): AlwaysRules {
  return { dir, deny: none(`${dir}/deny.always`), allow: none(`${dir}/allow.always`), logSkip: none(`${dir}/log_skip.always`) };
}

/** the normalised content that matters for enforcement and logging, in a stable form */
export function alwaysKey(a: AlwaysRules): string {
  const t = (f: AlwaysFile) => f.rules.map((r) => r.target);
  return JSON.stringify({ deny: t(a.deny), allow: t(a.allow), log_skip: t(a.logSkip) });
}

/** whether any list holds a rule: without, serve and apply behave exactly as before */
export function hasAlwaysRules(a: AlwaysRules): boolean {
  return a.deny.rules.length + a.allow.rules.length + a.logSkip.rules.length > 0;
}
