// The kernel side of serve, one object per enforcement mode, so serve's logic never asks
// "which mode am I in" again: install a policy (one transaction), write learned
// addresses, forget addresses, read the kernel state back, clean up.
//   dns+nftables: the full table (redirect + filter + learned sets)
//   dns-only:     only the redirect, through nftables or else iptables; learning is a no-op
//   disabled:     nothing at all
import type { LearnElement } from "../../core/learn/table.ts";
import type { Policy } from "../../core/policy/types.ts";
import type { Mode as ProbeMode } from "../../core/probe/modes.ts";
import { renderForget, renderLearn } from "../../core/ruleset/learn.ts";
import { CHAIN_NAT, TABLE_FAMILY, TABLE_NAME } from "../../core/ruleset/names.ts";
import type { PlanEnv } from "../../core/ruleset/model.ts";
import { planRuleset } from "../../core/ruleset/plan.ts";
import { renderDelete, renderRuleset } from "../../core/ruleset/render.ts";
import { readKernelState, type KernelState } from "../../core/status/kernel-state.ts";
import { installIptablesRedirect, removeIptablesRedirect } from "../../effects/iptables/redirect.ts";
import type { NftBackend } from "../../effects/nft/backend.ts";

export type InstallResult = { ok: true; digest: string | null } | { ok: false; error: string; line?: number; text?: string };

export interface Enforcer {
  readonly mode: ProbeMode;
  readonly via: "nftables" | "iptables" | null;
  install(policy: Policy): InstallResult;
  learn(elements: LearnElement[], name: string): Promise<void>;
  forget(addresses: { family: 4 | 6; address: string }[]): void;
  kernelState(): KernelState | null;
  cleanup(): void;
}

export function createEnforcer(
  mode: ProbeMode,
  via: "nftables" | "iptables" | null,
  backend: NftBackend | null,
  env: Omit<PlanEnv, "mode">,
): Enforcer {
  if (mode === "disabled") return nothing();
  if (via === "iptables" || !backend) return iptablesRedirect(env.proxyPort);
  return nftables(mode, backend, env);
}

function nftables(mode: "dns-only" | "dns+nftables", nft: NftBackend, env: Omit<PlanEnv, "mode">): Enforcer {
  const learning = mode === "dns+nftables";
  return {
    mode,
    via: "nftables",
    install(policy) {
      const plan = planRuleset(policy, { ...env, mode });
      const r = nft.run(renderRuleset(plan));
      return r.ok ? { ok: true, digest: plan.policyDigest } : r;
    },
    async learn(elements, name) {
      if (!learning || elements.length === 0) return;
      const r = nft.run(renderLearn(elements, name));
      // the proxy turns this into SERVFAIL: never answer with an address we failed to allow
      if (!r.ok) throw new Error(`learning ${elements.length} address(es) failed: ${r.error}`);
    },
    forget(addresses) {
      if (learning && addresses.length) nft.run(renderForget(addresses));
    },
    kernelState() {
      try {
        const chain = nft.run(`list chain ${TABLE_FAMILY} ${TABLE_NAME} ${CHAIN_NAT}`);
        return readKernelState(nft.listTableJson(), chain.ok ? chain.output : "");
      } catch {
        return null;
      }
    },
    cleanup() {
      nft.run(renderDelete());
    },
  };
}

function iptablesRedirect(port: number): Enforcer {
  return {
    mode: "dns-only",
    via: "iptables",
    install() {
      const r = installIptablesRedirect(port);
      return r.ok ? { ok: true, digest: null } : r;
    },
    learn: async () => {},
    forget() {},
    kernelState: () => null,
    cleanup: removeIptablesRedirect,
  };
}

function nothing(): Enforcer {
  return {
    mode: "disabled",
    via: null,
    install: () => ({ ok: true, digest: null }),
    learn: async () => {},
    forget() {},
    kernelState: () => null,
    cleanup() {},
  };
}
