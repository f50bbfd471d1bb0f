// What a reload does (docs/serve.md, "Reload"): validate the file, install the new
// ruleset in one transaction, then swap the compiled policy and prune learned addresses
// no allowed name still holds. Any failure keeps the old policy, in memory and kernel.
// SIGHUP also re-installs an unchanged policy: it is how an operator repairs a kernel
// state that drifted (the self-test reports drift; it does not repair it by itself).
// The HTTP API applies its policies through the same applyPolicy.
// Every step runs in one job of the kernel lane (enforcer.ts `exclusive`): the policy in
// force is read there, so two changes never both start from the same one, and no learn
// write falls between the install, the swap and the prune.
import type { LearnTable } from "../../core/learn/table.ts";
import type { Mode } from "../../core/probe/modes.ts";
import type { EventLog } from "../../effects/log/events.ts";
import type { Enforcer, KernelSession } from "./enforcer.ts";
import { compilePolicy, withAlways, type LivePolicy } from "./live-policy.ts";
import type { AlwaysRules } from "../../core/always/types.ts";
import { alwaysSummary } from "./always-log.ts";
import { loadPolicyFile, type ReadText } from "./policy-source.ts";
import { logPolicyWarnings } from "./policy-warnings.ts";
import { removeGuarded, removeLearned, type PendingRemovals } from "./remove-learned.ts";

export interface ReloadContext {
  mode: Mode;
  enforcer: Pick<Enforcer, "exclusive">;
  table: LearnTable;
  log: EventLog;
  read: ReadText;
  live(): LivePolicy;
  swap(next: LivePolicy): void;
  counts: { ok: number; failed: number; lastError: string | null };
  pending: PendingRemovals;
}

export type ApplyResult = { ok: true; changed: boolean } | { ok: false; kind: "isolation" | "kernel" | "persist"; error: string };

export interface ApplyOptions {
  /** install even when the digest is unchanged (SIGHUP: repair a drifted kernel) */
  reinstall?: boolean;
  /**
   * Runs after the kernel accepted the ruleset, before the swap (the API writes the
   * persisted file here). An error string makes the change fail: the previous ruleset is
   * installed again and nothing else changes.
   */
  persist?: (next: LivePolicy) => string | null;
}

/**
 * "Apply this policy", shared by the file reload and the HTTP API: refuse
 * require_full_isolation below dns+nftables, install in one transaction, (persist),
 * swap, prune learned addresses. Any failure keeps the old policy, in memory and kernel,
 * and counts as a failed reload.
 */
export function applyPolicy(ctx: ReloadContext, next: LivePolicy | ((live: LivePolicy) => LivePolicy), why: string, opts: ApplyOptions = {}): Promise<ApplyResult> {
  return ctx.enforcer.exclusive((k) => applyIn(k, ctx, typeof next === "function" ? next(ctx.live()) : next, why, opts));
}

async function applyIn(k: KernelSession, ctx: ReloadContext, next: LivePolicy, why: string, opts: ApplyOptions): Promise<ApplyResult> {
  const { log } = ctx;
  const live = ctx.live();
  const fail = (kind: "isolation" | "kernel" | "persist", error: string, extra: Record<string, unknown> = {}): ApplyResult => {
    rejected(ctx, why, live, error, extra);
    return { ok: false, kind, error };
  };
  const policyChanged = next.digest !== live.digest;
  const alwaysChanged = next.alwaysDigest !== live.alwaysDigest;
  const changed = policyChanged || alwaysChanged;
  if (!changed && !opts.reinstall) {
    const e = opts.persist?.(next);
    return e ? fail("persist", `cannot persist the policy: ${e}`) : { ok: true, changed: false };
  }
  if (next.policy.requireFullIsolation && ctx.mode !== "dns+nftables") return fail("isolation", `require_full_isolation is set but serve runs in ${ctx.mode}`);
  const installed = await k.install(next.policy, next.always);
  if (!installed.ok) return fail("kernel", `the kernel rejected the ruleset: ${installed.error}`, { line: installed.line });
  const e = opts.persist?.(next);
  if (e) {
    const back = await k.install(live.policy, live.always);
    return fail("persist", `cannot persist the policy: ${e}${back.ok ? "" : `; re-installing the previous ruleset failed too: ${back.error}`}`);
  }
  if (!changed) {
    log.emit("policy.reinstalled", { why, digest: live.digest });
    return { ok: true, changed: false };
  }
  ctx.swap(next);
  ctx.counts.ok++;
  // only what is no longer allowed goes: deny.always, allow.always and the policy together
  await removeLearned(k.forget, ctx.table, ctx.table.prune((name) => next.decide(name).action === "allow", Date.now()), log, "reload", ctx.pending);
  // and what the address guard no longer lets stay open (an allow rule for a private range gone)
  await removeGuarded(k.forget, ctx.table, next.guard, log, "reload", ctx.pending);
  if (policyChanged) log.emit("policy.applied", { why, source: next.source, digest: next.digest, rules: next.policy.rules.length });
  if (alwaysChanged) log.emit("always.applied", { why, ...alwaysSummary(next.always), digest: next.alwaysDigest });
  return { ok: true, changed: true };
}

function rejected(ctx: ReloadContext, why: string, live: LivePolicy, error: string, extra: Record<string, unknown> = {}): void {
  ctx.counts.failed++;
  ctx.counts.lastError = error;
  ctx.log.emit("policy.reload.rejected", { why, source: live.path ?? live.source, error, kept: live.digest, ...extra }, "error");
}

export function createReloader(ctx: ReloadContext): (why: string) => Promise<void> {
  const { log } = ctx;
  return (why) => ctx.enforcer.exclusive(async (k) => {
    const live = ctx.live();
    const sighup = why === "SIGHUP";
    let next = live;
    if (live.path) {
      const r = loadPolicyFile(live.path, ctx.read);
      if (!r.ok) return rejected(ctx, why, live, r.error, { problems: r.problems });
      next = compilePolicy(r.choice.policy, live.source, live.path, Date.now(), live.always, live.guardSettings);
      if (next.digest !== live.digest) logPolicyWarnings(log, live.path, r.choice.warnings, next.policy, ctx.mode);
    } else if (sighup) {
      log.emit("policy.reload.skipped", { why, reason: `policy came from ${live.source}, not a file; re-installing it` }, "warn");
    }
    // an unchanged policy without SIGHUP: the directory changed, the policy did not. Said
    // so, so that "this change did nothing" can be seen (and waited for) like any reload
    const r = await applyIn(k, ctx, next, why, { reinstall: sighup });
    if (r.ok && !r.changed && !sighup && live.path) log.emit("policy.unchanged", { why, digest: live.digest });
  });
}

/**
 * A change of the always lists: the policy in force under the new lists, applied like a
 * reload (one transaction, swap, prune of what is no longer allowed); learned addresses
 * the new lists still allow stay. Unchanged lists change nothing.
 */
export function applyAlways(ctx: ReloadContext, always: AlwaysRules, why: string): Promise<ApplyResult> {
  return applyPolicy(ctx, (live) => withAlways(live, always), why);
}
