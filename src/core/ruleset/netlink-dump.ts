// Reading egressctl's learned sets and named counters straight from the kernel: the
// nfnetlink dump requests (NFT_MSG_GETSETELEM, NFT_MSG_GETOBJ) and the parsing of their
// replies. libnftables 1.0.6 fetches every element of the table into its cache before
// any listing, so with full learned sets each `list` costs a second or more (docs/
// benchmarks.md "Adopting full learned sets"); a dump of one set costs what that set
// holds and nothing else. Pure: bytes in, bytes out; the socket is
// src/effects/nft/netlink-socket.ts.
import { Errno } from "../errors/errno.ts";
import { formatV6 } from "../net/ip.ts";
import {
  cstr, NFGENMSG_LEN, NFNL_SUBSYS_NFTABLES, NFPROTO_INET, NFTA_DATA_VALUE, NFTA_LIST_ELEM, NFTA_SET_ELEM_KEY,
  NFTA_SET_ELEM_LIST_ELEMENTS, NFTA_SET_ELEM_LIST_SET, NFTA_SET_ELEM_LIST_TABLE, NFTA_SET_ELEM_USERDATA,
  NFTNL_UDATA_SET_ELEM_COMMENT, NLA_F_NESTED, NLA_HDRLEN, NLM_F_ACK, NLM_F_REQUEST, Writer,
} from "./netlink-elements.ts";
import { align4, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, netlinkMessages, type NetlinkMessage } from "./netlink-messages.ts";
import { TABLE_NAME } from "./names.ts";

const NLM_F_DUMP = 0x300; // NLM_F_ROOT | NLM_F_MATCH
const NFT_MSG_GETSETELEM = 13;
const NFT_MSG_NEWSETELEM = 12;
const NFT_MSG_NEWOBJ = 18;
const NFT_MSG_GETOBJ = 19;
const NFTA_SET_ELEM_EXPIRATION = 5;
const NFTA_OBJ_TABLE = 1;
const NFTA_OBJ_NAME = 2;
const NFTA_OBJ_TYPE = 3;
const NFTA_OBJ_DATA = 4;
const NFT_OBJECT_COUNTER = 1;
const NFTA_COUNTER_BYTES = 1;
const NFTA_COUNTER_PACKETS = 2;
/** NLA_F_NET_BYTEORDER: a flag bit of the attribute type, not part of it */
const NLA_F_NET_BYTEORDER = 0x4000;

/** A dump request for every element of `set` in table inet egressctl. */
export function setDumpRequest(set: string, seq: number): Uint8Array {
  return setElemRequest(set, NLM_F_DUMP, seq);
}

/** NFT_MSG_GETSETELEM for `set` of our table; `body` adds attributes (the element asked for) */
function setElemRequest(set: string, flags: number, seq: number, body?: (w: Writer) => void): Uint8Array {
  const w = new Writer();
  const at = w.nlmsg((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETSETELEM, NLM_F_REQUEST | flags, seq, NFPROTO_INET, 0);
  w.attr(NFTA_SET_ELEM_LIST_TABLE, cstr(TABLE_NAME));
  w.attr(NFTA_SET_ELEM_LIST_SET, cstr(set));
  body?.(w);
  w.endMsg(at);
  return w.buf.slice(0, w.len);
}

/**
 * A request for one element of `set` (no dump): the kernel answers with that element, or
 * ENOENT. What the self-test uses to see that a learned address is in the kernel
 * without reading a set that may hold tens of thousands.
 */
export function elementRequest(set: string, key: Uint8Array, seq: number): Uint8Array {
  // the ack after the reply ends the exchange as NLMSG_DONE ends a dump
  return setElemRequest(set, NLM_F_ACK, seq, (w) => {
    const list = w.begin(NFTA_SET_ELEM_LIST_ELEMENTS | NLA_F_NESTED);
    const el = w.begin(NFTA_LIST_ELEM | NLA_F_NESTED);
    const k = w.begin(NFTA_SET_ELEM_KEY | NLA_F_NESTED);
    w.attr(NFTA_DATA_VALUE, key);
    w.end(k);
    w.end(el);
    w.end(list);
  });
}

/** A dump request for the named counters of table inet egressctl. */
export function counterDumpRequest(seq: number): Uint8Array {
  const w = new Writer();
  const at = w.nlmsg((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETOBJ, NLM_F_REQUEST | NLM_F_DUMP, seq, NFPROTO_INET, 0);
  w.attr(NFTA_OBJ_TABLE, cstr(TABLE_NAME));
  w.attr(NFTA_OBJ_TYPE, u32be(NFT_OBJECT_COUNTER));
  w.endMsg(at);
  return w.buf.slice(0, w.len);
}

export interface DumpedElement {
  address: string;
  /** the port of an `address . inet_service` key (the recorded upstreams); absent for an address key */
  port?: number;
  /** the element's comment (the name it was learned under), null when it has none */
  comment: string | null;
  /** milliseconds left, 0 for an element without a timeout */
  expiresMs: number;
  /** the key's bytes as the kernel holds them, when asked for (keys of other shapes: the denied flows) */
  key?: Uint8Array;
}

export interface DumpedCounter {
  name: string;
  packets: number;
  bytes: number;
}

type Dv = DataView;

/** Calls `fn(type, start, end)` for each attribute in [start, end); stops at a malformed one. */
function eachAttr(dv: Dv, start: number, end: number, fn: (type: number, from: number, to: number) => void): void {
  let a = start;
  while (a + NLA_HDRLEN <= end) {
    const len = dv.getUint16(a, true);
    if (len < NLA_HDRLEN || a + len > end) return;
    fn(dv.getUint16(a + 2, true) & ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER), a + NLA_HDRLEN, a + len);
    a += align4(len);
  }
}

/** The message payload's attributes start after the netlink and nfgenmsg headers. */
const payload = (at: number) => at + NLMSG_HDRLEN + NFGENMSG_LEN;

/**
 * The elements of one NEWSETELEM message of a dump (`at`: the message, `len`: its
 * length). A full set is tens of thousands of elements, read while DNS waits (adoption
 * at start): plain loops, no closure or decoder per element.
 */
export function parseSetElems(buf: Uint8Array, at: number, len: number, out: DumpedElement[], keys = false): void {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const end = at + len;
  for (let a = payload(at); a + NLA_HDRLEN <= end; ) {
    const alen = dv.getUint16(a, true);
    if (alen < NLA_HDRLEN || a + alen > end) return;
    if ((dv.getUint16(a + 2, true) & ATTR_TYPE) === NFTA_SET_ELEM_LIST_ELEMENTS) {
      for (let e = a + NLA_HDRLEN; e + NLA_HDRLEN <= a + alen; ) {
        const elen = dv.getUint16(e, true);
        if (elen < NLA_HDRLEN || e + elen > a + alen) break;
        if ((dv.getUint16(e + 2, true) & ATTR_TYPE) === NFTA_LIST_ELEM) {
          const el = parseElement(buf, dv, e + NLA_HDRLEN, e + elen, keys);
          if (el) out.push(el);
        }
        e += align4(elen);
      }
    }
    a += align4(alen);
  }
}

const ATTR_TYPE = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

function parseElement(buf: Uint8Array, dv: Dv, from: number, to: number, keys: boolean): DumpedElement | null {
  let address: string | null = null;
  let key: Uint8Array | null = null;
  let port: number | null = null;
  let comment: string | null = null;
  let expiresMs = 0;
  for (let a = from; a + NLA_HDRLEN <= to; ) {
    const len = dv.getUint16(a, true);
    if (len < NLA_HDRLEN || a + len > to) break;
    const type = dv.getUint16(a + 2, true) & ATTR_TYPE;
    const f = a + NLA_HDRLEN;
    const e = a + len;
    if (type === NFTA_SET_ELEM_KEY && e - f >= NLA_HDRLEN) {
      // one nested NFTA_DATA_VALUE holding the key
      const klen = dv.getUint16(f, true);
      const kt = dv.getUint16(f + 2, true) & ATTR_TYPE;
      const n = klen - NLA_HDRLEN;
      if (kt === NFTA_DATA_VALUE && f + klen <= e) {
        const k = f + NLA_HDRLEN;
        if (keys) key = buf.slice(k, k + n);
        else if (n === 4 || n === 8) address = `${buf[k]}.${buf[k + 1]}.${buf[k + 2]}.${buf[k + 3]}`;
        else if (n === 16 || n === 20) address = formatV6(buf, k);
        // address . inet_service: each part of a concatenation fills whole 4-byte
        // registers, the port (network order) in the first two bytes of the last
        if (n === 8 || n === 20) port = (buf[k + n - 4]! << 8) | buf[k + n - 3]!;
      }
    } else if (type === NFTA_SET_ELEM_EXPIRATION && e - f === 8) {
      expiresMs = dv.getUint32(f, false) * 2 ** 32 + dv.getUint32(f + 4, false);
    } else if (type === NFTA_SET_ELEM_USERDATA) {
      comment = udataComment(buf, f, e);
    }
    a += align4(len);
  }
  if (key) return { address: "", comment, expiresMs, key };
  if (address === null) return null;
  return port === null ? { address, comment, expiresMs } : { address, port, comment, expiresMs };
}

/** libnftnl's udata: TLVs of (type u8, length u8, value); the comment is type 0, NUL-ended. */
function udataComment(buf: Uint8Array, from: number, to: number): string | null {
  let a = from;
  while (a + 2 <= to) {
    const type = buf[a]!;
    const len = buf[a + 1]!;
    if (a + 2 + len > to) return null;
    if (type === NFTNL_UDATA_SET_ELEM_COMMENT) {
      let end = a + 2 + len;
      while (end > a + 2 && buf[end - 1] === 0) end--;
      return end > a + 2 ? utf8.decode(buf.subarray(a + 2, end)) : null;
    }
    a += 2 + len;
  }
  return null;
}

const utf8 = new TextDecoder();

/** One NEWOBJ message of a counter dump; null for another kind of object. */
export function parseCounter(buf: Uint8Array, at: number, len: number): DumpedCounter | null {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let name: string | null = null;
  let packets = 0;
  let bytes = 0;
  let counter = false;
  eachAttr(dv, payload(at), at + len, (type, from, to) => {
    if (type === NFTA_OBJ_NAME) name = utf8.decode(buf.subarray(from, to)).replace(/\0+$/, "");
    else if (type === NFTA_OBJ_TYPE && to - from === 4) counter = dv.getUint32(from, false) === NFT_OBJECT_COUNTER;
    else if (type === NFTA_OBJ_DATA) {
      eachAttr(dv, from, to, (t, f, e) => {
        if (e - f !== 8) return;
        if (t === NFTA_COUNTER_PACKETS) packets = Number(dv.getBigUint64(f, false));
        else if (t === NFTA_COUNTER_BYTES) bytes = Number(dv.getBigUint64(f, false));
      });
    }
  });
  return counter && name !== null ? { name, packets, bytes } : null;
}

/** message types in a dump's replies, for the reader */
export const DUMP_TYPES = {
  setElems: (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWSETELEM,
  obj: (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWOBJ,
} as const;

function u32be(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, false);
  return b;
}

/** What one datagram of a dump's replies holds, for the request with sequence number `seq`. */
export interface DumpChunk {
  /** messages of the dump: their header, offset and length in the datagram */
  messages: NetlinkMessage[];
  /** NLMSG_DONE seen: the dump is complete */
  done: boolean;
  /** an NLMSG_ERROR with a nonzero code: -errno */
  error: number | null;
}

export function dumpChunk(buf: Uint8Array, seq: number): DumpChunk {
  const out: DumpChunk = { messages: [], done: false, error: null };
  for (const m of netlinkMessages(buf)) {
    if (m.seq !== seq) continue; // a late reply of an abandoned dump
    if (m.type === NLMSG_DONE) out.done = true;
    else if (m.type === NLMSG_ERROR) {
      // an error message too short to hold its code: EIO
      const code = m.error ?? -Errno.EIO;
      if (code !== 0) out.error = code;
      out.done = true;
    } else out.messages.push(m);
  }
  return out;
}
