// Carries out one decision: local answer, or forward with failover, learn, then answer.
// The order is the security property: the learn sink is awaited BEFORE the answer is
// returned, so a client can never connect to an address the kernel does not yet allow;
// when learning fails or times out the client gets SERVFAIL, never an unenforced answer.
import { learnTtl, withId } from "../../core/dns/answer.ts";
import { localAnswer, RCODE } from "../../core/dns/build.ts";
import { decideQuery, type Decide } from "../../core/dns/decide.ts";
import type { UpstreamHealth } from "../../core/dns/health.ts";
import type { ParsedQuery } from "../../core/dns/query.ts";
import type { Upstream } from "../../core/dns/upstreams.ts";
import type { LearnedAddress } from "../../core/dns/answer.ts";
import type { LearnSink } from "../../core/learn/table.ts";
import type { DnsEvent, DnsStats } from "./events.ts";
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
  /** the rebinding guard; null learns every address */
  shouldLearn: ((a: LearnedAddress) => boolean) | null;
  maxInFlight: number;
  stats: DnsStats;
  emit: (ev: DnsEvent) => void;
  decide: () => Decide;
  /** serve --audit: would-be denials are forwarded (and reported), never learned */
  audit: boolean;
}

/** Returns the bytes to send back to the client, or null to send nothing. */
export async function handleQuery(d: ForwarderDeps, packet: Buffer, transport: "udp" | "tcp", client: string): Promise<Buffer | null> {
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
    return action.response;
  }
  if (action.audited) {
    d.stats.denied++;
    d.emit({ type: "dns.denied", name: action.name, qtype: action.qtype, rule: action.audited, layer: action.decision.layer, client, audit: true });
  }
  const fail = (reason: string) => {
    d.stats.servfail++;
    d.emit({ type: "dns.servfail", name: action.name, client, reason });
    return localAnswer(packet, action.q, RCODE.SERVFAIL);
  };
  // Beyond the bound, SERVFAIL at once: it costs no state, and the client's retry lands
  // when load is lower (dropping would make every client wait for its full timeout).
  if (d.stats.inFlight >= d.maxInFlight) {
    d.stats.overloaded++;
    return fail("too many queries in flight");
  }
  d.stats.inFlight++;
  try {
    d.stats.forwarded++;
    const q: Question = { name: action.name, qtype: action.qtype, qclass: action.qclass };
    const got = await forward(d, action.query, q, transport);
    if (!got) return fail("no upstream answered");
    // an audited name is let through without learning: the audit filter accepts every
    // address anyway, and learning would keep a denied name's addresses open after it
    if (d.learn && !action.audited) {
      const learnFrom = got.full ?? got.sent;
      const all = learnFrom.info.addresses;
      const keep = d.shouldLearn ? all.filter(d.shouldLearn) : all;
      d.stats.learnSkipped += all.length - keep.length;
      if (keep.length > 0) {
        try {
          const pending = d.learn({ name: action.name, addresses: keep, ttl: learnTtl(learnFrom.info.ttl) });
          // nothing returned: the kernel already holds the addresses, answer now
          if (pending) await withTimeout(pending, d.learnTimeoutMs);
          d.stats.learnBatches++;
          d.stats.learnedAddresses += keep.length;
        } catch (e) {
          d.stats.learnFailures++;
          return fail(`learning the answer's addresses failed: ${shortError(e)}`);
        }
      }
    }
    if (!action.audited) d.emit({ type: "dns.allowed", name: action.name, qtype: action.qtype, decision: action.decision, addresses: got.sent.info.addresses, client });
    return withId(pickForClient(got, transport, action.q), action.q.id);
  } finally {
    d.stats.inFlight--;
  }
}

interface Got {
  /** the answer for the client's transport */
  sent: Extract<Attempt, { ok: true }>;
  /** the complete answer over TCP when the UDP one was truncated */
  full?: Extract<Attempt, { ok: true }>;
}

async function forward(d: ForwarderDeps, query: Buffer, q: Question, transport: "udp" | "tcp"): Promise<Got | null> {
  for (const i of d.health.order().slice(0, MAX_ATTEMPTS)) {
    const a = transport === "tcp" ? await d.tcp(i, query, q) : await d.udp(i, query, q);
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
      const full = await d.tcp(i, query, q);
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
