// A kernel enforcer whose answers the test chooses (install, forget), with the lane's
// `exclusive` run at once: for the reload, API and always-list steps, whose failure
// paths a real kernel rarely produces.
import type { Enforcer, ForgetResult, InstallResult, KernelSession } from "../../../src/app/serve/enforcer.ts";
import type { AlwaysRules } from "../../../src/core/always/types.ts";
import type { Policy } from "../../../src/core/policy/types.ts";

export interface FakeKernel {
  install?(policy: Policy, always?: AlwaysRules): InstallResult;
  forget?(addresses: { family: 4 | 6; address: string }[]): ForgetResult;
}

export function fakeEnforcer(k: FakeKernel, mode: Enforcer["mode"] = "dns+nftables"): Enforcer {
  const session: KernelSession = {
    install: async (p, a) => k.install?.(p, a) ?? { ok: true, digest: "x" },
    forget: async (addrs) => k.forget?.(addrs) ?? { ok: true },
  };
  return { mode, via: "nftables", ...session, exclusive: <T>(job: (k: KernelSession) => Promise<T>) => job(session) } as unknown as Enforcer;
}
