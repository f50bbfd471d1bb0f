// Request bodies of the policy API, parsed and validated by the policy engine: a policy
// (POST/PUT), a list of rules (PATCH), a list of targets (DELETE). Pure: text in, a
// Policy (or rules, or targets) or the problems out, each naming its field.
import { loadPolicyText, type Problem } from "../policy/load.ts";
import type { Policy, Rule } from "../policy/types.ts";

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string; problems: ApiProblem[] };

/** a Problem as the API reports it: field path and message (position when known) */
export interface ApiProblem {
  path: string;
  message: string;
  hint?: string;
  code?: string;
  line?: number;
  col?: number;
}

const bad = <T>(problems: ApiProblem[]): Parsed<T> => ({ ok: false, error: describe(problems), problems });

/** "egress[0].target: target ... is a URL" (and "+N more problems") */
export function describe(problems: readonly ApiProblem[]): string {
  const first = problems[0];
  if (!first) return "invalid request body";
  const head = first.path ? `${first.path}: ${first.message}` : first.message;
  return problems.length > 1 ? `${head} (and ${problems.length - 1} more problem${problems.length > 2 ? "s" : ""})` : head;
}

function toApi(p: Problem, rename: (path: string) => string = (x) => x): ApiProblem {
  const { severity: _s, ...rest } = p;
  return { ...rest, path: rename(p.path) };
}

/** JSON only (the policy engine would also take YAML): a body that is not JSON is named as such */
function json(text: string): { ok: true; value: unknown } | { ok: false; problem: ApiProblem } {
  if (text.trim() === "") return { ok: true, value: null };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return { ok: false, problem: { path: "", code: "bad-json", message: `the body is not valid JSON: ${(e as Error).message}` } };
  }
}

/** POST/PUT: a whole policy; empty, `null` and `{}` mean deny-all. */
export function parsePolicyBody(text: string): Parsed<Policy> {
  const j = json(text);
  if (!j.ok) return bad([j.problem]);
  const { policy, problems } = loadPolicyText(text.trim() === "" ? "" : text, { source: "request body" });
  if (!policy) return bad(problems.filter((p) => p.severity === "error").map((p) => toApi(p)));
  return { ok: true, value: policy };
}

/** PATCH: a JSON list of rules ({action, target}), each checked as a policy's rule would be. */
export function parseRulesBody(text: string): Parsed<Rule[]> {
  const j = json(text);
  if (!j.ok) return bad([j.problem]);
  if (!Array.isArray(j.value)) return bad([{ path: "", code: "bad-value", message: "expected a JSON list of rules ([{\"action\": ..., \"target\": ...}])" }]);
  if (j.value.length === 0) return bad([EMPTY_LIST("rules")]);
  const { policy, problems } = loadPolicyText(JSON.stringify({ egress: j.value }), { source: "request body" });
  // the rules were checked as egress[i]; the body itself is the list
  const rename = (path: string) => path.replace(/^egress/, "");
  if (!policy) return bad(problems.filter((p) => p.severity === "error").map((p) => toApi({ ...p, line: undefined, col: undefined }, rename)).map(dropUndefined));
  return { ok: true, value: policy.rules };
}

/**
 * DELETE: a JSON list of strings. Any string is a target to remove, as in OpenSandbox: a
 * target that is no valid target may still be in a policy it accepted (and matches no
 * rule otherwise); blank ones are ignored.
 */
export function parseTargetsBody(text: string): Parsed<string[]> {
  const j = json(text);
  if (!j.ok) return bad([j.problem]);
  if (!Array.isArray(j.value)) return bad([{ path: "", code: "bad-value", message: "expected a JSON list of targets ([\"api.example.com\", ...])" }]);
  if (j.value.length === 0) return bad([EMPTY_LIST("targets")]);
  const problems: ApiProblem[] = [];
  const targets: string[] = [];
  j.value.forEach((t, i) => {
    if (typeof t !== "string") return problems.push({ path: `[${i}]`, code: "bad-value", message: `expected a string, got ${t === null ? "null" : Array.isArray(t) ? "a list" : typeof t}` });
    if (t.trim() !== "") targets.push(t);
  });
  return problems.length ? bad(problems) : { ok: true, value: targets };
}

/** OpenSandbox answers an empty PATCH or DELETE list with 400 (its SDK throws) */
const EMPTY_LIST = (what: string): ApiProblem => ({ path: "", code: "bad-value", message: `invalid ${what}: empty array (nothing to change)` });

function dropUndefined(p: ApiProblem): ApiProblem {
  return Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) as unknown as ApiProblem;
}
