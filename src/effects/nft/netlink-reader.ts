// Reads the learned sets and the named counters of table inet egressctl over netlink
// (src/core/ruleset/netlink-dump.ts builds and parses the messages), instead of
// libnftables' listing, which fetches every element of the table first: with full
// learned sets that took seconds per read, at start (adoption) and at every self-test
// and /status (docs/benchmarks.md "Adopting full learned sets").
//
// A dump is a series of datagrams, each one recv. `learnedAsync` gives the event loop
// a turn between them, so a long read (a full set at start) never holds DNS up; it must
// have its reader to itself (`openNetlinkReader()` once more), since another dump on
// the same socket in between would take its datagrams.
import { DUMP_TYPES, counterDumpRequest, dumpChunk, elementRequest, parseCounter, parseSetElems, setDumpRequest, type DumpedCounter, type DumpedElement } from "../../core/ruleset/netlink-dump.ts";
import { Errno, errnoText } from "../../core/errors/errno.ts";
import { addressKey } from "../../core/ruleset/netlink-elements.ts";
import { DENIED_V4, DENIED_V6, LEARNED_V4, LEARNED_V6, UPSTREAMS_V4, UPSTREAMS_V6 } from "../../core/ruleset/names.ts";
import { deniedFlowOfKey, type DeniedFlow } from "../../core/events/net-denied.ts";
import { recordedUpstreams, type RecordedElement, type RecordedUpstreams } from "../../core/ruleset/upstream-record.ts";
import type { LearnedEntry } from "../../core/status/kernel-state.ts";
import { openNetlinkSocket, recvFailure, type NetlinkSocket } from "./netlink-socket.ts";

const { ENOENT } = Errno;

/** a failure's errno: the kernel's, recv's, or ETIMEDOUT when no answer came; null: none */
export type ReadResult<T> = { ok: true; value: T; absent: boolean } | { ok: false; error: string; errno: number | null };

export interface NetlinkReader {
  /** the elements of learned4 and learned6 (absent: the table or a set does not exist) */
  learned(): ReadResult<LearnedEntry[]>;
  /**
   * The same, with a turn of the event loop between datagrams, handed to `onSlice` as
   * they are read: every `LEARNED_SLICE` or so and once at the end, each entry once
   * (those read before a failure too), so a caller can work on them while the rest is
   * read.
   */
  learnedAsync(onSlice: (entries: LearnedEntry[]) => void): Promise<ReadResult<null>>;
  /** the table's named counters */
  counters(): ReadResult<DumpedCounter[]>;
  /** the upstreams recorded in upstreams4 and upstreams6 (null: none recorded) */
  upstreams(): ReadResult<RecordedUpstreams | null>;
  /** the flows in the denied-flow sets (net.denied), both families */
  deniedFlows(): ReadResult<DeniedFlow[]>;
  /** whether a learned set holds `address` (one element asked for, not the set read) */
  hasLearned(family: 4 | 6, address: string): ReadResult<boolean>;
  close(): void;
}

/** one dump, one datagram per step; the last step's value is the result */
type Steps<T> = Generator<void, ReadResult<T>, void>;

function runSync<T>(steps: Steps<T>): ReadResult<T> {
  for (;;) {
    const s = steps.next();
    if (s.done) return s.value;
  }
}

async function runAsync<T>(steps: Steps<T>, afterStep?: () => void): Promise<ReadResult<T>> {
  for (;;) {
    const s = steps.next();
    if (s.done) return s.value;
    afterStep?.();
    await new Promise<void>((r) => setImmediate(r));
  }
}

/** entries handed on together by `learnedAsync`: a few milliseconds of adoption's work each */
export const LEARNED_SLICE = 2048;

export function openNetlinkReader(): NetlinkReader | { unavailable: string } {
  const opened = openNetlinkSocket(1 << 20);
  if ("unavailable" in opened) return opened;
  const sock: NetlinkSocket = opened;
  let seq = (Date.now() & 0x3fffffff) >>> 0;
  function* dump<T>(request: (seq: number) => Uint8Array, type: number, take: (buf: Uint8Array, at: number, len: number) => void, done: () => T): Steps<T> {
    if (!sock.open) return { ok: false, error: "netlink reader is closed", errno: null };
    const s = (seq = (seq + 1) >>> 0);
    sock.drain(); // anything queued from an earlier, abandoned dump goes first
    const sent = sock.send(request(s));
    if (sent) return { ok: false, ...sent };
    for (;;) {
      const n = sock.recv();
      if (n < 0) return { ok: false, ...recvFailure(n) };
      const chunk = dumpChunk(sock.rx.subarray(0, n), s);
      for (const m of chunk.messages) if (m.type === type) take(sock.rx, m.at, m.len);
      if (chunk.error !== null) {
        if (-chunk.error === ENOENT) return { ok: true, value: done(), absent: true };
        return { ok: false, error: `netlink dump: ${errnoText(chunk.error)}`, errno: Math.abs(chunk.error) };
      }
      if (chunk.done) return { ok: true, value: done(), absent: false };
      yield;
    }
  }
  const set = (name: string, keys = false): Steps<DumpedElement[]> => {
    const out: DumpedElement[] = [];
    return dump((s) => setDumpRequest(name, s), DUMP_TYPES.setElems, (b, at, len) => parseSetElems(b, at, len, out, keys), () => out);
  };
  function* denied(): Steps<DeniedFlow[]> {
    const flows: DeniedFlow[] = [];
    let absent = false;
    for (const [family, name] of [[4, DENIED_V4], [6, DENIED_V6]] as const) {
      const r = yield* set(name, true);
      if (!r.ok) return r;
      absent ||= r.absent;
      for (const e of r.value) {
        const f = e.key ? deniedFlowOfKey(family, e.key, e.expiresMs) : null;
        if (f) flows.push(f);
      }
    }
    return { ok: true, value: flows, absent };
  }
  /** each element to `sink` as its datagram is read (nothing kept here: a full set is large) */
  function* learned(sink: (e: LearnedEntry) => void): Steps<null> {
    let absent = false;
    const els: DumpedElement[] = [];
    for (const [family, name] of [[4, LEARNED_V4], [6, LEARNED_V6]] as const) {
      const r = yield* dump((s) => setDumpRequest(name, s), DUMP_TYPES.setElems, (b, at, len) => {
        parseSetElems(b, at, len, els);
        for (const e of els) sink({ family, address: e.address, name: e.comment, expiresSec: e.expiresMs / 1000 });
        els.length = 0;
      }, () => null);
      if (!r.ok) return r;
      absent ||= r.absent;
    }
    return { ok: true, value: null, absent };
  }
  function* upstreams(): Steps<RecordedUpstreams | null> {
    const found: RecordedElement[] = [];
    let absent = false;
    for (const [family, name] of [[4, UPSTREAMS_V4], [6, UPSTREAMS_V6]] as const) {
      const r = yield* set(name);
      if (!r.ok) return r;
      absent ||= r.absent;
      for (const e of r.value) if (e.port !== undefined) found.push({ family, address: e.address, port: e.port, comment: e.comment });
    }
    return { ok: true, value: recordedUpstreams(found), absent };
  }
  return {
    upstreams: () => runSync(upstreams()),
    learned() {
      const entries: LearnedEntry[] = [];
      const r = runSync(learned((e) => entries.push(e)));
      return r.ok ? { ...r, value: entries } : r;
    },
    async learnedAsync(onSlice) {
      let pending: LearnedEntry[] = [];
      const pass = (least: number) => {
        if (pending.length < least) return;
        onSlice(pending);
        pending = [];
      };
      const r = await runAsync(learned((e) => pending.push(e)), () => pass(LEARNED_SLICE));
      pass(1); // what was read, also when the read then broke off
      return r;
    },
    deniedFlows: () => runSync(denied()),
    hasLearned(family, address) {
      let key: Uint8Array;
      try {
        key = addressKey(family, address);
      } catch (e) {
        return { ok: false, error: (e as Error).message, errno: null };
      }
      const found: DumpedElement[] = [];
      const r = runSync(dump((s) => elementRequest(family === 4 ? LEARNED_V4 : LEARNED_V6, key, s), DUMP_TYPES.setElems, (b, at, len) => parseSetElems(b, at, len, found), () => found.length > 0));
      // ENOENT: no such element (or no such set): not held
      return r.ok ? { ok: true, value: r.value && !r.absent, absent: r.absent } : r;
    },
    counters() {
      const out: DumpedCounter[] = [];
      return runSync(dump(counterDumpRequest, DUMP_TYPES.obj, (b, at, len) => {
        const c = parseCounter(b, at, len);
        if (c) out.push(c);
      }, () => out));
    },
    close: () => sock.close(),
  };
}

/** One read of the learned sets, for tools and benchmarks. */
export function readLearnedSets(): { ok: true; entries: LearnedEntry[] } | { ok: false; error: string } {
  const r = openNetlinkReader();
  if ("unavailable" in r) return { ok: false, error: r.unavailable };
  try {
    const l = r.learned();
    return l.ok ? { ok: true, entries: l.value } : l;
  } finally {
    r.close();
  }
}
