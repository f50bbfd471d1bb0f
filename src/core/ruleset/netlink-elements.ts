// Learned elements as raw nfnetlink messages, for writing and removing them without
// libnftables: nft 1.0.6 refreshes its cache of the whole table (every interval set's
// elements) before each command, so with a large static policy one `add element` costs
// milliseconds (docs/ruleset.md "Learning cost"). What is built here is what nft itself
// sends for `add element inet egressctl learnedN { ADDR timeout Ns comment "NAME" }` and
// for `delete element ... { ADDR }` (each checked byte for byte against nft's own
// message), plus NLM_F_ACK so every message is answered. Pure: bytes in, bytes out; the
// socket is src/effects/nft/netlink-writer.ts.
//
// One batch = one kernel transaction: BATCH_BEGIN, one NEWSETELEM (or DELSETELEM) per
// (set, name) (more when a nest would outgrow 16 bits), BATCH_END. The kernel commits all
// or nothing.
// Constants from the kernel uapi: linux/netlink.h, linux/netfilter/nfnetlink.h,
// linux/netfilter/nf_tables.h, linux/netfilter.h.
import { parseAddress } from "../net/ip.ts";
import type { LearnedElement } from "./learn.ts";
import { MAX_COMMENT } from "./learn.ts";
import { LEARNED_V4, LEARNED_V6, TABLE_NAME } from "./names.ts";
import { align4, NLMSG_ERROR, NLMSG_HDRLEN, netlinkMessages } from "./netlink-messages.ts";

const NLMSG_MIN_TYPE = 0x10;
export const NFNL_MSG_BATCH_BEGIN = NLMSG_MIN_TYPE;
export const NFNL_MSG_BATCH_END = NLMSG_MIN_TYPE + 1;
export const NFNL_SUBSYS_NFTABLES = 10;
export const NFT_MSG_NEWSETELEM = 12;
export const NFT_MSG_DELSETELEM = 14;
export const NLM_F_REQUEST = 0x01;
export const NLM_F_ACK = 0x04;
export const NLM_F_CREATE = 0x400;
/** in an NLMSG_ERROR: extended-ack attributes follow (NETLINK_EXT_ACK) */
const NLM_F_ACK_TLVS = 0x200;
/** in an NLMSG_ERROR: the echoed request is only its header (NETLINK_CAP_ACK) */
const NLM_F_CAPPED = 0x100;
const NLMSGERR_ATTR_MSG = 1;
export const NLA_F_NESTED = 0x8000;
export const NFPROTO_INET = 1;
const NFNETLINK_V0 = 0;

export const NFTA_SET_ELEM_LIST_TABLE = 1;
export const NFTA_SET_ELEM_LIST_SET = 2;
export const NFTA_SET_ELEM_LIST_ELEMENTS = 3;
export const NFTA_LIST_ELEM = 1;
export const NFTA_SET_ELEM_KEY = 1;
export const NFTA_SET_ELEM_TIMEOUT = 4;
export const NFTA_SET_ELEM_USERDATA = 6;
export const NFTA_DATA_VALUE = 1;
/** libnftnl's udata type for an element comment (libnftnl/udata.h) */
export const NFTNL_UDATA_SET_ELEM_COMMENT = 0;

export const NFGENMSG_LEN = 4;
export const NLA_HDRLEN = 4;
/** a nest's length is 16 bits: a message's element list stays well below it */
const MAX_NEST = 60_000;

/** One element, ready for the wire. */
export interface WireElement {
  /** the address in network order: 4 or 16 bytes */
  key: Uint8Array;
  timeoutMs: number;
}

/**
 * Elements for one set under one comment (one NEWSETELEM message, or more if large).
 * `remove`: a DELSETELEM instead, keys only (timeouts and comment are not sent).
 */
export interface SetElemMessage {
  set: string;
  comment?: string;
  elements: WireElement[];
  remove?: boolean;
}

/** What each NEWSETELEM (or DELSETELEM) of a batch carries, by sequence number, for error messages. */
export interface BatchPart {
  seq: number;
  set: string;
  comment?: string;
  count: number;
  remove?: boolean;
}

export interface Batch {
  bytes: Uint8Array;
  /** sequence numbers: BATCH_BEGIN is `begin`, BATCH_END is `end` */
  begin: number;
  end: number;
  parts: BatchPart[];
}

const enc = new TextEncoder();

/** A growable little-endian writer; attributes padded to 4 bytes. */
export class Writer {
  buf = new Uint8Array(1024);
  dv = new DataView(this.buf.buffer);
  len = 0;
  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
    this.dv = new DataView(b.buffer);
  }
  u8(v: number): void {
    this.room(1);
    this.dv.setUint8(this.len, v);
    this.len += 1;
  }
  u16(v: number, be = false): void {
    this.room(2);
    this.dv.setUint16(this.len, v, !be);
    this.len += 2;
  }
  u32(v: number, be = false): void {
    this.room(4);
    this.dv.setUint32(this.len, v, !be);
    this.len += 4;
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  pad(): void {
    const n = align4(this.len) - this.len;
    this.room(n);
    this.buf.fill(0, this.len, this.len + n);
    this.len += n;
  }
  /** starts an attribute; returns its offset for `end` */
  begin(type: number): number {
    const at = this.len;
    this.u16(0);
    this.u16(type);
    return at;
  }
  /** writes the attribute's length (unpadded, as the kernel wants it), then pads */
  end(at: number): void {
    this.dv.setUint16(at, this.len - at, true);
    this.pad();
  }
  attr(type: number, payload: Uint8Array): void {
    const at = this.begin(type);
    this.bytes(payload);
    this.end(at);
  }
  nlmsg(type: number, flags: number, seq: number, family: number, resId: number): number {
    const at = this.len;
    this.u32(0); // nlmsg_len, set by endMsg
    this.u16(type);
    this.u16(flags);
    this.u32(seq);
    this.u32(0); // nlmsg_pid: 0 = the kernel
    this.u8(family); // struct nfgenmsg
    this.u8(NFNETLINK_V0);
    this.u16(resId, true); // res_id is big-endian
    return at;
  }
  endMsg(at: number): void {
    this.pad();
    this.dv.setUint32(at, this.len - at, true);
  }
}

export const cstr = (s: string) => {
  const b = enc.encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
};

/** bytes an element takes inside the ELEMENTS nest (for splitting large messages) */
function elementSize(e: WireElement, udata: Uint8Array | null): number {
  return NLA_HDRLEN + (NLA_HDRLEN + 8) + (NLA_HDRLEN + NLA_HDRLEN + align4(e.key.length)) + (udata ? NLA_HDRLEN + align4(udata.length) : 0);
}

/** libnftnl's comment udata: type, length (with the NUL), the string, NUL. null when left out. */
export function commentUdata(comment: string | undefined): Uint8Array | null {
  if (!comment) return null;
  const s = enc.encode(comment);
  if (s.length > MAX_COMMENT) return null; // nft refuses these; renderLearn leaves them out too
  const u = new Uint8Array(2 + s.length + 1);
  u[0] = NFTNL_UDATA_SET_ELEM_COMMENT;
  u[1] = s.length + 1;
  u.set(s, 2);
  return u;
}

/**
 * One nfnetlink batch adding `messages`' elements (create or update: no NLM_F_EXCL, so
 * an existing element gets the new timeout on Linux >= 6.10, as with nft's `add
 * element`), or deleting them for a message marked `remove`. Sequence numbers run from
 * `seq` (BATCH_BEGIN) to `end` (BATCH_END).
 */
export function buildBatch(messages: readonly SetElemMessage[], seq: number): Batch {
  const w = new Writer();
  const begin = seq >>> 0;
  let n = begin;
  const next = () => (n = (n + 1) >>> 0);
  const b = w.nlmsg(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, begin, 0, NFNL_SUBSYS_NFTABLES);
  w.endMsg(b);
  const parts: BatchPart[] = [];
  const table = cstr(TABLE_NAME);
  for (const m of messages) {
    const udata = commentUdata(m.comment);
    const set = cstr(m.set);
    let i = 0;
    while (i < m.elements.length) {
      const s = next();
      const at = m.remove
        ? w.nlmsg((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_DELSETELEM, NLM_F_REQUEST | NLM_F_ACK, s, NFPROTO_INET, 0)
        : w.nlmsg((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWSETELEM, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_ACK, s, NFPROTO_INET, 0);
      w.attr(NFTA_SET_ELEM_LIST_TABLE, table);
      w.attr(NFTA_SET_ELEM_LIST_SET, set);
      const list = w.begin(NFTA_SET_ELEM_LIST_ELEMENTS | NLA_F_NESTED);
      let size = 0;
      const from = i;
      while (i < m.elements.length && (i === from || size + elementSize(m.elements[i]!, udata) <= MAX_NEST)) {
        const e = m.elements[i++]!;
        size += elementSize(e, udata);
        // attribute order as nft writes it: timeout, key, userdata
        const el = w.begin(NFTA_LIST_ELEM | NLA_F_NESTED);
        if (!m.remove) {
          const t = w.begin(NFTA_SET_ELEM_TIMEOUT);
          // a timeout of 0 would make the element permanent (the kernel skips expiry for
          // it): never less than a second, and never NaN or Infinity
          const ms = BigInt(Number.isFinite(e.timeoutMs) ? Math.max(1000, Math.round(e.timeoutMs)) : 1000);
          w.u32(Number(ms >> 32n), true);
          w.u32(Number(ms & 0xffffffffn), true);
          w.end(t);
        }
        const key = w.begin(NFTA_SET_ELEM_KEY | NLA_F_NESTED);
        w.attr(NFTA_DATA_VALUE, e.key);
        w.end(key);
        if (udata && !m.remove) w.attr(NFTA_SET_ELEM_USERDATA, udata);
        w.end(el);
      }
      w.end(list);
      w.endMsg(at);
      parts.push({ seq: s, set: m.set, comment: m.comment, count: i - from, ...(m.remove ? { remove: true } : {}) });
    }
  }
  const end = next();
  const e = w.nlmsg(NFNL_MSG_BATCH_END, NLM_F_REQUEST, end, 0, NFNL_SUBSYS_NFTABLES);
  w.endMsg(e);
  return { bytes: w.buf.slice(0, w.len), begin, end, parts };
}

/** The address in network order; throws on anything that is not an address of `family`. */
export function addressKey(family: 4 | 6, address: string): Uint8Array {
  const a = parseAddress(address);
  if (!a || a.family !== family) throw new Error(`not an IPv${family} address: ${address}`);
  const len = family === 4 ? 4 : 16;
  const out = new Uint8Array(len);
  let v = a.value;
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/**
 * Learned groups (one name each, as the LearnWriter hands them over) as messages: per
 * group one for learned4 and one for learned6, the name as the comment; timeouts in
 * whole seconds at least 1, exactly as renderLearn writes them.
 */
export function learnMessages(groups: readonly { name?: string; elements: readonly LearnedElement[] }[]): SetElemMessage[] {
  const out: SetElemMessage[] = [];
  for (const g of groups) {
    for (const f of [4, 6] as const) {
      const els = g.elements.filter((e) => e.family === f);
      if (els.length === 0) continue;
      out.push({
        set: f === 4 ? LEARNED_V4 : LEARNED_V6,
        comment: g.name,
        elements: els.map((e) => ({ key: addressKey(f, e.address), timeoutMs: Math.max(1, Math.round(e.timeoutSec)) * 1000 })),
      });
    }
  }
  return out;
}

/**
 * Removing learned addresses, as renderForget does it through nft: each is first added
 * with a 1 s timeout (so that removing one that is gone, or expired meanwhile, cannot
 * fail the batch with ENOENT), then deleted. Should the delete never land (a split write
 * whose later batch failed), the element still expires within a second.
 */
export function forgetMessages(addresses: readonly { family: 4 | 6; address: string }[]): SetElemMessage[] {
  const out: SetElemMessage[] = [];
  for (const f of [4, 6] as const) {
    // once per key: a key twice in one DELSETELEM fails the batch (ENOENT the second
    // time), and two spellings of one IPv6 address are one key
    const unique = new Map(addresses.filter((a) => a.family === f).map((a) => addressKey(f, a.address)).map((k) => [k.join("."), k]));
    const keys = [...unique.values()];
    if (keys.length === 0) continue;
    const set = f === 4 ? LEARNED_V4 : LEARNED_V6;
    out.push({ set, elements: keys.map((key) => ({ key, timeoutMs: 1000 })) });
    out.push({ set, elements: keys.map((key) => ({ key, timeoutMs: 0 })), remove: true });
  }
  return out;
}

export function buildLearnBatch(groups: readonly { name?: string; elements: readonly LearnedElement[] }[], seq: number): Batch {
  return buildBatch(learnMessages(groups), seq);
}

/** One message of the kernel's reply. `error` only for NLMSG_ERROR: 0 = ack, else -errno. */
export interface Reply {
  type: number;
  flags: number;
  seq: number;
  error?: number;
  /** the extended-ack text, when the kernel gave one */
  message?: string;
}

/** The messages of a received datagram (netlinkMessages), with the text of each error; stops at a malformed length. */
export function parseReplies(buf: Uint8Array): Reply[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return netlinkMessages(buf).map(({ type, flags, seq, at, len, error }) => {
    const r: Reply = { type, flags, seq };
    if (error === undefined) return r;
    r.error = error;
    if (flags & NLM_F_ACK_TLVS && len >= NLMSG_HDRLEN + 4 + NLMSG_HDRLEN) {
      // struct nlmsgerr: error, then the request's header (and its payload unless capped)
      const inner = flags & NLM_F_CAPPED ? NLMSG_HDRLEN : dv.getUint32(at + NLMSG_HDRLEN + 4, true);
      let a = at + NLMSG_HDRLEN + 4 + align4(inner);
      while (a + NLA_HDRLEN <= at + len) {
        const alen = dv.getUint16(a, true);
        if (alen < NLA_HDRLEN || a + alen > at + len) break;
        if ((dv.getUint16(a + 2, true) & ~NLA_F_NESTED) === NLMSGERR_ATTR_MSG) {
          r.message = new TextDecoder().decode(buf.subarray(a + NLA_HDRLEN, a + alen)).replace(/\0+$/, "");
        }
        a += align4(alen);
      }
    }
    return r;
  });
}
