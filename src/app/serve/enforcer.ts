// The kernel enforcer part of serve, one object per enforcement mode, so serve's logic
// never asks "which mode am I in" again: install a policy (one transaction), write
// learned addresses, forget addresses, read the kernel state back, clean up.
//   dns+nftables: the full table (redirect + filter + learned sets)
//   dns-only:     the redirect and the DNS guard, through nftables, or else only the
//                 redirect, through iptables; learning is a no-op
//   disabled:     nothing at all
//
// The nftables enforcer never talks to the kernel on the thread that answers DNS: its
// kernel I/O is a KernelIo (src/effects/kernel/kernel-io.ts; serve's runs in a worker
// thread), and every change goes through one lane (src/core/lifecycle/lane.ts), one at
// a time, in the order decided: learn writes (coalesced, src/core/learn/writer.ts),
// removals, installs. A compound change (a reload: install, swap, prune) holds the lane
// for all of it (`exclusive`), so no learn write falls between its steps.
import type { AlwaysRules } from "../../core/always/types.ts";
import type { RulesetSettings } from "../../core/config/ruleset-settings.ts";
import { planEnvOf } from "../../core/config/ruleset-settings.ts";
import type { DeniedFlow } from "../../core/events/net-denied.ts";
import { KernelExpiry } from "../../core/learn/kernel-expiry.ts";
import type { LearnElement } from "../../core/learn/table.ts";
import { LearnWriter, type LearnWriterDeps } from "../../core/learn/writer.ts";
import { Lane } from "../../core/lifecycle/lane.ts";
import type { Policy } from "../../core/policy/types.ts";
import type { Mode as ProbeMode } from "../../core/probe/modes.ts";
import type { CidrList } from "../../core/ruleset/cidr-list.ts";
import type { Upstream, UpstreamOrigin } from "../../core/ruleset/model.ts";
import { planRuleset } from "../../core/ruleset/plan.ts";
import { renderRuleset } from "../../core/ruleset/render.ts";
import type { KernelState, LearnedEntry } from "../../core/status/kernel-state.ts";
import { installIptablesRedirect, removeIptablesRedirect } from "../../effects/iptables/redirect.ts";
import type { KernelIo } from "../../effects/kernel/kernel-io.ts";
import type { RefreshInfo } from "../../effects/kernel/kernel-ops.ts";

export type ForgetResult = { ok: true } | { ok: false; error: string; flushed: boolean };
const FORGOT: ForgetResult = { ok: true };

export type InstallResult = { ok: true; digest: string | null } | { ok: false; error: string; line?: number; text?: string };

type Address = { family: 4 | 6; address: string };

/** What a compound change may do while it holds the kernel lane. */
export interface KernelSession {
  /** the policy with the operator's always lists (their addresses get sets of their own) */
  install(policy: Policy, always?: AlwaysRules): Promise<InstallResult>;
  /**
   * Removes learned addresses from the kernel. When that fails (after one retry of a
   * transient error) the learned sets are emptied instead: an address a reload denied must
   * not stay open; every allowed name is learned again on its next answer.
   */
  forget(addresses: Address[]): Promise<ForgetResult>;
}

export interface Enforcer extends KernelSession {
  readonly mode: ProbeMode;
  readonly via: "nftables" | "iptables" | null;
  /** runs `job` alone on the kernel lane: no learn write, removal or install in between */
  exclusive<T>(job: (k: KernelSession) => Promise<T>): Promise<T>;
  /**
   * Lets serve's own connections reach the deny webhook's receiver at these addresses:
   * the ruleset last installed, installed again with them let out. On failure they are
   * not kept (the next attempt adds them again).
   */
  letOut(destinations: readonly Upstream[]): Promise<InstallResult>;
  /**
   * Puts learned addresses into the kernel. Nothing returned: the kernel already holds
   * them long enough, answer now. A promise: answer only once it resolves (a rejection
   * means SERVFAIL). `stillWanted(name)` is asked again right before the kernel write
   * (one function for every answer: nothing is allocated per answer for it).
   */
  learn(elements: LearnElement[], name: string, stillWanted?: (name: string) => boolean): Promise<void> | void;
  /** learned elements found in the kernel at start, now in serve's name table: counted toward the bound */
  adopted(elements: LearnElement[]): void;
  /**
   * What the kernel holds. `learned: false` leaves the learned sets' elements out (their
   * counts read 0): they are the costly part once the sets are full.
   */
  kernelState(opts?: { learned?: boolean }): Promise<KernelState | null>;
  /** The learned sets' elements (adoption), handed to `onSlice` as they are read; false when not read whole. */
  learnedEntries(onSlice: (entries: LearnedEntry[]) => void): Promise<boolean>;
  /** whether the kernel's learned set holds `address`; null when it cannot be told */
  holdsLearned(family: 4 | 6, address: string): Promise<boolean | null>;
  /** how learned elements get longer life, and which writer puts them in the kernel */
  refreshMethod(): RefreshInfo | null;
  /** flows the kernel denied recently (net.denied); empty where nothing filters */
  deniedFlows(): Promise<DeniedFlow[]>;
  /** removes everything serve put into the kernel (--cleanup-on-exit) */
  cleanup(): Promise<void>;
}

/** What the enforcer needs to know; every field a value, resolved before it starts. */
export interface EnforcerInputs {
  mode: ProbeMode;
  via: "nftables" | "iptables" | null;
  /** the nftables enforcer's kernel I/O; null for iptables and disabled */
  io: KernelIo | null;
  ruleset: RulesetSettings;
  upstreams: readonly Upstream[];
  upstreamOrigin: UpstreamOrigin;
  /** where the deny webhook's receiver is already known to be (a literal address, or resolved at start) */
  webhook: readonly Upstream[];
  ipv6: boolean;
}

export function createEnforcer(i: EnforcerInputs): Enforcer {
  if (i.mode === "disabled") return nothing();
  if (i.via === "iptables" || !i.io) return iptablesRedirect(i.ruleset.dnsPort, i.ipv6, i.ruleset.nameserverExempt.list);
  return nftables(i.mode, i.io, i);
}

function nftables(mode: "dns-only" | "dns+nftables", io: KernelIo, i: EnforcerInputs): Enforcer {
  const learning = mode === "dns+nftables";
  const bounds = i.ruleset.learnBounds;
  const lane = new Lane();
  let webhook: Upstream[] = [...i.webhook];
  let installed: { policy: Policy; always?: AlwaysRules } | null = null;
  let refresh: RefreshInfo | null = null;
  // Writes coalesced per event-loop turn, and skipped when the kernel already holds the
  // addresses long enough (src/core/learn/writer.ts, docs/dns.md "Kernel writes"). Only
  // where a re-add refreshes an element (measured at the first install) may a covered
  // answer skip its write; until then the record only counts (adoption comes first).
  /** a write that gave netlink up says what writes now: /status and learn.refresh show it */
  const noteWriter = <T extends { writer?: string }>(r: T): T => {
    if (r.writer && refresh) refresh = { ...refresh, writer: r.writer };
    return r;
  };
  const deps: LearnWriterDeps = {
    write: async (groups) => noteWriter(await io.write(groups)),
    schedule: (flush) => void setImmediate(flush),
    now: () => performance.now(),
    kernel: new KernelExpiry({ maxLifetimeSec: bounds.maxLifetimeSec, skip: false, headroomSec: 0 }),
    maxElements: bounds.maxElements,
    lane,
  };
  const writer = new LearnWriter(deps);

  const installNow = async (policy: Policy, always?: AlwaysRules): Promise<InstallResult> => {
    const plan = planRuleset(policy, planEnvOf(i.ruleset, { mode, upstreams: i.upstreams, upstreamOrigin: i.upstreamOrigin, webhook }), always);
    const r = await io.install(renderRuleset(plan));
    if (!r.ok) return r;
    installed = { policy, always };
    // the learned sets may have been created anew (a re-install after drift): forget
    // what the writer believes the kernel holds, so the next answers write again
    writer.forgetAll();
    if (r.refresh && !refresh) {
      refresh = r.refresh;
      // only where a re-add refreshes may covered answers skip their write (with headroom)
      if (refresh.method === "refresh") deps.kernel = new KernelExpiry({ maxLifetimeSec: bounds.maxLifetimeSec });
    }
    return { ok: true, digest: plan.policyDigest };
  };
  /** the removal's mark is made by the caller, when it decides; undone here, when it is over */
  const forgetMarked = async (addresses: Address[]): Promise<ForgetResult> => {
    try {
      // what waits is written first, asking stillWanted under the policy now in force
      await writer.flush();
      const r = noteWriter(await io.remove(addresses));
      if (r.ok) return FORGOT;
      const flushed = await io.flushLearned();
      if (flushed) writer.emptied();
      else writer.forgetAll();
      return { ok: false, error: r.error, flushed };
    } finally {
      writer.removed(addresses);
    }
  };
  const session: KernelSession = {
    install: installNow,
    forget(addresses) {
      if (!learning || addresses.length === 0) return Promise.resolve(FORGOT);
      writer.removing(addresses);
      return forgetMarked(addresses);
    },
  };
  const exclusive = <T>(job: (k: KernelSession) => Promise<T>) => lane.run(() => job(session));

  return {
    mode,
    via: "nftables",
    exclusive,
    install: (policy, always) => exclusive((k) => k.install(policy, always)),
    letOut(destinations) {
      return exclusive(async (k) => {
        if (!installed) return { ok: false, error: "no ruleset installed yet" };
        const before = webhook;
        webhook = [...webhook, ...destinations];
        const r = await k.install(installed.policy, installed.always);
        if (!r.ok) webhook = before;
        return r;
      });
    },
    learn(elements, name, stillWanted) {
      if (!learning || elements.length === 0) return;
      // the proxy turns a rejection into SERVFAIL: never answer with an address we failed to allow
      return writer.learn(elements, name, stillWanted);
    },
    forget(addresses) {
      if (!learning || addresses.length === 0) return Promise.resolve(FORGOT);
      // marked now, when it is decided: an answer from here on writes these again, after
      writer.removing(addresses);
      return lane.run(() => forgetMarked(addresses));
    },
    adopted(elements) {
      if (learning) writer.adopted(elements);
    },
    kernelState: (opts) => io.kernelState({ learned: opts?.learned !== false }),
    learnedEntries: async (onSlice) => (learning ? io.learnedEntries(onSlice) : true),
    holdsLearned: async (family, address) => (learning ? io.holdsLearned(family, address) : null),
    refreshMethod: () => refresh,
    deniedFlows: () => io.deniedFlows(),
    async cleanup() {
      await lane.run(() => io.cleanup());
    },
  };
}

function iptablesRedirect(port: number, ipv6: boolean, exempt: CidrList): Enforcer {
  const install = async (): Promise<InstallResult> => {
    const r = installIptablesRedirect(port, ipv6, exempt);
    return r.ok ? { ok: true, digest: null } : r;
  };
  return {
    ...inert("dns-only", "iptables"),
    install,
    exclusive: (job) => job({ install, forget: async () => FORGOT }),
    cleanup: async () => removeIptablesRedirect(),
  };
}

function nothing(): Enforcer {
  return inert("disabled", null);
}

/** an enforcer that learns, forgets and reads nothing */
function inert(mode: ProbeMode, via: Enforcer["via"]): Enforcer {
  const install = async (): Promise<InstallResult> => ({ ok: true, digest: null });
  const forget = async () => FORGOT;
  return {
    mode,
    via,
    install,
    forget,
    exclusive: (job) => job({ install, forget }),
    letOut: install,
    learn() {},
    adopted() {},
    kernelState: async () => null,
    learnedEntries: async () => true,
    holdsLearned: async () => null,
    refreshMethod: () => null,
    deniedFlows: async () => [],
    cleanup: async () => {},
  };
}
