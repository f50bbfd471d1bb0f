// The `apply` use case: policy text -> ruleset -> one kernel transaction. Takes its
// effects (the facts of the namespace, the nft backend) as parameters and returns an
// outcome; the command maps outcomes to exit codes and prints. Never touches anything but
// table inet egressctl, and nothing at all in what looks like the host's namespace.
import { Errno } from "../core/errors/errno.ts";
import { loadPolicyText, syntaxOfFile, type Problem } from "../core/policy/load.ts";
import { assess } from "../core/probe/assess.ts";
import type { ProbeFacts } from "../core/probe/types.ts";
import { noAlwaysRules, type AlwaysProblem, type AlwaysRules } from "../core/always/types.ts";
import type { ApplyConfig } from "../core/config/apply-config.ts";
import { literalWebhook, planEnvOf } from "../core/config/ruleset-settings.ts";
import { planRuleset } from "../core/ruleset/plan.ts";
import { renderDelete, renderRuleset } from "../core/ruleset/render.ts";
import type { NftBackend } from "../effects/nft/backend.ts";

export type ApplyAction = "apply" | "check" | "dry-run" | "delete";

/**
 * What to do, with the configuration resolved from flags and environment
 * (src/core/config/apply-config.ts) minus how the kernel is reached (the effects').
 */
export type ApplyRequest = Omit<ApplyConfig, "kernel"> & {
  action: ApplyAction;
  /** policy text and where it came from (unused for delete) */
  text?: string;
  source?: string;
  /** the operator's always lists, laid over the policy as serve lays them */
  always?: AlwaysRules;
};

export interface ApplyEffects {
  /**
   * The namespace's facts, as probe and serve gather them (EGRESSCTL_ASSUME_SANDBOX
   * included); read only before the kernel is needed, never for --dry-run.
   */
  gatherFacts(): Promise<ProbeFacts>;
  /** opened only when the kernel is needed, so --dry-run works without nft or root */
  openBackend(): NftBackend | { unavailable: string };
}

export type ApplyOutcome =
  | { kind: "ok"; action: ApplyAction; ruleset?: string; digest?: string; backend?: string; warnings: Problem[]; alwaysProblems: AlwaysProblem[] }
  | { kind: "invalid"; problems: Problem[] }
  | { kind: "unavailable"; reason: string }
  | { kind: "rejected"; error: string; line?: number; text?: string };

export async function applyPolicy(req: ApplyRequest, fx: ApplyEffects): Promise<ApplyOutcome> {
  let script: string;
  let digest: string | undefined;
  let warnings: Problem[] = [];
  const always = req.always ?? noAlwaysRules();
  const alwaysProblems = [always.deny, always.allow].flatMap((f) => f.problems);
  if (req.action === "delete") {
    script = renderDelete();
  } else {
    // judged as validate judges (a target that matches nothing is refused); serve runs it
    const { policy, problems } = loadPolicyText(req.text ?? "", { source: req.source, mode: req.mode, syntax: syntaxOfFile(req.source ?? "") });
    if (!policy) return { kind: "invalid", problems };
    warnings = problems;
    // as serve refuses (exit 4) rather than degrade: a dns-only ruleset filters nothing
    if (req.action !== "dry-run" && policy.requireFullIsolation && req.mode !== "dns+nftables") {
      return { kind: "unavailable", reason: `the policy has require_full_isolation: true, but --mode ${req.mode} filters no packets; use --mode dns+nftables (nothing was loaded)` };
    }
    // the same planner input serve builds (ruleset-settings.ts planEnvOf); a webhook
    // receiver named by address is let out as serve lets it out
    const plan = planRuleset(policy, planEnvOf(req, { mode: req.mode, upstreams: req.upstreams, upstreamOrigin: "configured", webhook: literalWebhook(req.denyWebhook) }), always);
    script = renderRuleset(plan);
    digest = plan.policyDigest;
    if (req.action === "dry-run") return { kind: "ok", action: req.action, ruleset: script, digest, warnings, alwaysProblems };
  }
  // The checks serve makes before it touches anything: in the machine's own namespace a
  // default-deny filter would cut off the host. --delete too: it only removes our table,
  // but an operator doing it on the host is in the wrong namespace.
  const refusal = hostRefusal(await fx.gatherFacts(), req.allowHostNetwork);
  if (refusal) return { kind: "unavailable", reason: refusal };
  const backend = fx.openBackend();
  if ("unavailable" in backend) return { kind: "unavailable", reason: backend.unavailable };
  const r = backend.run(script, { check: req.action === "check" });
  if (r.ok) return { kind: "ok", action: req.action, digest, backend: backend.kind, warnings, alwaysProblems };
  // Without CAP_NET_ADMIN the kernel says EPERM to everything: not a ruleset problem.
  if (r.errno === Errno.EPERM) return { kind: "unavailable", reason: `nftables refused: ${firstLine(r.error)} (needs root or CAP_NET_ADMIN)` };
  return { kind: "rejected", error: r.error, line: r.line, text: r.text };
}

const firstLine = (s: string) => s.split("\n")[0]!;

/** The host-network part of probe's judgement (assess), with what apply did not do. */
function hostRefusal(facts: ProbeFacts, allowHostNetwork: boolean): string | null {
  const a = assess(facts, { allowHostNetwork });
  if (!a.hostNetworkSuspected || allowHostNetwork || !a.refusal) return null;
  return `${a.refusal.message}. Nothing was changed.`;
}
