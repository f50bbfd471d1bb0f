// Request bodies of the policy API, parsed and validated by the policy engine: a policy
// (POST/PUT), a list of rules (PATCH), a list of targets (DELETE). Bodies are JSON, read
// strictly (a trailing comma is an error at its line:column), and read the way serve runs
// a policy: what OpenSandbox's sidecar accepts is accepted, each oddity a warning the
// caller logs. Pure: text in, a Policy (or rules, or targets) or the problems out, each
// naming its field.
import { loadPolicyText, loadRulesText, type LoadOptions, type Problem } from "../policy/load.ts";
import { parseSource } from "../policy/source.ts";
import { goTrim } from "../policy/go-text.ts";
import type { Policy, Rule } from "../policy/types.ts";

export type Parsed<T> = { ok: true; value: T; warnings: Problem[] } | { ok: false; error: string; problems: ApiProblem[] };

/** a Problem as the API reports it: field path and message (position when known) */
export interface ApiProblem {
  path: string;
  message: string;
  hint?: string;
  code?: string;
  line?: number;
  col?: number;
}

const BODY: LoadOptions = { source: "request body", syntax: "json", profile: "run" };

/** "egress[0].target: target ... is a URL" (and "+N more problems") */
export function describe(problems: readonly ApiProblem[]): string {
  const first = problems[0];
  if (!first) return "invalid request body";
  const head = first.path ? `${first.path}: ${first.message}` : first.message;
  return problems.length > 1 ? `${head} (and ${problems.length - 1} more problem${problems.length > 2 ? "s" : ""})` : head;
}

function result<T>(value: T | null, problems: readonly Problem[]): Parsed<T> {
  if (value !== null) return { ok: true, value, warnings: problems.filter((p) => p.severity === "warning") };
  const errors = problems.filter((p) => p.severity === "error").map(({ severity: _s, ...rest }) => rest);
  return { ok: false, error: describe(errors), problems: errors };
}

/** POST/PUT: a whole policy; empty, `null` and `{}` mean deny-all. */
export function parsePolicyBody(text: string): Parsed<Policy> {
  const { policy, problems } = loadPolicyText(text, BODY);
  return result(policy, problems);
}

/** PATCH: a non-empty JSON list of rules ({action, target}), each read as a policy's rule would be. */
export function parseRulesBody(text: string): Parsed<Rule[]> {
  const { rules, problems } = loadRulesText(text, BODY);
  if (rules && rules.length === 0) return result<Rule[]>(null, [emptyList("rules")]);
  return result(rules, problems);
}

/**
 * DELETE: a non-empty JSON list of strings. Any string is a target to remove, as in
 * OpenSandbox: a rule the policy runs as matching nothing (`x.com:443`) must be removable
 * too; blank ones are ignored.
 */
export function parseTargetsBody(text: string): Parsed<string[]> {
  const parsed = goTrim(text) === "" ? null : parseSource(text, "json");
  if (parsed && !parsed.source) return result<string[]>(null, parsed.problems);
  const list = parsed?.source?.value;
  if (!Array.isArray(list)) return result<string[]>(null, [{ severity: "error", path: "", code: "bad-value", message: "expected a JSON list of targets ([\"api.example.com\", ...])" }]);
  if (list.length === 0) return result<string[]>(null, [emptyList("targets")]);
  const problems: Problem[] = [];
  list.forEach((t, i) => {
    if (typeof t !== "string") {
      problems.push({ severity: "error", path: `[${i}]`, ...parsed!.source!.pos([i]), code: "bad-value", message: `expected a string, got ${t === null ? "null" : Array.isArray(t) ? "a list" : typeof t}` });
    }
  });
  return result(problems.length ? null : (list as string[]).filter((t) => goTrim(t) !== ""), problems);
}

/** OpenSandbox answers an empty PATCH or DELETE list with 400 (its SDK throws) */
function emptyList(what: string): Problem {
  return { severity: "error", path: "", code: "bad-value", message: `invalid ${what}: empty array (nothing to change)` };
}
