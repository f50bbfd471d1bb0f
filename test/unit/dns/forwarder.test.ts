// The forwarder with fake transports: ordering of learn and answer, failover, TC retry,
// the in-flight bound, and SERVFAIL when learning fails.
import { expect, test } from "bun:test";
import { readAnswer } from "../../../src/core/dns/answer.ts";
import { UpstreamHealth } from "../../../src/core/dns/health.ts";
import { parseUpstreamList } from "../../../src/core/dns/upstreams.ts";
import { newStats, newTimings } from "../../../src/effects/dns/events.ts";
import { type ForwarderDeps, handleQuery } from "../../../src/effects/dns/forwarder.ts";
import type { Attempt, Question } from "../../../src/effects/dns/upstream-types.ts";
import { decider, dnsPacket, ede, query, rule } from "./helpers.ts";
import type { DnsEvent } from "../../../src/effects/dns/events.ts";
import { LearnFullError } from "../../../src/core/learn/bounds.ts";

const LEARN = { learn: true } as const;
const ups = parseUpstreamList("198.51.100.53, 198.51.100.54").upstreams;

function reply(query: Buffer, q: Question, n: number, tc = false): Attempt {
  const id = query.readUInt16BE(0);
  const answers = Array.from({ length: n }, (_, i) => ({ type: "A" as const, name: q.name, data: `10.0.${i >> 8}.${i & 255}`, ttl: 30 }));
  const answer = dnsPacket.encode({ type: "response", id, flags: tc ? dnsPacket.TRUNCATED_RESPONSE : 0, questions: [{ type: "A", name: q.name }], answers });
  return { ok: true, answer, info: readAnswer(answer, { ...q, id })! };
}

/** a fake UDP transport written as a function of the attempt (the real one calls back a waiter) */
type FakeUdp = (i: number, query: Buffer, q: Question) => Promise<Attempt>;

function deps(over: Partial<Omit<ForwarderDeps, "udp">> & { udp?: FakeUdp } = {}): ForwarderDeps & { log: string[] } {
  const log: string[] = [];
  const { udp: fake, ...rest } = over;
  const udp: FakeUdp = fake ?? (async (i, qb, q) => (log.push(`udp${i}`), reply(qb, q, 2)));
  return {
    log,
    upstreams: ups,
    health: new UpstreamHealth(ups.length),
    udp: (i, qb, q, w) => void udp(i, qb, q).then((a) => w.settled(a)),
    tcp: async (i, qb, q) => (log.push(`tcp${i}`), reply(qb, q, 2)),
    learn: async (b) => void log.push(`learn ${b.name} ${b.addresses.length} ttl ${b.ttl}`),
    learnTimeoutMs: 200,
    guard: () => LEARN,
    maxTtlSec: 3540,
    maxInFlight: 10,
    stats: newStats(),
    timings: newTimings(),
    emit: (e) => void log.push(e.type),
    decide: () => decider([rule(0, "allow", "api.example.com")]),
    audit: false,
    ...rest,
  };
}

/** the answer handleQuery replies with, once it has */
function ask(d: ForwarderDeps, packet: Buffer, transport: "udp" | "tcp", client: string): Promise<Buffer | null> {
  return new Promise((resolve) => handleQuery(d, packet, transport, client, resolve));
}

const rcode = (b: Buffer | null) => b![3]! & 0xf;

test("learns once, then answers with the client's ID", async () => {
  const d = deps();
  const out = await ask(d, query("api.example.com", "A", { id: 99 }), "udp", "c");
  expect(out!.readUInt16BE(0)).toBe(99);
  expect(d.log).toEqual(["udp0", "learn api.example.com 2 ttl 60", "dns.allowed"]);
});

test("an allowed answer is reported once, after learning, with its addresses and the deciding rule", async () => {
  const events: any[] = [];
  const d = deps({ emit: (e) => void events.push(e) });
  await ask(d, query("api.example.com"), "udp", "c");
  expect(events).toHaveLength(1);
  expect(events[0]).toMatchObject({ type: "dns.allowed", name: "api.example.com", qtype: 1, client: "c", decision: { action: "allow", layer: "policy", rule: { index: 0 } } });
  expect(events[0].addresses.length).toBeGreaterThan(0);
});

test("a failing or hanging sink gives SERVFAIL", async () => {
  for (const learn of [async () => Promise.reject(new Error("x")), () => new Promise<void>(() => {})]) {
    const d = deps({ learn });
    expect(rcode(await ask(d, query("api.example.com"), "udp", "c"))).toBe(2);
    expect(d.stats.learnFailures).toBe(1);
  }
});

test("failover to the next upstream, down event once", async () => {
  const d = deps({ udp: async (i, qb, q) => (i === 0 ? { ok: false, why: "timeout" } : reply(qb, q, 1)) });
  expect(rcode(await ask(d, query("api.example.com"), "udp", "c"))).toBe(0);
  expect(d.log).toContain("upstream.down");
  expect(d.health.order()).toEqual([1, 0]);
});

test("truncated UDP answer: learned from the TCP retry, client gets what fits", async () => {
  const d = deps({ udp: async (_i, qb, q) => reply(qb, q, 0, true), tcp: async (_i, qb, q) => reply(qb, q, 300) });
  const out = await ask(d, query("api.example.com"), "udp", "c");
  expect(d.stats.learnedAddresses).toBe(300);
  expect(out!.readUInt16BE(2) & 0x0200).toBeTruthy(); // no EDNS: 512 bytes, so the TC answer
});

test("beyond maxInFlight: SERVFAIL at once", async () => {
  const d = deps({ maxInFlight: 0 });
  expect(rcode(await ask(d, query("api.example.com"), "udp", "c"))).toBe(2);
  expect(d.stats.overloaded).toBe(1);
});

test("denied: never reaches a transport or the sink", async () => {
  const d = deps();
  expect(rcode(await ask(d, query("evil.example.com"), "tcp", "c"))).toBe(3);
  expect(d.log).toEqual(["dns.denied"]);
});

test("audit: a would-be denial is reported, forwarded and answered, and never learned", async () => {
  const events: unknown[] = [];
  const d = deps({ audit: true, emit: (e) => void events.push(e) });
  expect(rcode(await ask(d, query("evil.example.com"), "udp", "c"))).toBe(0);
  expect(d.log).toEqual(["udp0"]);
  expect(events).toEqual([{ type: "dns.denied", name: "evil.example.com", qtype: 1, rule: "default deny", layer: "policy", client: "c", audit: true }]);
  expect(d.stats).toMatchObject({ denied: 1, forwarded: 1, learnBatches: 0 });
  // an allowed name is still learned in audit mode
  await ask(d, query("api.example.com"), "udp", "c");
  expect(d.log).toEqual(["udp0", "udp0", "learn api.example.com 2 ttl 60"]);
});

test("a sink returning nothing (the kernel already holds the addresses): answered at once", async () => {
  const d = deps({ learn: (b) => void d.log.push(`learn ${b.name}`) });
  const out = await ask(d, query("api.example.com", "A", { id: 7 }), "udp", "c");
  expect(out!.readUInt16BE(0)).toBe(7);
  expect(d.stats.learnBatches).toBe(1);
  expect(d.log).toEqual(["udp0", "learn api.example.com", "dns.allowed"]);
});

test("a sink that throws: SERVFAIL, with the error's first line as the reason", async () => {
  const events: unknown[] = [];
  const d = deps({
    learn: () => {
      throw new Error("Error: Could not process rule: No buffer space available\nadd element inet egressctl learned4 { ... }");
    },
    emit: (e) => void events.push(e),
  });
  expect(rcode(await ask(d, query("api.example.com"), "udp", "c"))).toBe(2);
  expect(events).toEqual([
    { type: "dns.servfail", name: "api.example.com", client: "c", reason: "learning the answer's addresses failed: Error: Could not process rule: No buffer space available" },
  ]);
});

test("not learning (learn null): no sink, no rebinding guard, answered as is", async () => {
  let guarded = 0;
  const d = deps({ learn: null, guard: () => (guarded++, LEARN) });
  const out = await ask(d, query("api.example.com", "A", { id: 5 }), "udp", "c");
  expect(out!.readUInt16BE(0)).toBe(5);
  expect(guarded).toBe(0);
  expect(d.stats.learnBatches + d.stats.learnSkipped).toBe(0);
});

/** an upstream reply with these records (CNAME chains, private addresses) */
function replyWith(records: dnsPacket.Answer[]) {
  return async (_i: number, qb: Buffer, q: Question): Promise<Attempt> => {
    const id = qb.readUInt16BE(0);
    const answer = dnsPacket.encode({ type: "response", id, questions: [{ type: "A", name: q.name }], answers: records });
    return { ok: true, answer, info: readAnswer(answer, { ...q, id })! };
  };
}
const chainTo = (target: string) =>
  replyWith([
    { type: "CNAME", name: "api.example.com", data: target, ttl: 60 },
    { type: "A", name: target, data: "198.51.100.66", ttl: 60 },
  ]);

test("a CNAME to a name an explicit rule denies: NXDOMAIN with EDE naming the link, nothing learned", async () => {
  const events: DnsEvent[] = [];
  const d = deps({ udp: chainTo("denied.example.com"), decide: () => decider([rule(0, "allow", "api.example.com"), rule(1, "deny", "denied.example.com")]), emit: (e) => void events.push(e) });
  const out = await ask(d, query("api.example.com", "A", { edns: true }), "udp", "c");
  expect(rcode(out)).toBe(3);
  expect(ede(out!)?.text).toBe("blocked by egressctl rule egress[1] deny denied.example.com: denied.example.com is in the CNAME/DNAME chain of api.example.com");
  expect(d.log.filter((l) => l.startsWith("learn"))).toEqual([]);
  expect(events).toEqual([{ type: "dns.denied", name: "api.example.com", qtype: 1, rule: "rule egress[1] deny denied.example.com", layer: "policy", client: "c", link: "denied.example.com", chain: ["api.example.com", "denied.example.com"] }]);
  expect(d.stats).toMatchObject({ denied: 1, chainDenied: 1, learnBatches: 0 });
  // the local NXDOMAIN is an answer like any other in egressctl_dns_answer_seconds
  expect(d.timings.answer.count).toBe(1);
});

test("a CNAME to a name only the default action denies: answered and learned (CDN chains)", async () => {
  const d = deps({ udp: chainTo("edge.cdn.example.org") });
  expect(rcode(await ask(d, query("api.example.com"), "udp", "c"))).toBe(0);
  expect(d.log).toContain("learn api.example.com 1 ttl 60");
  expect(d.stats.chainDenied).toBe(0);
});

test("--audit: the chain denial is reported with audit: true, the answer passes unlearned", async () => {
  const events: DnsEvent[] = [];
  const d = deps({ audit: true, udp: chainTo("denied.example.com"), decide: () => decider([rule(0, "allow", "api.example.com"), rule(1, "deny", "denied.example.com")]), emit: (e) => void events.push(e) });
  const out = await ask(d, query("api.example.com"), "udp", "c");
  expect(rcode(out)).toBe(0);
  expect(dnsPacket.decode(out!).answers?.length).toBe(2);
  // reported as a denial, not also as allowed
  expect(events).toEqual([expect.objectContaining({ type: "dns.denied", link: "denied.example.com", audit: true })]);
  expect(d.log.filter((l) => l.startsWith("learn"))).toEqual([]);
});

test("a chain is judged in dns-only too (learn null): NXDOMAIN", async () => {
  const d = deps({ learn: null, udp: chainTo("denied.example.com"), decide: () => decider([rule(0, "allow", "api.example.com"), rule(1, "deny", "denied.example.com")]) });
  expect(rcode(await ask(d, query("api.example.com"), "udp", "c"))).toBe(3);
});

test("non-public addresses: the answer passes whole, only public ones are learned, one dns.guarded event", async () => {
  const events: DnsEvent[] = [];
  const guard = (a: { address: string }) => (a.address.startsWith("10.") ? ({ learn: false, why: "non-public", reason: "private (RFC 1918)" } as const) : LEARN);
  const d = deps({
    guard,
    emit: (e) => void events.push(e),
    udp: replyWith([
      { type: "A", name: "api.example.com", data: "10.0.0.1", ttl: 60 },
      { type: "A", name: "api.example.com", data: "198.51.100.10", ttl: 60 },
      { type: "A", name: "api.example.com", data: "10.0.0.2", ttl: 60 },
    ]),
  });
  const out = await ask(d, query("api.example.com"), "udp", "c");
  expect(dnsPacket.decode(out!).answers?.map((a) => (a as { data: unknown }).data)).toEqual(["10.0.0.1", "198.51.100.10", "10.0.0.2"]);
  expect(d.log).toContain("learn api.example.com 1 ttl 60");
  expect(events.filter((e) => e.type !== "dns.allowed")).toEqual([{ type: "dns.guarded", name: "api.example.com", client: "c", addresses: [{ address: "10.0.0.1", reason: "private (RFC 1918)" }, { address: "10.0.0.2", reason: "private (RFC 1918)" }] }]);
  expect(d.stats).toMatchObject({ guarded: 2, learnSkipped: 2 });
});

test("a full learned set: SERVFAIL and a learn.full event, not a generic servfail", async () => {
  const events: DnsEvent[] = [];
  const d = deps({ learn: async () => Promise.reject(new LearnFullError(4, 16)), emit: (e) => void events.push(e) });
  expect(rcode(await ask(d, query("api.example.com"), "udp", "c"))).toBe(2);
  expect(events).toEqual([{ type: "learn.full", name: "api.example.com", client: "c", reason: "learned set for IPv4 is full (16 elements): a new address cannot be allowed" }]);
  expect(d.stats).toMatchObject({ learnFull: 1, servfail: 1, learnFailures: 1 });
  expect(d.timings.answer.count).toBe(1);
});

test("what the proxy answers itself is replied before handleQuery returns; a forwarded query later, once", async () => {
  const d = deps({ decide: () => decider([rule(0, "allow", "api.example.com"), rule(1, "deny", "evil.example.com")]) });
  const denied: (Buffer | null)[] = [];
  handleQuery(d, query("evil.example.com"), "udp", "c", (a) => void denied.push(a));
  expect(denied.length).toBe(1);
  expect(rcode(denied[0]!)).toBe(3);
  const forwarded: (Buffer | null)[] = [];
  let settle!: () => void;
  const replied = new Promise<void>((r) => (settle = r));
  handleQuery(d, query("api.example.com"), "udp", "c", (a) => void (forwarded.push(a), settle()));
  expect(forwarded).toEqual([]);
  await replied;
  await Bun.sleep(0); // a second reply would have come in the same turns
  expect(forwarded.length).toBe(1);
  expect(rcode(forwarded[0]!)).toBe(0);
  expect(d.timings.answer.count).toBe(2);
  expect(d.stats.inFlight).toBe(0);
});

test("a step that throws (a bug, not a refusal) answers SERVFAIL, reports it, and frees its place", async () => {
  const events: DnsEvent[] = [];
  let broken = true;
  const d = deps({
    guard: () => {
      if (!broken) return LEARN;
      broken = false;
      throw new Error("guard broke");
    },
    emit: (e) => void events.push(e),
  });
  expect(rcode(await ask(d, query("api.example.com"), "udp", "c"))).toBe(2);
  expect(events).toEqual([{ type: "dns.servfail", name: "api.example.com", client: "c", reason: "internal error: guard broke" }]);
  expect(d.stats).toMatchObject({ servfail: 1, inFlight: 0 });
  // the next query is served as usual
  expect(rcode(await ask(d, query("api.example.com"), "udp", "c"))).toBe(0);
  expect(d.stats).toMatchObject({ servfail: 1, inFlight: 0, learnBatches: 1 });
});

test("the learned TTL is clamped to the lifetime bound", async () => {
  const d = deps({ maxTtlSec: 120, udp: replyWith([{ type: "A", name: "api.example.com", data: "198.51.100.10", ttl: 86_400 }]) });
  await ask(d, query("api.example.com"), "udp", "c");
  expect(d.log).toContain("learn api.example.com 1 ttl 120");
});

test("timings: an answered query is observed once; upstream round trips and learn waits where they happen", async () => {
  const counts = (d: ForwarderDeps) => ({ upstream: d.timings.upstream.count, learnWait: d.timings.learnWait.count, answer: d.timings.answer.count });
  const d = deps();
  await ask(d, query("api.example.com"), "udp", "c");
  expect(counts(d)).toEqual({ upstream: 1, learnWait: 1, answer: 1 });
  // denied: answered locally, nothing forwarded or learned
  await ask(d, query("evil.example.com"), "udp", "c");
  expect(counts(d)).toEqual({ upstream: 1, learnWait: 1, answer: 2 });
  // truncated over UDP: the TCP retry is a second round trip
  const tc = deps({ udp: async (_i, qb, q) => reply(qb, q, 2, true) });
  await ask(tc, query("api.example.com"), "udp", "c");
  expect(counts(tc)).toEqual({ upstream: 2, learnWait: 1, answer: 1 });
  // every upstream failing: no round trip observed, the SERVFAIL is an answer
  const dead = deps({ udp: async () => ({ ok: false, why: "timeout" }) });
  await ask(dead, query("api.example.com"), "udp", "c");
  expect(counts(dead)).toEqual({ upstream: 0, learnWait: 0, answer: 1 });
  // a failed learn is waited for too, then SERVFAIL
  const refused = deps({ learn: async () => Promise.reject(new Error("kernel said no")) });
  await ask(refused, query("api.example.com"), "udp", "c");
  expect(counts(refused)).toEqual({ upstream: 1, learnWait: 1, answer: 1 });
  // a malformed packet is dropped: nothing is answered
  const before = d.timings.answer.count;
  await ask(d, Buffer.from([1, 2, 3]), "udp", "c");
  expect(d.timings.answer.count).toBe(before);
});
