// Reading an upstream's answer: does it answer our outstanding query (the spoofing
// guard), and which addresses does it carry for the query name (what gets learned).
// Pure; a malformed answer is reported as null and the caller ignores it.
import { LEARN_TTL_MAX, LEARN_TTL_MIN } from "../ruleset/names.ts";
import type { Family } from "../net/ip.ts";
import { CLASS_IN, HEADER_LEN, TYPE_A, TYPE_AAAA, TYPE_CNAME, readName, readRecord, u16 } from "./wire.ts";

export interface Expect {
  id: number;
  name: string; // comparable text (wire.ts)
  qtype: number;
  qclass: number;
}

export interface LearnedAddress {
  family: Family;
  address: string;
}

export interface AnswerInfo {
  truncated: boolean;
  rcode: number;
  /** every A/AAAA in the answer section owned by the query name or a CNAME target from it */
  addresses: LearnedAddress[];
  /** longest TTL among those records (raw, unclamped); 0 when there are none */
  ttl: number;
}

/** CNAME chains longer than this are not followed (resolvers stop well before) */
const MAX_CHAIN = 16;

/**
 * Checks that `buf` is a response to exactly `expect` (ID, and question name, type and
 * class) and reads its answer section. Anything else, or anything malformed, is null.
 */
export function readAnswer(buf: Uint8Array, expect: Expect): AnswerInfo | null {
  if (buf.length < HEADER_LEN) return null;
  const flags = u16(buf, 2);
  if (!(flags & 0x8000) || u16(buf, 0) !== expect.id || u16(buf, 4) !== 1) return null;
  const qn = readName(buf, HEADER_LEN);
  if (!qn || qn.compressed || qn.end + 4 > buf.length) return null;
  if (qn.name !== expect.name || u16(buf, qn.end) !== expect.qtype || u16(buf, qn.end + 2) !== expect.qclass) return null;
  const ancount = u16(buf, 6);
  let off = qn.end + 4;
  const cnames = new Map<string, string>();
  const addrs: { owner: string; family: Family; address: string; ttl: number }[] = [];
  for (let i = 0; i < ancount; i++) {
    const r = readRecord(buf, off);
    if (!r) return null;
    off = r.end;
    if (r.klass !== CLASS_IN) continue;
    const len = r.rdEnd - r.rdStart;
    // RFC 2181 8: a TTL with the top bit set is treated as zero
    const ttl = r.ttl > 0x7fffffff ? 0 : r.ttl;
    if (r.type === TYPE_A && len === 4) {
      addrs.push({ owner: r.owner.name, family: 4, address: `${buf[r.rdStart]}.${buf[r.rdStart + 1]}.${buf[r.rdStart + 2]}.${buf[r.rdStart + 3]}`, ttl });
    } else if (r.type === TYPE_AAAA && len === 16) {
      addrs.push({ owner: r.owner.name, family: 6, address: formatV6(buf, r.rdStart), ttl });
    } else if (r.type === TYPE_CNAME) {
      const target = readName(buf, r.rdStart);
      if (!target || target.end !== r.rdEnd) return null;
      if (!cnames.has(r.owner.name)) cnames.set(r.owner.name, target.name);
    }
  }
  // One response, one decision: the chain is followed from the name the policy allowed.
  const chain = new Set<string>([expect.name]);
  let at = expect.name;
  for (let hops = 0; hops < MAX_CHAIN; hops++) {
    const next = cnames.get(at);
    if (next === undefined || chain.has(next)) break;
    chain.add(next);
    at = next;
  }
  const seen = new Set<string>();
  const addresses: LearnedAddress[] = [];
  let maxTtl = 0;
  for (const a of addrs) {
    if (!chain.has(a.owner) || seen.has(a.address)) continue;
    seen.add(a.address);
    addresses.push({ family: a.family, address: a.address });
    if (a.ttl > maxTtl) maxTtl = a.ttl;
  }
  return { truncated: (flags & 0x0200) !== 0, rcode: flags & 0xf, addresses, ttl: maxTtl };
}

/**
 * The 16 bytes at `off` as RFC 5952 text, exactly as formatAddress(6, ...) writes it
 * (the longest run of two or more zero groups compressed, the first on ties; IPv4-mapped
 * addresses with a dotted tail), without a BigInt per address.
 */
export function formatV6(buf: Uint8Array, off: number): string {
  if (u16(buf, off) === 0 && u16(buf, off + 2) === 0 && u16(buf, off + 4) === 0 && u16(buf, off + 6) === 0 && u16(buf, off + 8) === 0 && u16(buf, off + 10) === 0xffff) {
    return `::ffff:${buf[off + 12]}.${buf[off + 13]}.${buf[off + 14]}.${buf[off + 15]}`;
  }
  let full = u16(buf, off).toString(16);
  for (let i = 2; i < 16; i += 2) full += `:${u16(buf, off + i).toString(16)}`;
  let at = -1;
  let len = 0;
  let zeros = 0;
  for (const m of full.matchAll(ZERO_RUN)) {
    const t = m[0];
    const n = (t.length - (t[0] === ":" ? 1 : 0) - (t.endsWith(":") ? 1 : 0) + 1) / 2;
    if (n > zeros) {
      at = m.index;
      len = t.length;
      zeros = n;
    }
  }
  return at < 0 ? full : `${full.slice(0, at)}::${full.slice(at + len)}`;
}

/** two or more zero groups with the colons around them */
const ZERO_RUN = /(?:^|:)0(?::0)+(?::|$)/g;

/**
 * The lifetime of a learned element. The longest record TTL, because every record of
 * the answer may sit in the client's cache that long and must stay reachable meanwhile.
 * At least LEARN_TTL_MIN: a 0- or 1-second TTL would let the element expire between the
 * answer and the client's connect. At most LEARN_TTL_MAX: a stale address (the name
 * moved, the policy changed and prune missed it) stays open for a bounded time.
 */
export function learnTtl(ttl: number): number {
  return Math.min(LEARN_TTL_MAX, Math.max(LEARN_TTL_MIN, Math.floor(ttl)));
}

/** Rewrites the message ID of an answer to the client's (the only change we make). */
export function withId(answer: Uint8Array, id: number): Buffer {
  const out = Buffer.from(answer);
  out.writeUInt16BE(id, 0);
  return out;
}
