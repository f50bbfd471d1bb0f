// The kernel side of serve, one object per enforcement mode, so serve's logic never asks
// "which mode am I in" again: install a policy (one transaction), write learned
// addresses, forget addresses, read the kernel state back, clean up.
//   dns+nftables: the full table (redirect + filter + learned sets)
//   dns-only:     the redirect and the DNS guard, through nftables, or else only the
//                 redirect, through iptables; learning is a no-op
//   disabled:     nothing at all
import { release } from "node:os";
import { DEFAULT_KERNEL, type KernelSettings } from "../../core/config/kernel-settings.ts";
import { DEFAULT_BOUNDS, isSetFull, type LearnBounds } from "../../core/learn/bounds.ts";
import { KernelExpiry } from "../../core/learn/kernel-expiry.ts";
import type { LearnElement } from "../../core/learn/table.ts";
import { isTransient } from "../../core/errors/errno.ts";
import { LearnWriter, type LearnGroup, type LearnWriterDeps, type WriteResult } from "../../core/learn/writer.ts";
import { detectElementRefresh, type RefreshMethod } from "../../effects/nft/element-refresh.ts";
import type { Policy } from "../../core/policy/types.ts";
import type { AlwaysRules } from "../../core/always/types.ts";
import type { Mode as ProbeMode } from "../../core/probe/modes.ts";
import { renderForget, renderLearn } from "../../core/ruleset/learn.ts";
import { DENIED_V4, DENIED_V6, LEARNED_V4, LEARNED_V6, TABLE_FAMILY, TABLE_NAME } from "../../core/ruleset/names.ts";
import { readDeniedFlows, type DeniedFlow } from "../../core/events/net-denied.ts";
import type { CidrList } from "../../core/ruleset/cidr-list.ts";
import type { PlanEnv } from "../../core/ruleset/model.ts";
import { planRuleset } from "../../core/ruleset/plan.ts";
import { renderDelete, renderRuleset } from "../../core/ruleset/render.ts";
import { kernelStateFrom, readKernelState, type KernelState, type LearnedEntry } from "../../core/status/kernel-state.ts";
import { installIptablesRedirect, removeIptablesRedirect } from "../../effects/iptables/redirect.ts";
import type { NftBackend } from "../../effects/nft/backend.ts";
import { chainsText } from "../../effects/nft/chain-text.ts";
import { openNetlinkWriter, type NetlinkWriter } from "../../effects/nft/netlink-writer.ts";
import { openNetlinkReader, type NetlinkReader } from "../../effects/nft/netlink-reader.ts";

export type ForgetResult = { ok: true } | { ok: false; error: string; flushed: boolean };
const FORGOT: ForgetResult = { ok: true };

export type InstallResult = { ok: true; digest: string | null } | { ok: false; error: string; line?: number; text?: string };

export interface Enforcer {
  readonly mode: ProbeMode;
  readonly via: "nftables" | "iptables" | null;
  /** the policy with the operator's always lists (their addresses get sets of their own) */
  install(policy: Policy, always?: AlwaysRules): InstallResult;
  /**
   * Puts learned addresses into the kernel. Nothing returned: the kernel already holds
   * them long enough, answer now. A promise: answer only once it resolves (a rejection
   * means SERVFAIL). `stillWanted` is asked again right before the kernel write.
   */
  learn(elements: LearnElement[], name: string, stillWanted?: () => boolean): Promise<void> | void;
  /**
   * Removes learned addresses from the kernel. When that fails (after one retry of a
   * transient error) the learned sets are emptied instead: an address a reload denied must
   * not stay open; every allowed name is learned again on its next answer.
   */
  forget(addresses: { family: 4 | 6; address: string }[]): ForgetResult;
  /** learned elements found in the kernel at start, now in serve's name table: counted toward the bound */
  adopted(elements: LearnElement[]): void;
  /**
   * What the kernel holds. `learned: false` leaves the learned sets' elements out (their
   * counts read 0): they are the costly part once the sets are full.
   */
  kernelState(opts?: { learned?: boolean }): KernelState | null;
  /**
   * The learned sets' elements (adoption), read with a turn of the event loop between
   * datagrams so that DNS is answered meanwhile; null when they cannot be read.
   */
  learnedEntries(): Promise<LearnedEntry[] | null>;
  /** whether the kernel's learned set holds `address`; null when it cannot be told */
  holdsLearned(family: 4 | 6, address: string): boolean | null;
  /** how learned elements get longer life, and which writer puts them in the kernel */
  refreshMethod(): { method: RefreshMethod; how: string; writer: string } | null;
  /** flows the kernel denied recently (net.denied); empty where nothing filters */
  deniedFlows(): DeniedFlow[];
  cleanup(): void;
}

/** opens the netlink learn writer (a parameter so tests can hand serve one that fails) */
export type OpenNetlinkWriter = () => NetlinkWriter | { unavailable: string };

export function createEnforcer(
  mode: ProbeMode,
  via: "nftables" | "iptables" | null,
  backend: NftBackend | null,
  env: Omit<PlanEnv, "mode">,
  ipv6: boolean,
  onNote?: (note: string) => void,
  openNetlink: OpenNetlinkWriter = openNetlinkWriter,
  bounds: LearnBounds = DEFAULT_BOUNDS,
  kernel: Pick<KernelSettings, "learnWriter" | "elementRefresh"> = DEFAULT_KERNEL,
): Enforcer {
  if (mode === "disabled") return nothing();
  if (via === "iptables" || !backend) return iptablesRedirect(env.proxyPort, ipv6, env.nameserverExempt);
  return nftables(mode, backend, { ...env, learnedMax: bounds.maxElements }, onNote, openNetlink, bounds, kernel);
}

function nftables(
  mode: "dns-only" | "dns+nftables",
  nft: NftBackend,
  env: Omit<PlanEnv, "mode">,
  onNote: ((note: string) => void) | undefined,
  openNetlink: OpenNetlinkWriter,
  bounds: LearnBounds,
  kernel: Pick<KernelSettings, "learnWriter" | "elementRefresh">,
): Enforcer {
  const learning = mode === "dns+nftables";
  // Reading the learned sets and counters over netlink: libnftables fetches every element
  // of the table before any listing (seconds once the sets are full). The listing stays
  // the fallback where the socket does not open or a read fails.
  const opened = openNetlinkReader();
  const reader: NetlinkReader | null = "unavailable" in opened ? null : opened;
  // Writes coalesced per event-loop turn, and skipped when the kernel already holds the
  // addresses long enough (src/core/learn/writer.ts, docs/dns.md "Kernel writes").
  // How a learned element's life is extended is measured after the first install (the
  // sets must exist): re-add (Linux >= 6.10), or replace in one transaction. Only with
  // re-add does a record of what the kernel holds let writes be skipped.
  let refresh: { method: RefreshMethod; how: string } | null = null;
  // With re-add, writes go straight to the kernel over netlink where that socket opens:
  // libnftables re-reads every interval set before each command (docs/ruleset.md
  // "Learning cost"). Any netlink failure is retried once through libnftables, which
  // also carries every replace write. EGRESSCTL_LEARN_WRITER=nft keeps libnftables only.
  let netlink: NetlinkWriter | null = null;
  let netlinkNote: string | null = null;
  const viaNft = (script: string): WriteResult => {
    const r = nft.run(script);
    return r.ok ? { ok: true } : { ok: false, error: r.error, errno: r.errno };
  };
  const learnScript = (groups: readonly LearnGroup[], replace: boolean) => groups.map((g) => renderLearn(g.elements, g.name, { replace })).join("");
  /**
   * A kernel write over netlink, done again through libnftables when that fails: all of
   * it, since a write split into batches may have committed its first ones, and adding
   * or removing those again changes nothing (netlink-batches.ts). When libnftables
   * succeeds where netlink failed, the socket, not the data, is the problem (a missing
   * ack costs a 2 s wait each time), so it is dropped for good and that is said.
   * `netlink` is set only where re-adding refreshes timeouts (the first install).
   */
  const viaNetlink = (op: (w: NetlinkWriter) => WriteResult, script: () => string): WriteResult => {
    if (!netlink) return viaNft(script());
    const r = op(netlink);
    // a full set is the data's answer, not the socket's: libnftables would get the same
    if (r.ok || isSetFull(r.errno)) return r;
    const again = viaNft(script());
    if (!again.ok) return { ok: false, error: `${r.error}; then libnftables: ${again.error}`, errno: again.errno };
    netlink.close();
    netlink = null;
    netlinkNote = `netlink writes failed (${r.error}); libnftables from now on`;
    onNote?.(netlinkNote);
    return again;
  };
  const deps: LearnWriterDeps = {
    write(groups) {
      if (refresh?.method !== "refresh") return viaNft(learnScript(groups, refresh?.method === "replace"));
      return viaNetlink((w) => w.write(groups), () => learnScript(groups, false));
    },
    schedule: (flush) => void setImmediate(flush),
    now: () => performance.now(),
    // counts elements from the start (adoption comes before the first answer); skipping
    // covered answers is decided with the refresh method at the first install
    kernel: new KernelExpiry({ maxLifetimeSec: bounds.maxLifetimeSec, skip: false, headroomSec: 0 }),
    maxElements: bounds.maxElements,
  };
  const writer = new LearnWriter(deps);
  return {
    mode,
    via: "nftables",
    install(policy, always) {
      const plan = planRuleset(policy, { ...env, mode }, always);
      const r = nft.run(renderRuleset(plan));
      // the learned sets may have been created anew (a re-install after drift): forget
      // what the writer believes the kernel holds, so the next answers write again
      if (r.ok) writer.forgetAll();
      if (r.ok && learning && !refresh) {
        refresh = detectElementRefresh(nft, kernel.elementRefresh, release());
        // only where a re-add refreshes may covered answers skip their write (with headroom)
        if (refresh.method === "refresh") deps.kernel = new KernelExpiry({ maxLifetimeSec: bounds.maxLifetimeSec });
        const w = refresh.method === "refresh" ? learnNetlink(kernel.learnWriter, openNetlink) : { unavailable: `not used with ${refresh.method}` };
        netlink = "unavailable" in w ? null : w;
        netlinkNote = "unavailable" in w ? w.unavailable : null;
      }
      return r.ok ? { ok: true, digest: plan.policyDigest } : r;
    },
    learn(elements, name, stillWanted) {
      if (!learning || elements.length === 0) return;
      // the proxy turns a rejection into SERVFAIL: never answer with an address we failed to allow
      return writer.learn(elements, name, stillWanted);
    },
    forget(addresses) {
      if (!learning || addresses.length === 0) return FORGOT;
      writer.beforeRemoval();
      // over netlink where learned writes go that way, as they do (viaNetlink)
      let r = viaNetlink((w) => w.remove(addresses), () => renderForget(addresses));
      if (!r.ok && isTransient(r.errno)) r = viaNft(renderForget(addresses));
      if (r.ok) {
        writer.removed(addresses);
        return FORGOT;
      }
      const flushed = nft.run(`flush set ${TABLE_FAMILY} ${TABLE_NAME} ${LEARNED_V4}\nflush set ${TABLE_FAMILY} ${TABLE_NAME} ${LEARNED_V6}`).ok;
      if (flushed) writer.emptied();
      else writer.forgetAll();
      return { ok: false, error: r.error, flushed };
    },
    adopted(elements) {
      if (learning) writer.adopted(elements);
    },
    async learnedEntries() {
      if (!learning) return [];
      // a reader of its own: another read on the shared one (a /status) would take its datagrams
      const own = openNetlinkReader();
      if (!("unavailable" in own)) {
        try {
          const r = await own.learnedAsync();
          if (r.ok) return r.value;
        } finally {
          own.close();
        }
      }
      return this.kernelState()?.learnedEntries ?? null;
    },
    holdsLearned(family, address) {
      if (!learning) return null;
      if (reader) {
        const r = reader.hasLearned(family, address);
        if (r.ok) return r.value;
      }
      return this.kernelState()?.learnedAddresses.includes(address) ?? null;
    },
    kernelState(opts) {
      try {
        if (reader) {
          const chains = nft.run("list chains");
          const counters = reader.counters();
          const learned = learning && opts?.learned !== false ? reader.learned() : { ok: true as const, value: [] };
          const upstreams = reader.upstreams();
          if (chains.ok && counters.ok && learned.ok && upstreams.ok) {
            return kernelStateFrom({ chains: chains.output, counters: counters.value, learned: learned.value, upstreams: upstreams.value });
          }
        }
        return readKernelState(nft.listTableJson(), chainsText(nft, learning));
      } catch {
        return null;
      }
    },
    refreshMethod: () => (refresh ? { ...refresh, writer: netlink ? "netlink" : `libnftables${netlinkNote ? ` (${netlinkNote})` : ""}` } : null),
    deniedFlows() {
      // dns-only has them too: its guard denies DNS that bypasses the proxy
      try {
        return [...readDeniedFlows(nft.listSetJson(DENIED_V4), 4), ...readDeniedFlows(nft.listSetJson(DENIED_V6), 6)];
      } catch {
        return []; // table gone or unreadable: the self-test reports that
      }
    },
    cleanup() {
      netlink?.close();
      netlink = null;
      reader?.close();
      nft.run(renderDelete());
    },
  };
}

/** the netlink learn writer unless EGRESSCTL_LEARN_WRITER=nft, or why not */
function learnNetlink(writer: KernelSettings["learnWriter"], open: OpenNetlinkWriter): NetlinkWriter | { unavailable: string } {
  if (writer === "nft") return { unavailable: "EGRESSCTL_LEARN_WRITER=nft" };
  return open();
}

function iptablesRedirect(port: number, ipv6: boolean, exempt: CidrList): Enforcer {
  return {
    mode: "dns-only",
    via: "iptables",
    install() {
      const r = installIptablesRedirect(port, ipv6, exempt);
      return r.ok ? { ok: true, digest: null } : r;
    },
    learn() {},
    forget: () => FORGOT,
    adopted() {},
    kernelState: () => null,
    learnedEntries: async () => [],
    holdsLearned: () => null,
    refreshMethod: () => null,
    deniedFlows: () => [],
    cleanup: removeIptablesRedirect,
  };
}

function nothing(): Enforcer {
  return {
    mode: "disabled",
    via: null,
    install: () => ({ ok: true, digest: null }),
    learn() {},
    forget: () => FORGOT,
    adopted() {},
    kernelState: () => null,
    learnedEntries: async () => [],
    holdsLearned: () => null,
    refreshMethod: () => null,
    deniedFlows: () => [],
    cleanup() {},
  };
}
