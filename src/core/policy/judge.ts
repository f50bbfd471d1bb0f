// How much a finding about a policy weighs, by who reads it. serve (its policy file,
// OPENSANDBOX_EGRESS_RULES, the HTTP API) runs every policy OpenSandbox's sidecar runs and
// warns about each oddity; `egressctl validate` judges what the author meant:
//
//   weight   | validate | run (serve, env, API)
//   ---------|----------|----------------------
//   "fatal"  | error    | error    the sidecar refuses it too (not JSON, a target that is not a string, an action "block")
//   "intent" | error    | warning  it runs, but not as written (a target with a port matches nothing)
//   "odd"    | warning  | warning  one clear meaning ("Allow", a rule without action: deny)
//
// and `validate --strict` makes every warning an error. Pure.
import type { Problem, Severity } from "./problems.ts";

export type Profile = "validate" | "run";
export type Weight = "fatal" | "intent" | "odd";

/** a Problem before it has a severity */
export interface Finding extends Omit<Problem, "severity"> {
  weight: Weight;
}

export function severity(w: Weight, profile: Profile, strict = false): Severity {
  if (strict || w === "fatal") return "error";
  return w === "intent" && profile === "validate" ? "error" : "warning";
}

export function judge(findings: readonly Finding[], profile: Profile, strict = false): Problem[] {
  return findings.map(({ weight, ...p }) => ({ severity: severity(weight, profile, strict), ...p }));
}
