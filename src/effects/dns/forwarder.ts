// Carries out one decision: local answer, or forward with failover, learn, then answer.
// The order is the security property: the learn sink is awaited BEFORE the answer is
// returned, so a client can never connect to an address the kernel does not yet allow;
// when learning fails or times out the client gets SERVFAIL, never an unenforced answer.
import { learnTtl, setId, type AnswerInfo } from "../../core/dns/answer.ts";
import { localAnswer, RCODE } from "../../core/dns/build.ts";
import { chainEde, judgeChain, type ChainDenial } from "../../core/dns/chain.ts";
import { decideQuery, type Decide, type QueryAction } from "../../core/dns/decide.ts";
import type { AddressGuard } from "../../core/learn/guard.ts";
import { isLearnFull } from "../../core/learn/bounds.ts";
import type { UpstreamHealth } from "../../core/dns/health.ts";
import type { ParsedQuery } from "../../core/dns/query.ts";
import type { Upstream } from "../../core/dns/upstreams.ts";
import type { LearnedAddress } from "../../core/dns/answer.ts";
import type { LearnSink } from "../../core/learn/table.ts";
import type { DnsEvent, DnsStats, DnsTimings } from "./events.ts";
import type { Attempt, Question } from "./upstream-types.ts";

/** upstreams tried per query at most: bounds a query's time to 3 x timeout */
export const MAX_ATTEMPTS = 3;

export interface ForwarderDeps {
  upstreams: Upstream[];
  health: UpstreamHealth;
  udp: (i: number, query: Buffer, q: Question) => Promise<Attempt>;
  tcp: (i: number, query: Buffer, q: Question) => Promise<Attempt>;
  /** null: nothing is learned (dns-only, disabled), and nothing is checked for it */
  learn: LearnSink | null;
  learnTimeoutMs: number;
  /** which answered addresses may be learned (deny rules, non-public addresses); null: all */
  guard: AddressGuard | null;
  /** the longest lifetime of a learned element, seconds (answers' TTLs are clamped below it) */
  maxTtlSec: number;
  maxInFlight: number;
  stats: DnsStats;
  /** histograms (seconds); observing costs two clock reads and no allocation */
  timings: DnsTimings;
  emit: (ev: DnsEvent) => void;
  decide: () => Decide;
  /** serve --audit: would-be denials are forwarded (and reported), never learned */
  audit: boolean;
}

/**
 * Returns the bytes to send back to the client, or null to send nothing. What the proxy
 * answers itself (a denied name, a malformed query, overload) comes back at once, without
 * a promise; a forwarded query's answer comes back as a promise. Denied names are the
 * queries a misbehaving program repeats fastest, and a promise per query is a measurable
 * part of the DNS thread's cost (docs/benchmarks.md).
 */
export function handleQuery(d: ForwarderDeps, packet: Buffer, transport: "udp" | "tcp", client: string): Buffer | null | Promise<Buffer | null> {
  const received = performance.now();
  d.stats.queries++;
  if (transport === "udp") d.stats.udpQueries++;
  else d.stats.tcpQueries++;
  const action = decideQuery(packet, d.decide(), d.audit);
  if (action.kind === "drop") {
    d.stats.dropped++;
    d.emit({ type: "dns.malformed", client, reason: action.reason });
    return null;
  }
  if (action.kind === "answer") {
    if (action.reason === "denied") {
      d.stats.denied++;
      d.emit({ type: "dns.denied", name: action.name, qtype: action.qtype, rule: action.rule, layer: action.layer, client });
    } else {
      d.stats.malformed++;
      d.emit({ type: "dns.malformed", client, reason: action.detail });
    }
    return answered(d, received, action.response);
  }
  if (action.audited) {
    d.stats.denied++;
    d.emit({ type: "dns.denied", name: action.name, qtype: action.qtype, rule: action.audited, layer: action.decision.layer, client, audit: true });
  }
  // Beyond the bound, SERVFAIL at once: it costs no state, and the client's retry lands
  // when load is lower (dropping would make every client wait for its full timeout).
  if (d.stats.inFlight >= d.maxInFlight) {
    d.stats.overloaded++;
    return servfail(d, received, packet, action, client, "too many queries in flight");
  }
  return forwardAndAnswer(d, packet, action, transport, client, received);
}

type Forward = Extract<QueryAction, { kind: "forward" }>;

/** SERVFAIL for a query the proxy could not answer, reported as dns.servfail */
function servfail(d: ForwarderDeps, received: number, packet: Buffer, action: Forward, client: string, reason: string): Buffer {
  d.stats.servfail++;
  d.emit({ type: "dns.servfail", name: action.name, client, reason });
  return answered(d, received, localAnswer(packet, action.q, RCODE.SERVFAIL));
}

/** forward with failover, judge the answer's chain, learn its addresses, then answer */
async function forwardAndAnswer(d: ForwarderDeps, packet: Buffer, action: Forward, transport: "udp" | "tcp", client: string, received: number): Promise<Buffer | null> {
  d.stats.inFlight++;
  try {
    d.stats.forwarded++;
    const got = await forward(d, action.query, action, transport);
    if (!got) return servfail(d, received, packet, action, client, "no upstream answered");
    const learnFrom = got.full ?? got.sent;
    // A chain through a name an explicit rule denies denies the whole answer (chain.ts);
    // only answers that have a chain pay for this. Already-audited names were reported.
    let learnIt = d.learn !== null && !action.audited;
    let chainAudited = false;
    if (!action.audited && (learnFrom.info.chain || got.sent.info.chain)) {
      const denial = chainDenial(learnFrom.info, d.decide()) ?? (got.full ? chainDenial(got.sent.info, d.decide()) : null);
      if (denial) {
        d.stats.denied++;
        d.stats.chainDenied++;
        d.emit({ type: "dns.denied", name: action.name, qtype: action.qtype, rule: denial.rule, layer: denial.decision.layer, client, link: denial.link, chain: denial.chain, ...(d.audit ? { audit: true as const } : {}) });
        if (!d.audit) return answered(d, received, localAnswer(packet, action.q, RCODE.NXDOMAIN, chainEde(denial, action.name)));
        learnIt = false; // audit: the answer passes, as for a denied name, unlearned
        chainAudited = true;
      }
    }
    // an audited name is let through without learning: the audit filter accepts every
    // address anyway, and learning would keep a denied name's addresses open after it
    if (learnIt) {
      const all = learnFrom.info.addresses;
      const keep = d.guard ? guarded(d, all, action.name, client) : all;
      if (keep.length > 0) {
        const learning = performance.now();
        try {
          const pending = d.learn!({ name: action.name, addresses: keep, ttl: learnTtl(learnFrom.info.ttl, d.maxTtlSec) });
          // nothing returned: the kernel already holds the addresses, answer now
          if (pending) await withTimeout(pending, d.learnTimeoutMs);
          d.timings.learnWait.observe((performance.now() - learning) / 1000);
          d.stats.learnBatches++;
          d.stats.learnedAddresses += keep.length;
        } catch (e) {
          d.timings.learnWait.observe((performance.now() - learning) / 1000);
          d.stats.learnFailures++;
          if (isLearnFull(e)) {
            d.stats.learnFull++;
            d.stats.servfail++;
            d.emit({ type: "learn.full", name: action.name, client, reason: shortError(e) });
            return answered(d, received, localAnswer(packet, action.q, RCODE.SERVFAIL));
          }
          return servfail(d, received, packet, action, client, `learning the answer's addresses failed: ${shortError(e)}`);
        }
      }
    }
    // a would-be denial (by name or by chain) was reported as dns.denied, not allowed
    if (!action.audited && !chainAudited) d.emit({ type: "dns.allowed", name: action.name, qtype: action.qtype, decision: action.decision, addresses: got.sent.info.addresses, client });
    return answered(d, received, setId(pickForClient(got, transport, action.q), action.q.id));
  } finally {
    d.stats.inFlight--;
  }
}

function chainDenial(info: AnswerInfo, decide: Decide): ChainDenial | null {
  return info.chain ? judgeChain(info.chain, decide) : null;
}

/**
 * The addresses the guard lets be learned. Almost always all of them: then the same array
 * comes back and nothing is allocated. Non-public ones are reported (dns.guarded, one
 * event per answer); those an explicit deny rule covers are only counted, as before.
 */
function guarded(d: ForwarderDeps, all: readonly LearnedAddress[], name: string, client: string): readonly LearnedAddress[] {
  let keep: LearnedAddress[] | null = null;
  let reported: { address: string; reason: string }[] | null = null;
  for (let i = 0; i < all.length; i++) {
    const a = all[i]!;
    const v = d.guard!(a, name);
    if (v.learn) {
      keep?.push(a);
      continue;
    }
    keep ??= all.slice(0, i);
    d.stats.learnSkipped++;
    if (v.why === "non-public") {
      d.stats.guarded++;
      (reported ??= []).push({ address: a.address, reason: v.reason });
    }
  }
  if (reported) d.emit({ type: "dns.guarded", name, client, addresses: reported, ...(d.audit ? { audit: true as const } : {}) });
  return keep ?? all;
}

interface Got {
  /** the answer for the client's transport */
  sent: Extract<Attempt, { ok: true }>;
  /** the complete answer over TCP when the UDP one was truncated */
  full?: Extract<Attempt, { ok: true }>;
}

/** the answer to send, its time since the query was received observed */
function answered(d: ForwarderDeps, received: number, answer: Buffer): Buffer {
  d.timings.answer.observe((performance.now() - received) / 1000);
  return answer;
}

async function forward(d: ForwarderDeps, query: Buffer, q: Question, transport: "udp" | "tcp"): Promise<Got | null> {
  const order = d.health.order();
  for (let k = 0; k < order.length && k < MAX_ATTEMPTS; k++) {
    const i = order[k]!;
    const sent = performance.now();
    const a = transport === "tcp" ? await d.tcp(i, query, q) : await d.udp(i, query, q);
    if (a.ok) d.timings.upstream.observe((performance.now() - sent) / 1000);
    if (!a.ok) {
      if (a.why === "timeout") d.stats.upstreamTimeouts++;
      else d.stats.upstreamErrors++;
      const ev = d.health.failed(i, Date.now());
      if (ev) d.emit({ type: ev.type, upstream: d.upstreams[i]!.label });
      continue;
    }
    const ev = d.health.succeeded(i);
    if (ev) d.emit({ type: ev.type, upstream: d.upstreams[i]!.label });
    if (transport === "udp" && a.info.truncated) {
      // Learn from the whole answer: the client will retry over TCP, but only after it
      // got the truncated one, and every address in it must be reachable by then.
      d.stats.tcpRetries++;
      const again = performance.now();
      const full = await d.tcp(i, query, q);
      if (full.ok) d.timings.upstream.observe((performance.now() - again) / 1000);
      return full.ok ? { sent: a, full } : { sent: a };
    }
    return { sent: a };
  }
  return null;
}

/** A UDP client gets the full TCP answer only if it fits what the client can receive. */
function pickForClient(got: Got, transport: "udp" | "tcp", q: ParsedQuery): Buffer {
  if (transport === "tcp" || !got.full) return got.sent.answer;
  const limit = q.edns ? Math.min(q.edns.udpSize, 65_507) : 512; // 65507: IPv4 UDP payload max
  return got.full.answer.length <= limit ? got.full.answer : got.sent.answer;
}

/** the first line of an error, at most 160 characters, for the dns.servfail event */
export function shortError(e: unknown): string {
  const text = (e instanceof Error ? e.message : String(e)).trim().split("\n")[0]!.trim();
  return text.length > 160 ? `${text.slice(0, 157)}...` : text || "unknown error";
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer from the kernel writer within ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e) => (clearTimeout(t), reject(e)),
    );
  });
}
