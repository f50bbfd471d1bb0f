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
import type { Upstream } from "../../core/dns/upstreams.ts";
import type { LearnedAddress } from "../../core/dns/answer.ts";
import type { LearnSink } from "../../core/learn/table.ts";
import type { DnsEvent, DnsStats, DnsTimings } from "./events.ts";
import type { Attempt, AttemptWaiter, Question } from "./upstream-types.ts";

/** upstreams tried per query at most: bounds a query's time to 3 x timeout */
export const MAX_ATTEMPTS = 3;

export interface ForwarderDeps {
  upstreams: Upstream[];
  health: UpstreamHealth;
  /** one UDP attempt; its outcome is told to the waiter, exactly once */
  udp: (i: number, query: Buffer, q: Question, w: AttemptWaiter) => void;
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

/** told the bytes to send back to the client, or null to send nothing; called once */
export type Reply = (answer: Buffer | null) => void;

/**
 * Answers one query through `reply`. What the proxy answers itself (a denied name, a
 * malformed query, overload) is replied before this returns; a forwarded query is
 * replied when its answer is judged (and learned). No promise is made on the way of an
 * answered UDP query: the continuation is a Forwarding object the upstream calls back.
 * A promise and an async frame per step were most of the DNS thread's garbage per
 * query, and its young collections are stalls of every answer (docs/benchmarks.md).
 */
export function handleQuery(d: ForwarderDeps, packet: Buffer, transport: "udp" | "tcp", client: string, reply: Reply): void {
  const received = performance.now();
  d.stats.queries++;
  if (transport === "udp") d.stats.udpQueries++;
  else d.stats.tcpQueries++;
  const action = decideQuery(packet, d.decide(), d.audit);
  if (action.kind === "drop") {
    d.stats.dropped++;
    d.emit({ type: "dns.malformed", client, reason: action.reason });
    return reply(null);
  }
  if (action.kind === "answer") {
    if (action.reason === "denied") {
      d.stats.denied++;
      d.emit({ type: "dns.denied", name: action.name, qtype: action.qtype, rule: action.rule, layer: action.layer, client });
    } else {
      d.stats.malformed++;
      d.emit({ type: "dns.malformed", client, reason: action.detail });
    }
    return reply(answered(d, received, action.response));
  }
  if (action.audited) {
    d.stats.denied++;
    d.emit({ type: "dns.denied", name: action.name, qtype: action.qtype, rule: action.audited, layer: action.decision.layer, client, audit: true });
  }
  // Beyond the bound, SERVFAIL at once: it costs no state, and the client's retry lands
  // when load is lower (dropping would make every client wait for its full timeout).
  if (d.stats.inFlight >= d.maxInFlight) {
    d.stats.overloaded++;
    return reply(servfail(d, received, packet, action, client, "too many queries in flight"));
  }
  new Forwarding(d, packet, action, transport, client, received, reply).start();
}

type Forward = Extract<QueryAction, { kind: "forward" }>;
type Answered = Extract<Attempt, { ok: true }>;

/** SERVFAIL for a query the proxy could not answer, reported as dns.servfail */
function servfail(d: ForwarderDeps, received: number, packet: Buffer, action: Forward, client: string, reason: string): Buffer {
  d.stats.servfail++;
  d.emit({ type: "dns.servfail", name: action.name, client, reason });
  return answered(d, received, localAnswer(packet, action.q, RCODE.SERVFAIL));
}

/**
 * One forwarded query, step by step: try the upstreams in order (failover, at most
 * MAX_ATTEMPTS), fetch the whole answer over TCP when the UDP one is truncated, judge its
 * CNAME/DNAME chain, learn its addresses and wait for the kernel, then reply. Each step
 * is a method the previous one's outcome calls; the object is the query's only state.
 */
class Forwarding implements AttemptWaiter {
  private order: readonly number[] = [];
  /** attempts made */
  private k = 0;
  /** the upstream of the current attempt, and when its query left */
  private upstream = -1;
  private sentAt = 0;
  /** the answer for the client's transport, and the whole one over TCP when it was truncated */
  private sent: Answered | null = null;
  private full: Answered | null = null;
  /** audit: a name of the chain would have denied the answer (reported, not learned) */
  private chainAudited = false;
  /** when the learn started, and how many addresses it writes */
  private learningAt = 0;
  private learning = 0;
  private done = false;

  constructor(
    private readonly d: ForwarderDeps,
    private readonly packet: Buffer,
    private readonly action: Forward,
    private readonly transport: "udp" | "tcp",
    private readonly client: string,
    private readonly received: number,
    private readonly reply: Reply,
  ) {}

  start(): void {
    this.d.stats.inFlight++;
    this.d.stats.forwarded++;
    this.order = this.d.health.order();
    try {
      this.attempt();
    } catch (e) {
      this.failed(e);
    }
  }

  /** the outcome of the current attempt (AttemptWaiter: the UDP upstream calls it) */
  settled(a: Attempt): void {
    try {
      this.attempted(a);
    } catch (e) {
      this.failed(e);
    }
  }

  /** the next upstream in order; SERVFAIL when none is left */
  private attempt(): void {
    const d = this.d;
    if (this.k >= this.order.length || this.k >= MAX_ATTEMPTS) return this.finish(servfail(d, this.received, this.packet, this.action, this.client, "no upstream answered"));
    const i = (this.upstream = this.order[this.k++]!);
    this.sentAt = performance.now();
    if (this.transport === "udp") return d.udp(i, this.action.query, this.action, this);
    d.tcp(i, this.action.query, this.action).then(
      (a) => this.settled(a),
      (e) => this.failed(e),
    );
  }

  private attempted(a: Attempt): void {
    const d = this.d;
    const i = this.upstream;
    if (!a.ok) {
      if (a.why === "timeout") d.stats.upstreamTimeouts++;
      else d.stats.upstreamErrors++;
      const ev = d.health.failed(i, Date.now());
      if (ev) d.emit({ type: ev.type, upstream: d.upstreams[i]!.label });
      return this.attempt();
    }
    d.timings.upstream.observe((performance.now() - this.sentAt) / 1000);
    const ev = d.health.succeeded(i);
    if (ev) d.emit({ type: ev.type, upstream: d.upstreams[i]!.label });
    this.sent = a;
    if (this.transport === "udp" && a.info.truncated) {
      // Learn from the whole answer: the client will retry over TCP, but only after it
      // got the truncated one, and every address in it must be reachable by then.
      d.stats.tcpRetries++;
      const again = performance.now();
      d.tcp(i, this.action.query, this.action).then(
        (full) => {
          if (full.ok) d.timings.upstream.observe((performance.now() - again) / 1000);
          if (full.ok) this.full = full;
          this.safely(() => this.judge());
        },
        (e) => this.failed(e),
      );
      return;
    }
    this.judge();
  }

  /** judge the answer's chain, then learn its addresses (or not) before answering */
  private judge(): void {
    const { d, action } = this;
    const sent = this.sent!;
    const learnFrom = this.full ?? sent;
    // A chain through a name an explicit rule denies denies the whole answer (chain.ts);
    // only answers that have a chain pay for this. Already-audited names were reported.
    let learnIt = d.learn !== null && !action.audited;
    if (!action.audited && (learnFrom.info.chain || sent.info.chain)) {
      const denial = chainDenial(learnFrom.info, d.decide()) ?? (this.full ? chainDenial(sent.info, d.decide()) : null);
      if (denial) {
        d.stats.denied++;
        d.stats.chainDenied++;
        d.emit({ type: "dns.denied", name: action.name, qtype: action.qtype, rule: denial.rule, layer: denial.decision.layer, client: this.client, link: denial.link, chain: denial.chain, ...(d.audit ? { audit: true as const } : {}) });
        if (!d.audit) return this.finish(answered(d, this.received, localAnswer(this.packet, action.q, RCODE.NXDOMAIN, chainEde(denial, action.name))));
        learnIt = false; // audit: the answer passes, as for a denied name, unlearned
        this.chainAudited = true;
      }
    }
    // an audited name is let through without learning: the audit filter accepts every
    // address anyway, and learning would keep a denied name's addresses open after it
    const keep = learnIt ? this.learnable(learnFrom.info.addresses) : NONE;
    if (keep.length === 0) return this.deliver();
    this.learningAt = performance.now();
    this.learning = keep.length;
    let pending: Promise<void> | void;
    try {
      pending = d.learn!({ name: action.name, addresses: keep, ttl: learnTtl(learnFrom.info.ttl, d.maxTtlSec) });
    } catch (e) {
      return this.learnFailed(e);
    }
    // nothing returned: the kernel already holds the addresses, answer now
    if (!pending) return this.learnt();
    withTimeout(pending, d.learnTimeoutMs).then(
      () => this.safely(() => this.learnt()),
      (e) => this.safely(() => this.learnFailed(e)),
    );
  }

  /** the addresses the guard lets be learned (all of them, as the same array, when none is refused) */
  private learnable(all: readonly LearnedAddress[]): readonly LearnedAddress[] {
    return this.d.guard ? guarded(this.d, all, this.action.name, this.client) : all;
  }

  private learnt(): void {
    const d = this.d;
    d.timings.learnWait.observe((performance.now() - this.learningAt) / 1000);
    d.stats.learnBatches++;
    d.stats.learnedAddresses += this.learning;
    this.deliver();
  }

  private learnFailed(e: unknown): void {
    const { d, action } = this;
    d.timings.learnWait.observe((performance.now() - this.learningAt) / 1000);
    d.stats.learnFailures++;
    if (isLearnFull(e)) {
      d.stats.learnFull++;
      d.stats.servfail++;
      d.emit({ type: "learn.full", name: action.name, client: this.client, reason: shortError(e) });
      return this.finish(answered(d, this.received, localAnswer(this.packet, action.q, RCODE.SERVFAIL)));
    }
    this.finish(servfail(d, this.received, this.packet, action, this.client, `learning the answer's addresses failed: ${shortError(e)}`));
  }

  private deliver(): void {
    const { d, action } = this;
    const sent = this.sent!;
    // a would-be denial (by name or by chain) was reported as dns.denied, not allowed
    if (!action.audited && !this.chainAudited) d.emit({ type: "dns.allowed", name: action.name, qtype: action.qtype, decision: action.decision, addresses: sent.info.addresses, client: this.client });
    this.finish(answered(d, this.received, setId(this.forClient(), action.q.id)));
  }

  /** A UDP client gets the full TCP answer only if it fits what the client can receive. */
  private forClient(): Buffer {
    const { sent, full, action } = this;
    if (this.transport === "tcp" || !full) return sent!.answer;
    const limit = action.q.edns ? Math.min(action.q.edns.udpSize, 65_507) : 512; // 65507: IPv4 UDP payload max
    return full.answer.length <= limit ? full.answer : sent!.answer;
  }

  private finish(answer: Buffer | null): void {
    if (this.done) return;
    this.done = true;
    this.d.stats.inFlight--;
    this.reply(answer);
  }

  /** runs a step of the slow paths (TCP, a kernel write); one that throws answers SERVFAIL */
  private safely(step: () => void): void {
    try {
      step();
    } catch (e) {
      this.failed(e);
    }
  }

  /** a step threw (a bug, not a refusal): SERVFAIL, reported with the error */
  private failed(e: unknown): void {
    if (this.done) return;
    let answer: Buffer | null = null;
    try {
      answer = servfail(this.d, this.received, this.packet, this.action, this.client, `internal error: ${shortError(e)}`);
    } catch {
      // no answer at all: the client's own timeout and retry
    }
    this.finish(answer);
  }
}

const NONE: readonly LearnedAddress[] = [];

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

/** the answer to send, its time since the query was received observed */
function answered(d: ForwarderDeps, received: number, answer: Buffer): Buffer {
  d.timings.answer.observe((performance.now() - received) / 1000);
  return answer;
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
