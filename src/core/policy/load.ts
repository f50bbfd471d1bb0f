// The policy engine's front door: text in, a normalised Policy and every Problem out.
// Steps: parse with positions (source.ts: JSON strictly, or YAML), read the document
// the way OpenSandbox's sidecar reads it (read-policy.ts), weigh each finding for who is
// asking (judge.ts: validate judges intent, serve runs what the sidecar runs), then lint
// the result for warnings (lint-*.ts). `policy` is null exactly when some problem is an
// error.
import { DENY_ALL, type Policy, type Rule } from "./types.ts";
import { formatPath, hasErrors, sortProblems, type Problem } from "./problems.ts";
import { parseSource, type Source, type Syntax } from "./source.ts";
import { readPolicy, readRules } from "./read-policy.ts";
import { judge, type Finding, type Profile } from "./judge.ts";
import { goTrim } from "./go-text.ts";
import { lintNames } from "./lint-names.ts";
import { lintAddresses } from "./lint-addresses.ts";

export type { Problem } from "./problems.ts";
export type { Profile } from "./judge.ts";
export type { Syntax } from "./source.ts";
export { syntaxOfFile } from "./source.ts";

export interface LoadOptions {
  /** where the text came from (a file name), for callers that print it */
  source?: string;
  /** the enforcement mode the policy is meant for; "dns-only" adds a warning for IP rules */
  mode?: string;
  /**
   * "json": RFC 8259 and nothing else (`.json` files: syntaxOfFile; OPENSANDBOX_EGRESS_RULES
   * and the API's bodies always); "yaml" (the default): YAML 1.2, which reads JSON too
   */
  syntax?: Syntax;
  /**
   * "validate" (the default): a target that cannot match what its author wrote, an unknown
   * defaultAction, a misspelt field the rule lacks are errors. "run" (serve, the API, the
   * environment): those run as OpenSandbox's sidecar runs them, each with a warning.
   */
  profile?: Profile;
  /** `validate --strict`: every warning is an error */
  strict?: boolean;
}

export interface LoadResult {
  policy: Policy | null;
  problems: Problem[];
}

export function loadPolicyText(text: string, opts: LoadOptions = {}): LoadResult {
  const parsed = parse(text, opts);
  if (!parsed.ok) return parsed.result;
  const read = readPolicy(parsed.src);
  const findings = [...duplicateKeys(parsed.src), ...read.findings];
  const problems = judge(findings, opts.profile ?? "validate", opts.strict);
  if (hasErrors(problems)) return { policy: null, problems: sortProblems(problems) };
  const policy: Policy = { defaultAction: read.defaultAction, requireFullIsolation: read.requireFullIsolation, rules: read.rules };
  return finish(policy, problems, opts);
}

export interface RulesResult {
  rules: Rule[] | null;
  problems: Problem[];
}

/**
 * A bare list of rules (the body of `PATCH /policy`), read and weighed as a policy's
 * egress would be; paths are `[i].target`. An empty text is no list.
 */
export function loadRulesText(text: string, opts: LoadOptions = {}): RulesResult {
  const parsed = parse(text, opts, false);
  if (!parsed.ok) return { rules: null, problems: parsed.result.problems };
  const src = parsed.src;
  if (!Array.isArray(src.value)) return { rules: null, problems: [{ severity: "error", code: "bad-value", path: "", ...src.pos([]), message: NOT_A_LIST }] };
  const findings = duplicateKeys(src);
  const rules = readRules(src.value, [], src, findings);
  const problems = judge(findings, opts.profile ?? "validate", opts.strict);
  if (hasErrors(problems)) return { rules: null, problems: sortProblems(problems) };
  const linted = finish({ ...DENY_ALL, rules }, problems, { ...opts, mode: undefined });
  return { rules: linted.policy && rules, problems: linted.problems.map((p) => ({ ...p, path: p.path.replace(/^egress/, "") })) };
}

/** OPENSANDBOX_EGRESS_RULES: policy JSON, read as serve runs it. */
export function parsePolicyEnv(json: string): LoadResult {
  return loadPolicyText(json, { source: "OPENSANDBOX_EGRESS_RULES", syntax: "json", profile: "run" });
}

type Parsed = { ok: true; src: Source } | { ok: false; result: LoadResult };

const NOT_A_LIST = 'expected a list of rules ([{"action": ..., "target": ...}])';

/**
 * The text as a Source. Empty text (after Go's TrimSpace) is deny-all for a policy (as
 * `null`, `~` and `{}` are, by the reader) and no list for a list of rules. A byte order
 * mark is skipped in YAML; JSON refuses it, as Go's decoder and JSON.parse do.
 */
function parse(text: string, opts: LoadOptions, policy = true): Parsed {
  const syntax = opts.syntax ?? "yaml";
  const body = syntax === "yaml" && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (goTrim(body) === "") {
    const problems: Problem[] = policy ? [] : [{ severity: "error", code: "bad-value", path: "", line: 1, col: 1, message: NOT_A_LIST }];
    return { ok: false, result: { policy: policy ? denyAll() : null, problems } };
  }
  const parsed = parseSource(body, syntax);
  if (!parsed.source) return { ok: false, result: { policy: null, problems: sortProblems(parsed.problems) } };
  return { ok: true, src: parsed.source };
}

/** Lints (names, then addresses: rules that match nothing take no part) and --strict. */
function finish(policy: Policy, problems: Problem[], opts: LoadOptions): LoadResult {
  const lints = [...lintNames(policy.rules), ...lintAddresses(policy.rules, opts.mode)];
  const all = problems.concat(opts.strict ? lints.map((p) => ({ ...p, severity: "error" as const })) : lints);
  return { policy: hasErrors(all) ? null : policy, problems: sortProblems(all) };
}

/** JSON keys given twice in one object: the last one counts, as in Go and JSON.parse */
function duplicateKeys(src: Source): Finding[] {
  return (src.duplicates ?? []).map((d) => ({
    weight: "intent", code: "duplicate-key", path: formatPath([...d.path, d.key]), line: d.line, col: d.col,
    message: `"${d.key}" is given more than once in one object (again at ${d.again}); the last one counts`,
    hint: "each field may appear once; remove or merge the repeated one",
  }));
}

function denyAll(): Policy {
  return { ...DENY_ALL, rules: [] };
}
