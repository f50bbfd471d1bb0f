// startDnsProxy: the DNS proxy as one object the serve command can start, reconfigure
// (setDecide, atomically: each query reads the current function once) and stop.
// It binds the listeners, opens the marked upstream sockets, probes down upstreams,
// and hands each packet to the forwarder. Policy and learning come in as functions.
import type { Decide } from "../../core/dns/decide.ts";
import { probeQuery } from "../../core/dns/build.ts";
import { UpstreamHealth } from "../../core/dns/health.ts";
import type { AddressGuard } from "../../core/learn/guard.ts";
import { DEFAULT_BOUNDS, ttlCeiling } from "../../core/learn/bounds.ts";
import type { Upstream } from "../../core/dns/upstreams.ts";
import type { LearnSink } from "../../core/learn/table.ts";
import { DEFAULT_PROXY_PORT, EXEMPT_MARK } from "../../core/ruleset/names.ts";
import { newStats, newTimings, type DnsEvent, type DnsStats, type DnsTimings } from "./events.ts";
import { handleQuery, type ForwarderDeps } from "./forwarder.ts";
import { listenTcp } from "./listen-tcp.ts";
import { listenUdp, type Handler } from "./listen-udp.ts";
import { tcpQuery } from "./upstream-tcp.ts";
import { UdpUpstream } from "./upstream-udp.ts";

export interface DnsProxyOptions {
  /** default 127.0.0.1 and ::1 on DEFAULT_PROXY_PORT */
  listen?: { host: string; port: number }[];
  upstreams: Upstream[];
  decide: Decide;
  /** null: nothing is learned (dns-only, disabled): no guard is checked, no table kept */
  learn: LearnSink | null;
  /** which answered addresses may be learned (guard.ts); default: every address */
  guard?: AddressGuard | null;
  /** the longest TTL an answer is learned for, seconds; default from the default lifetime bound */
  maxTtlSec?: number;
  /** per upstream attempt; default 2000 */
  timeoutMs?: number;
  /** how long the learn sink may take before the answer becomes SERVFAIL; default 2000 */
  learnTimeoutMs?: number;
  /** default 1024 */
  maxInFlight?: number;
  onEvent?: (ev: DnsEvent) => void;
  /** serve --audit: forward what the policy denies, report it as dns.denied with audit: true */
  audit?: boolean;
  /**
   * SO_MARK for upstream sockets, for all or per upstream; default EXEMPT_MARK. null: do
   * not set SO_MARK at all (serve in disabled mode: no redirect to be exempt from, and
   * without CAP_NET_ADMIN and CAP_NET_RAW setting it fails with EPERM; an exempt
   * nameserver: its DNS is let out unmarked).
   */
  mark?: number | null | ((u: Upstream) => number | null);
}

export interface DnsProxy {
  close(): Promise<void>;
  stats(): DnsStats & { upstreams: { upstream: string; up: boolean; failures: number }[]; ignoredAnswers: number };
  /** the latency histograms (live objects: read, never change them) */
  timings(): DnsTimings;
  setDecide(fn: Decide): void;
  /** the addresses actually bound (port 0 resolved) */
  listening: { host: string; port: number; transport: "udp" | "tcp" }[];
}

export const DEFAULT_LISTEN = [
  { host: "127.0.0.1", port: DEFAULT_PROXY_PORT },
  { host: "::1", port: DEFAULT_PROXY_PORT },
];

const PROBE_TICK_MS = 500;

export async function startDnsProxy(opts: DnsProxyOptions): Promise<DnsProxy> {
  if (opts.upstreams.length === 0) throw new Error("dns proxy: no upstream resolver configured");
  const given = opts.mark === undefined ? EXEMPT_MARK : opts.mark;
  const marks = opts.upstreams.map((u) => (typeof given === "function" ? given(u) : given));
  const timeoutMs = opts.timeoutMs ?? 2000;
  const emit = opts.onEvent ?? (() => {});
  const stats = newStats();
  const timings = newTimings();
  const health = new UpstreamHealth(opts.upstreams.length);
  let decide = opts.decide;
  const udp: UdpUpstream[] = [];
  const closers: (() => void)[] = [];
  const listening: DnsProxy["listening"] = [];
  try {
    // the closer first: if a later upstream fails to open, the earlier ones are closed
    closers.push(() => udp.forEach((u) => u.close()));
    for (const [i, u] of opts.upstreams.entries()) udp.push(await UdpUpstream.open(u, marks[i]!));
    const deps: ForwarderDeps = {
      upstreams: opts.upstreams,
      health,
      udp: (i, query, q, w) => udp[i]!.query(query, q, timeoutMs, w),
      tcp: (i, query, q) => tcpQuery(opts.upstreams[i]!, query, q, timeoutMs, marks[i]!),
      learn: opts.learn,
      learnTimeoutMs: opts.learnTimeoutMs ?? 2000,
      guard: opts.guard ?? null,
      maxTtlSec: opts.maxTtlSec ?? ttlCeiling(DEFAULT_BOUNDS),
      audit: opts.audit ?? false,
      maxInFlight: opts.maxInFlight ?? 1024,
      stats,
      timings,
      emit,
      decide: () => decide,
    };
    const handle: Handler = (p, t, c, reply) => handleQuery(deps, p, t, c, reply);
    // Errors reaching here are per-packet or per-connection; the proxy carries on.
    const onError = () => void stats.socketErrors++;
    for (const l of opts.listen ?? DEFAULT_LISTEN) {
      const us = await listenUdp(l.host, l.port, handle, onError);
      closers.push(() => us.close());
      listening.push({ host: l.host, port: us.port, transport: "udp" });
      const ts = listenTcp(l.host, us.port, handle, stats, onError);
      closers.push(() => ts.stop(true));
      listening.push({ host: l.host, port: ts.port, transport: "tcp" });
    }
    const timer = setInterval(() => {
      for (const i of health.dueProbes(Date.now())) {
        udp[i]!.query(probeQuery(), { name: "", qtype: 2, qclass: 1 }, timeoutMs, {
          settled: (a) => {
            const ev = a.ok ? health.succeeded(i) : null;
            if (ev) emit({ type: ev.type, upstream: opts.upstreams[i]!.label });
          },
        });
      }
    }, PROBE_TICK_MS);
    closers.push(() => clearInterval(timer));
  } catch (err) {
    for (const c of closers.reverse()) c();
    throw err;
  }
  return {
    listening,
    setDecide(fn) {
      decide = fn;
    },
    stats() {
      const h = health.snapshot();
      return {
        ...stats,
        upstreams: opts.upstreams.map((u, i) => ({ upstream: u.label, ...h[i]! })),
        ignoredAnswers: udp.reduce((n, u) => n + u.ignored, 0),
      };
    },
    timings: () => timings,
    async close() {
      for (const c of closers.reverse()) c();
    },
  };
}
