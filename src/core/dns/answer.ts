// Reading an upstream's answer: does it answer our outstanding query (the spoofing
// guard), which addresses does it carry for the query name (what gets learned), and
// which names its CNAME/DNAME chain leads through (what chain.ts judges).
// Pure; a malformed answer is reported as null and the caller ignores it.
import { LEARN_TTL_MAX, LEARN_TTL_MIN } from "../ruleset/names.ts";
import { formatV6, type Family } from "../net/ip.ts";
import { CLASS_IN, HEADER_LEN, TYPE_A, TYPE_AAAA, TYPE_CNAME, TYPE_DNAME, readName, readRecord, u16 } from "./wire.ts";

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
  /** every A/AAAA in the answer section owned by the query name or a name its chain leads to */
  addresses: LearnedAddress[];
  /** longest TTL among those records (raw, unclamped); 0 when there are none */
  ttl: number;
  /**
   * The CNAME/DNAME chain from the query name, in order: the query name first, then every
   * name the answer says it leads to (CNAME targets; for a DNAME that applies, its owner
   * and its target, then the name it substitutes). null when the answer has no CNAME or
   * DNAME the query name leads through (almost every answer: nothing is allocated then).
   */
  chain: string[] | null;
}

/** CNAME/DNAME chains longer than this are not followed (resolvers stop well before) */
const MAX_CHAIN = 16;

interface Dname {
  owner: string;
  target: string;
}

/**
 * Checks that `buf` is a response to exactly `expect` (ID, and question name, type and
 * class) and reads its answer section. Anything else, or anything malformed, is null.
 *
 * Almost every answer is direct: its records are owned by the question name, written as a
 * pointer to it (C0 0C), and none is a CNAME or DNAME. directAnswer reads those without
 * making a string of any name or an object per record (this runs once per forwarded
 * query, and what it allocated was a tenth of serve's garbage per query); anything else
 * is read by chainedAnswer, which handles every case. Both give the same result.
 */
export function readAnswer(buf: Uint8Array, expect: Expect): AnswerInfo | null {
  const direct = directAnswer(buf, expect);
  return direct === NOT_DIRECT ? chainedAnswer(buf, expect) : direct;
}

const NOT_DIRECT = Symbol("not a direct answer");

function directAnswer(buf: Uint8Array, expect: Expect): AnswerInfo | null | typeof NOT_DIRECT {
  if (buf.length < HEADER_LEN) return null;
  const flags = u16(buf, 2);
  if (!(flags & 0x8000) || u16(buf, 0) !== expect.id || u16(buf, 4) !== 1) return null;
  const qEnd = plainNameEnd(buf, HEADER_LEN, expect.name);
  if (qEnd < 0) return NOT_DIRECT; // another name, or one with escapes: the full reader decides
  if (qEnd + 4 > buf.length) return null;
  if (u16(buf, qEnd) !== expect.qtype || u16(buf, qEnd + 2) !== expect.qclass) return null;
  const ancount = u16(buf, 6);
  let off = qEnd + 4;
  const addresses: LearnedAddress[] = [];
  let maxTtl = 0;
  for (let i = 0; i < ancount; i++) {
    // owner (a pointer to the question: 2 bytes), type, class, TTL, length, data
    const at = off;
    if (at + 12 > buf.length) return null;
    if (buf[at] !== 0xc0 || buf[at + 1] !== HEADER_LEN) return NOT_DIRECT;
    const type = u16(buf, at + 2);
    const len = u16(buf, at + 10);
    const rdStart = at + 12;
    if (rdStart + len > buf.length) return null;
    off = rdStart + len;
    if (type === TYPE_CNAME || type === TYPE_DNAME) return NOT_DIRECT;
    if (u16(buf, at + 4) !== CLASS_IN) continue;
    let address: string;
    if (type === TYPE_A && len === 4) address = `${buf[rdStart]}.${buf[rdStart + 1]}.${buf[rdStart + 2]}.${buf[rdStart + 3]}`;
    else if (type === TYPE_AAAA && len === 16) address = formatV6(buf, rdStart);
    else continue;
    if (hasAddress(addresses, address)) continue;
    if (addresses.length >= SCAN_LIMIT) return NOT_DIRECT; // a huge answer: deduplicated with a Set there
    addresses.push({ family: type === TYPE_A ? 4 : 6, address });
    // RFC 2181 8: a TTL with the top bit set is treated as zero
    const ttl = u16(buf, at + 6) * 0x10000 + u16(buf, at + 8);
    if (ttl <= 0x7fffffff && ttl > maxTtl) maxTtl = ttl;
  }
  return { truncated: (flags & 0x0200) !== 0, rcode: flags & 0xf, addresses, ttl: maxTtl, chain: null };
}

/**
 * The offset after the uncompressed name at `off` if it is `name` (comparable text of
 * plain labels: ASCII letters compare case-insensitively), else -1 (another name, a
 * pointer, a label with bytes outside [A-Za-z0-9_-], or bytes out of bounds).
 */
function plainNameEnd(buf: Uint8Array, off: number, name: string): number {
  let j = 0;
  for (;;) {
    if (off >= buf.length) return -1;
    const len = buf[off]!;
    if (len === 0) return j === name.length ? off + 1 : -1;
    if (len > 63 || off + 1 + len > buf.length) return -1;
    if (j > 0) {
      if (name.charCodeAt(j) !== DOT) return -1;
      j++;
    }
    for (let i = off + 1; i <= off + len; i++, j++) {
      let c = buf[i]!;
      if (c >= 65 && c <= 90) c += 32;
      else if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 95)) return -1;
      if (name.charCodeAt(j) !== c) return -1;
    }
    off += 1 + len;
  }
}

const DOT = 46;

/** the general reader: any owner names, CNAME/DNAME chains, escaped names (exported for the test that compares the two) */
export function chainedAnswer(buf: Uint8Array, expect: Expect): AnswerInfo | null {
  if (buf.length < HEADER_LEN) return null;
  const flags = u16(buf, 2);
  if (!(flags & 0x8000) || u16(buf, 0) !== expect.id || u16(buf, 4) !== 1) return null;
  const qn = readName(buf, HEADER_LEN);
  if (!qn || qn.compressed || qn.end + 4 > buf.length) return null;
  if (qn.name !== expect.name || u16(buf, qn.end) !== expect.qtype || u16(buf, qn.end + 2) !== expect.qclass) return null;
  const ancount = u16(buf, 6);
  let off = qn.end + 4;
  // created only when the answer has such records: most answers have none
  let cnames: Map<string, string> | null = null;
  let dnames: Dname[] | null = null;
  const addrs: { owner: string; family: Family; address: string; ttl: number }[] = [];
  for (let i = 0; i < ancount; i++) {
    const r = readRecord(buf, off, qn);
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
    } else if (r.type === TYPE_CNAME || r.type === TYPE_DNAME) {
      const target = readName(buf, r.rdStart);
      if (!target || target.end !== r.rdEnd) return null;
      if (r.type === TYPE_CNAME) {
        cnames ??= new Map();
        if (!cnames.has(r.owner.name)) cnames.set(r.owner.name, target.name);
      } else (dnames ??= []).push({ owner: r.owner.name, target: target.name });
    }
  }
  // One response, one decision: the chain is followed from the name the policy allowed.
  const followed = cnames || dnames ? followChain(expect.name, cnames, dnames) : null;
  const path = followed?.path;
  const chain = followed?.chain ?? null;
  const addresses: LearnedAddress[] = [];
  // duplicates: a scan while the list is short (an answer carries a handful of
  // addresses), a Set once it is not (a huge answer must not cost a quadratic scan)
  let seen: Set<string> | null = null;
  let maxTtl = 0;
  for (const a of addrs) {
    if (path ? !path.includes(a.owner) : a.owner !== expect.name) continue;
    if (seen === null && addresses.length >= SCAN_LIMIT) seen = new Set(addresses.map((x) => x.address));
    if (seen ? seen.has(a.address) : hasAddress(addresses, a.address)) continue;
    seen?.add(a.address);
    addresses.push({ family: a.family, address: a.address });
    if (a.ttl > maxTtl) maxTtl = a.ttl;
  }
  return { truncated: (flags & 0x0200) !== 0, rcode: flags & 0xf, addresses, ttl: maxTtl, chain: chain && chain.length > 1 ? chain : null };
}

const SCAN_LIMIT = 16;

function hasAddress(list: readonly LearnedAddress[], address: string): boolean {
  for (let i = 0; i < list.length; i++) if (list[i]!.address === address) return true;
  return false;
}

/**
 * Where `qname` leads, at most MAX_CHAIN steps, in any record order. `path`: the names it
 * resolves through (its addresses are learned): from each name its CNAME if the answer
 * has one, else the name a DNAME above it substitutes (an upstream that did not
 * synthesize the CNAME, RFC 6672). `chain`: the same with, for every DNAME that applies
 * to a name on the path, its owner and target, where they apply: all of them are judged.
 * A name already on the path ends it (a loop).
 */
function followChain(qname: string, cnames: Map<string, string> | null, dnames: Dname[] | null): { path: string[]; chain: string[] } {
  const path = [qname];
  const chain = [qname];
  const add = (n: string) => void (chain.includes(n) || chain.push(n));
  let at = qname;
  for (let hops = 0; hops < MAX_CHAIN; hops++) {
    let next = cnames?.get(at);
    const d = dnames ? dnames.find((x) => isBelow(at, x.owner)) : undefined;
    if (d) {
      add(d.owner);
      add(d.target);
      next ??= substitute(at, d);
    }
    if (next === undefined || path.includes(next)) break;
    path.push(next);
    add(next);
    at = next;
  }
  return { path, chain };
}

/** `name` is strictly below `owner` (a DNAME never applies to its owner itself) */
function isBelow(name: string, owner: string): boolean {
  if (owner === "") return name !== "";
  return name.length > owner.length + 1 && name.endsWith(owner) && name[name.length - owner.length - 1] === ".";
}

/** the name a DNAME makes of `name`: its owner suffix replaced by the target */
function substitute(name: string, d: Dname): string | undefined {
  const prefix = d.owner === "" ? name : name.slice(0, name.length - d.owner.length - 1);
  const out = d.target === "" ? prefix : `${prefix}.${d.target}`;
  // a substitution that outgrows a DNS name is not followed (RFC 6672 2.2: YXDOMAIN)
  return out.length <= 253 ? out : undefined;
}

/**
 * The lifetime of a learned element. The longest record TTL, because every record of
 * the answer may sit in the client's cache that long and must stay reachable meanwhile.
 * At least LEARN_TTL_MIN: a 0- or 1-second TTL would let the element expire between the
 * answer and the client's connect. At most `max` (serve: the lifetime bound less the
 * writer's headroom, src/core/learn/bounds.ts; never above LEARN_TTL_MAX): a stale
 * address (the name moved, the policy changed and prune missed it) stays open for a
 * bounded time, and a longer TTL is learned again when the name is asked again.
 */
export function learnTtl(ttl: number, max: number = LEARN_TTL_MAX): number {
  return Math.min(max, LEARN_TTL_MAX, Math.max(LEARN_TTL_MIN, Math.floor(ttl)));
}

/**
 * Rewrites the message ID of an answer to the client's (the only change we make), in
 * place: the answer is the proxy's own copy (one buffer per datagram received).
 */
export function setId<T extends Uint8Array>(answer: T, id: number): T {
  answer[0] = id >> 8;
  answer[1] = id & 0xff;
  return answer;
}
