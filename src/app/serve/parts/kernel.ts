// The kernel enforcer part: opens the kernel I/O (a worker thread, kernel-io.ts), loads
// the ruleset of the policy in force in one transaction, then removes what a previous
// mode left behind. Started after the DNS proxy listens, so no DNS packet is ever
// redirected to a closed port. A kernel refusal ends the start (exit 5). Stopped, it
// leaves the ruleset in force (fail-closed) unless --cleanup-on-exit asked otherwise and
// serve is shutting down (not when a later part failed to start).
import type { StopReason, Part } from "../../../core/lifecycle/lifecycle.ts";
import { StartRefused } from "../../../core/lifecycle/lifecycle.ts";
import { Exit } from "../../../core/exit-codes.ts";
import type { KernelSettings } from "../../../core/config/kernel-settings.ts";
import type { EventLog } from "../../../effects/log/events.ts";
import type { Enforcer } from "../enforcer.ts";
import { removeStaleState } from "../stale-state.ts";
import type { KernelIoHandle } from "./kernel-io-handle.ts";
import type { PolicyView } from "./live-cell.ts";

export interface KernelPartInputs {
  enforcer: Enforcer;
  /** the enforcer's kernel I/O; null where it has none (iptables, disabled) */
  handle: KernelIoHandle | null;
  policy: PolicyView;
  /** remove the previous mode's state once ours is in force (not in disabled mode without NET_ADMIN) */
  staleState: { redirect: "nftables" | "iptables" | null; iptablesNat: boolean; kernel: KernelSettings } | null;
  cleanupOnExit: boolean;
  log: EventLog;
}

export function kernelPart(i: KernelPartInputs): Part {
  const { enforcer, log } = i;
  return {
    name: "kernel enforcer",
    async start() {
      const failed = await i.handle?.start();
      if (failed) {
        log.emit("serve.failed", { reason: `the kernel I/O could not be opened: ${failed}` }, "error");
        throw new StartRefused(Exit.runtime, failed);
      }
      const live = i.policy.live;
      const installed = await enforcer.install(live.policy, live.always);
      if (!installed.ok) {
        log.emit("policy.rejected", { source: live.source, error: installed.error, line: installed.line, text: installed.text }, "error");
        await i.handle?.stop();
        throw new StartRefused(Exit.kernelRejected, installed.error);
      }
      log.emit("policy.applied", { source: live.source, digest: live.digest, rules: live.policy.rules.length, via: enforcer.via });
      // only once our own state is in force: a refused install must not also have removed
      // what the previous mode left (that would enforce less than before)
      if (i.staleState) removeStaleState(i.staleState.redirect, i.staleState.iptablesNat, i.staleState.kernel, log);
      const refresh = enforcer.refreshMethod();
      if (refresh) log.emit("learn.refresh", { ...refresh });
    },
    async stop(why: StopReason) {
      if (why === "shutdown" && i.cleanupOnExit) await enforcer.cleanup();
      await i.handle?.stop();
    },
  };
}
