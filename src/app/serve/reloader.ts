// What a reload does (docs/serve.md, "Reload"): validate the file, install the new
// ruleset in one transaction, then swap the compiled policy and prune learned addresses
// no allowed name still holds. Any failure keeps the old policy, in memory and kernel.
// SIGHUP also re-installs an unchanged policy: it is how an operator repairs a kernel
// state that drifted (the self-test reports drift; it does not repair it by itself).
import type { LearnTable } from "../../core/learn/table.ts";
import type { Mode } from "../../core/probe/modes.ts";
import type { EventLog } from "../../effects/log/events.ts";
import type { Enforcer } from "./enforcer.ts";
import { compilePolicy, type LivePolicy } from "./live-policy.ts";
import { loadPolicyFile, type ReadText } from "./policy-source.ts";
import { logPolicyWarnings } from "./policy-warnings.ts";
import { removeLearned, type PendingRemovals } from "./remove-learned.ts";

export interface ReloadContext {
  mode: Mode;
  enforcer: Enforcer;
  table: LearnTable;
  log: EventLog;
  read: ReadText;
  live(): LivePolicy;
  swap(next: LivePolicy): void;
  counts: { ok: number; failed: number; lastError: string | null };
  pending: PendingRemovals;
}

export function createReloader(ctx: ReloadContext): (why: string) => void {
  const { enforcer, log } = ctx;
  return (why) => {
    const live = ctx.live();
    const sighup = why === "SIGHUP";
    const fail = (error: string, extra: Record<string, unknown> = {}) => {
      ctx.counts.failed++;
      ctx.counts.lastError = error;
      log.emit("policy.reload.rejected", { why, source: live.path ?? live.source, error, kept: live.digest, ...extra }, "error");
    };
    let next = live;
    if (live.path) {
      const r = loadPolicyFile(live.path, ctx.read);
      if (!r.ok) return fail(r.error, { problems: r.problems });
      next = compilePolicy(r.choice.policy, live.source, live.path, Date.now());
      if (next.digest !== live.digest) logPolicyWarnings(log, live.path, r.choice.warnings, next.policy, ctx.mode);
    } else if (sighup) {
      log.emit("policy.reload.skipped", { why, reason: `policy came from ${live.source}, not a file; re-installing it` }, "warn");
    }
    const changed = next.digest !== live.digest;
    if (!changed && !sighup) return; // the directory changed, the policy did not
    if (next.policy.requireFullIsolation && ctx.mode !== "dns+nftables") return fail(`require_full_isolation is set but serve runs in ${ctx.mode}`);
    const k = enforcer.install(next.policy);
    if (!k.ok) return fail(`the kernel rejected the ruleset: ${k.error}`, { line: k.line });
    if (!changed) return log.emit("policy.reinstalled", { why, digest: live.digest });
    ctx.swap(next);
    ctx.counts.ok++;
    removeLearned(enforcer, ctx.table, ctx.table.prune((name) => next.decide(name).action === "allow", Date.now()), log, "reload", ctx.pending);
    log.emit("policy.applied", { why, source: next.source, digest: next.digest, rules: next.policy.rules.length });
  };
}
