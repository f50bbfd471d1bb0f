// serve's conversations with the kernel's nftables, each one synchronous and complete:
// install a ruleset (one transaction), write or remove learned elements (raw netlink,
// retried through libnftables when netlink fails), empty the learned sets, and the
// reads (kernel state, learned elements, denied flows). They block the thread that runs
// them for as long as the kernel takes (a netlink batch is processed inside sendto(),
// behind the nf_tables commit mutex, which another process's large transaction can hold
// for a second and more), so serve runs them in a worker thread (kernel-worker.ts), never
// on the thread that answers DNS; tests and tools may run them in process.
//
// Never called twice at once: serve's enforcer hands them over one at a time (its
// kernel lane, src/app/serve/enforcer.ts), which is what orders writes, removals and
// installs. Reads have sockets of their own and may run between.
import { release } from "node:os";
import type { KernelSettings } from "../../core/config/kernel-settings.ts";
import { isTransient } from "../../core/errors/errno.ts";
import { readDeniedFlows, type DeniedFlow } from "../../core/events/net-denied.ts";
import { isSetFull } from "../../core/learn/bounds.ts";
import type { LearnGroup, WriteResult } from "../../core/learn/writer.ts";
import { renderForget, renderLearn } from "../../core/ruleset/learn.ts";
import { DENIED_V4, DENIED_V6, LEARNED_V4, LEARNED_V6, TABLE_FAMILY, TABLE_NAME } from "../../core/ruleset/names.ts";
import { renderDelete } from "../../core/ruleset/render.ts";
import { kernelStateFrom, readKernelState, type KernelState, type LearnedEntry } from "../../core/status/kernel-state.ts";
import { openNftBackend, type NftBackend, type NftResult } from "../nft/backend.ts";
import { chainsText } from "../nft/chain-text.ts";
import { detectElementRefresh, type RefreshMethod } from "../nft/element-refresh.ts";
import { LEARNED_SLICE, openNetlinkReader, type NetlinkReader } from "../nft/netlink-reader.ts";
import { parseAddress } from "../../core/net/ip.ts";
import { openNetlinkWriter, type NetlinkWriter } from "../nft/netlink-writer.ts";

/** opens the netlink learn writer (a parameter so tests can hand one that fails) */
export type OpenNetlinkWriter = () => NetlinkWriter | { unavailable: string };

export interface KernelOpsOptions {
  /** dns+nftables learns; dns-only has no learned sets */
  learning: boolean;
  kernel: KernelSettings;
  /** tests: a writer of their own (in process only: a function cannot reach a worker) */
  openNetlink?: OpenNetlinkWriter;
}

export interface RefreshInfo {
  method: RefreshMethod;
  how: string;
  writer: string;
}

/** an install's answer; `refresh` once the first install measured how elements get longer life */
export type InstallOutcome = NftResult & { refresh?: RefreshInfo };

/** a write's answer; `writer` when this write gave netlink up for libnftables (what writes now) */
export type WriteOutcome = WriteResult & { writer?: string };

export interface KernelOps {
  /** one ruleset, one transaction */
  install(script: string): InstallOutcome;
  /** learned elements, one group per name (the name as comment), in one write */
  write(groups: readonly LearnGroup[]): WriteOutcome;
  /** learned addresses removed (one retry of a transient failure) */
  remove(addresses: readonly { family: 4 | 6; address: string }[]): WriteOutcome;
  /** both learned sets emptied; false when the kernel refused */
  flushLearned(): boolean;
  kernelState(opts: { learned: boolean }): KernelState | null;
  /**
   * The learned sets' elements, read with its own socket and handed to `onSlice` as they
   * come, in slices of about LEARNED_SLICE, each once; false when they could not be read
   * whole (what was read was handed on).
   */
  learnedEntries(onSlice: (entries: LearnedEntry[]) => void): Promise<boolean>;
  holdsLearned(family: 4 | 6, address: string): boolean | null;
  deniedFlows(): DeniedFlow[];
  /** what happened to the writer since the last call (netlink given up for libnftables) */
  notes(): string[];
  /** removes table inet egressctl */
  cleanup(): NftResult;
  close(): void;
}

export function openKernelOps(o: KernelOpsOptions): KernelOps | { unavailable: string } {
  const backend = openNftBackend(o.kernel);
  if ("unavailable" in backend) return backend;
  return kernelOps(backend, o);
}

export function kernelOps(nft: NftBackend, o: KernelOpsOptions): KernelOps {
  const { learning } = o;
  const openNetlink = o.openNetlink ?? openNetlinkWriter;
  // Reading the learned sets and counters over netlink: libnftables fetches every element
  // of the table before any listing (seconds once the sets are full). The listing stays
  // the fallback where the socket does not open or a read fails.
  const opened = openNetlinkReader();
  const reader: NetlinkReader | null = "unavailable" in opened ? null : opened;
  // How a learned element's life is extended is measured after the first install (the
  // sets must exist): re-add (Linux >= 6.10), or replace in one transaction.
  let refresh: { method: RefreshMethod; how: string } | null = null;
  // With re-add, writes go straight to the kernel over netlink where that socket opens:
  // libnftables re-reads every interval set before each command (docs/ruleset.md
  // "Learning cost"). Any netlink failure is retried once through libnftables, which
  // also carries every replace write. EGRESSCTL_LEARN_WRITER=nft keeps libnftables only.
  let netlink: NetlinkWriter | null = null;
  let netlinkNote: string | null = null;
  const pendingNotes: string[] = [];
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
   */
  const viaNetlink = (op: (w: NetlinkWriter) => WriteResult, script: () => string): WriteOutcome => {
    if (!netlink) return viaNft(script());
    const r = op(netlink);
    // a full set is the data's answer, not the socket's: libnftables would get the same
    if (r.ok || isSetFull(r.errno)) return r;
    const again = viaNft(script());
    if (!again.ok) return { ok: false, error: `${r.error}; then libnftables: ${again.error}`, errno: again.errno };
    netlink.close();
    netlink = null;
    netlinkNote = `netlink writes failed (${r.error}); libnftables from now on`;
    pendingNotes.push(netlinkNote);
    return { ...again, writer: refreshInfo()!.writer } as WriteOutcome;
  };
  const refreshInfo = (): RefreshInfo | null =>
    refresh ? { ...refresh, writer: netlink ? "netlink" : `libnftables${netlinkNote ? ` (${netlinkNote})` : ""}` } : null;
  const kernelState = (opts: { learned: boolean }): KernelState | null => {
    try {
      if (reader) {
        const chains = nft.run("list chains");
        const counters = reader.counters();
        const learned = learning && opts.learned ? reader.learned() : { ok: true as const, value: [] };
        const upstreams = reader.upstreams();
        if (chains.ok && counters.ok && learned.ok && upstreams.ok) {
          return kernelStateFrom({ chains: chains.output, counters: counters.value, learned: learned.value, upstreams: upstreams.value });
        }
      }
      return readKernelState(nft.listTableJson(), chainsText(nft, learning));
    } catch {
      return null;
    }
  };
  return {
    install(script) {
      const r = nft.run(script);
      if (!r.ok || !learning || refresh) return r;
      refresh = detectElementRefresh(nft, o.kernel.elementRefresh, release());
      const w = refresh.method !== "refresh" ? { unavailable: `not used with ${refresh.method}` } : o.kernel.learnWriter === "nft" ? { unavailable: "EGRESSCTL_LEARN_WRITER=nft" } : openNetlink();
      netlink = "unavailable" in w ? null : w;
      netlinkNote = "unavailable" in w ? w.unavailable : null;
      return { ...r, refresh: refreshInfo()! };
    },
    write(groups) {
      if (refresh?.method !== "refresh") return viaNft(learnScript(groups, refresh?.method === "replace"));
      return viaNetlink((w) => w.write(groups), () => learnScript(groups, false));
    },
    remove(addresses) {
      // over netlink where learned writes go that way, as they do (viaNetlink)
      const r = viaNetlink((w) => w.remove(addresses), () => renderForget(addresses));
      return !r.ok && isTransient(r.errno) ? viaNft(renderForget(addresses)) : r;
    },
    flushLearned: () => nft.run(`flush set ${TABLE_FAMILY} ${TABLE_NAME} ${LEARNED_V4}\nflush set ${TABLE_FAMILY} ${TABLE_NAME} ${LEARNED_V6}`).ok,
    kernelState,
    async learnedEntries(onSlice) {
      // a reader of its own: another read on the shared one would take its datagrams
      const own = openNetlinkReader();
      // kept as handed (no work per element): needed only if the read breaks off
      const handed: LearnedEntry[][] = [];
      if (!("unavailable" in own)) {
        try {
          const r = await own.learnedAsync((slice) => {
            handed.push(slice);
            onSlice(slice);
          });
          if (r.ok) return true;
        } finally {
          own.close();
        }
      }
      // no netlink, or its read broke off: libnftables' listing, minus what was handed on
      const entries = kernelState({ learned: true })?.learnedEntries;
      if (!entries) return false;
      const seen = new Set(handed.flat().map(canonicalKey));
      const rest = entries.filter((e) => !seen.has(canonicalKey(e)));
      for (let i = 0; i < rest.length; i += LEARNED_SLICE) onSlice(rest.slice(i, i + LEARNED_SLICE));
      return true;
    },
    holdsLearned(family, address) {
      if (reader) {
        const r = reader.hasLearned(family, address);
        if (r.ok) return r.value;
      }
      return kernelState({ learned: true })?.learnedAddresses.includes(address) ?? null;
    },
    deniedFlows() {
      // dns-only has them too: its guard denies DNS that bypasses the proxy. Over netlink:
      // libnftables would fetch every learned element first, once a second
      try {
        const r = reader?.deniedFlows();
        if (r?.ok) return r.value;
        return [...readDeniedFlows(nft.listSetJson(DENIED_V4), 4), ...readDeniedFlows(nft.listSetJson(DENIED_V6), 6)];
      } catch {
        return []; // table gone or unreadable: the self-test reports that
      }
    },
    notes: () => pendingNotes.splice(0),
    cleanup: () => nft.run(renderDelete()),
    close() {
      netlink?.close();
      netlink = null;
      reader?.close();
    },
  };
}

/** an entry's family and address, the address as a number: netlink's and nft's texts of one address may differ */
function canonicalKey(e: LearnedEntry): string {
  return `${e.family} ${parseAddress(e.address)?.value ?? e.address}`;
}
