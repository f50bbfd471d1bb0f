// Builds the few messages the proxy writes itself: local answers (NXDOMAIN with an RFC
// 8914 Extended DNS Error, SERVFAIL, FORMERR, NOTIMP) and the query sent upstream.
// Local answers echo the client's first question so stub resolvers accept them, and
// are never larger than a minimal query plus the EDE text, so they amplify nothing.
import type { ParsedQuery } from "./query.ts";
import { HEADER_LEN, TYPE_OPT, u16 } from "./wire.ts";

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4 } as const;
/** RFC 8914 option code and the "Blocked" info-code */
export const EDNS_OPTION_EDE = 15;
export const EDE_BLOCKED = 15;
/** the UDP payload size we advertise in our own OPT records (DNS flag day 2020) */
export const OUR_UDP_SIZE = 1232;
/** EDE extra text is for people; keep it short so the answer stays small */
const MAX_EDE_TEXT = 200;

const QR = 0x8000;
const RD = 0x0100;
const RA = 0x0080;
const CD = 0x0010;

/** Header bits of a local answer: QR, the client's opcode, RD and CD echoed, RA set. */
function answerFlags(clientFlags: number, rcode: number): number {
  return QR | (clientFlags & (0x7800 | RD | CD)) | RA | rcode;
}

/** Local answer echoing the first question; with an OPT record when the client sent EDNS. */
export function localAnswer(packet: Uint8Array, q: ParsedQuery, rcode: number, edeText?: string): Buffer {
  const question = packet.subarray(HEADER_LEN, q.questionEnd);
  const opt = q.edns ? optRecord(edeText) : null;
  const out = Buffer.allocUnsafe(HEADER_LEN + question.length + (opt ? opt.length : 0));
  out.writeUInt16BE(q.id, 0);
  out.writeUInt16BE(answerFlags(q.flags, rcode), 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt32BE(0, 6); // AN, NS
  out.writeUInt16BE(opt ? 1 : 0, 10);
  out.set(question, HEADER_LEN);
  if (opt) out.set(opt, HEADER_LEN + question.length);
  return out;
}

/**
 * Header-only error answer for a packet whose question does not parse. Carries no
 * question (RFC 1035 allows it), so it is 12 bytes: never bigger than what provoked it.
 */
export function headerOnlyAnswer(packet: Uint8Array, rcode: number): Buffer {
  const out = Buffer.alloc(HEADER_LEN);
  out[0] = packet[0]!;
  out[1] = packet[1]!;
  const flags = (packet[2]! << 8) | packet[3]!;
  out.writeUInt16BE(answerFlags(flags, rcode), 2);
  return out;
}

/** OPT pseudo-record (RFC 6891), with an EDE "Blocked" option when text is given. */
function optRecord(edeText?: string): Buffer {
  const text = edeText === undefined ? null : Buffer.from(printable(edeText).slice(0, MAX_EDE_TEXT), "utf8");
  const rdLen = text ? 4 + 2 + text.length : 0;
  const out = Buffer.alloc(11 + rdLen);
  // out[0] = 0: root owner
  out.writeUInt16BE(TYPE_OPT, 1);
  out.writeUInt16BE(OUR_UDP_SIZE, 3);
  // bytes 5-8: extended rcode 0, version 0, flags 0
  out.writeUInt16BE(rdLen, 9);
  if (text) {
    out.writeUInt16BE(EDNS_OPTION_EDE, 11);
    out.writeUInt16BE(2 + text.length, 13);
    out.writeUInt16BE(EDE_BLOCKED, 15);
    out.set(text, 17);
  }
  return out;
}

/** Rule text comes from a policy document: keep it to printable ASCII for the wire. */
function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, "?");
}

/**
 * The query sent upstream: the client's header flags (RD, CD, AD), the first question
 * only, and the client's OPT record unchanged. Later questions and any other records
 * (TSIG, SIG(0)) are left out: a second question must not carry a name the policy never
 * judged out to the upstream. The ID is set per attempt by the sender.
 *
 * Almost every query already is exactly that (one question, then at most the OPT record):
 * then it is the client's packet itself, its flags masked in place (the proxy owns the
 * packet, and everything read from its header is in `q`), and no buffer is made.
 */
export function upstreamQuery(packet: Buffer, q: ParsedQuery): Buffer {
  const questionLen = q.questionEnd - HEADER_LEN;
  const opt = q.edns;
  const optLen = opt ? opt.end - opt.start : 0;
  const flags = q.flags & (RD | CD | 0x0020); // opcode QUERY, QR=0; RD, AD, CD kept
  const exact = packet.length === q.questionEnd + optLen && (!opt || opt.start === q.questionEnd);
  // and its counts say so: one question, no answer or authority records, the OPT alone
  if (exact && u16(packet, 4) === 1 && u16(packet, 6) === 0 && u16(packet, 8) === 0 && u16(packet, 10) === (opt ? 1 : 0)) {
    packet[2] = flags >> 8;
    packet[3] = flags & 0xff;
    return packet;
  }
  const out = Buffer.allocUnsafe(HEADER_LEN + questionLen + optLen);
  out[0] = 0;
  out[1] = 0;
  out[2] = flags >> 8;
  out[3] = flags & 0xff;
  out[4] = 0;
  out[5] = 1;
  out.fill(0, 6, 10);
  out[10] = 0;
  out[11] = opt ? 1 : 0;
  // byte by byte: the question is a few dozen bytes, the OPT record about a dozen, and a
  // subarray view costs more
  for (let i = 0; i < questionLen; i++) out[HEADER_LEN + i] = packet[HEADER_LEN + i]!;
  for (let i = 0; i < optLen; i++) out[HEADER_LEN + questionLen + i] = packet[opt!.start + i]!;
  return out;
}

/** A ready-made `. NS` query (with EDNS) used to probe an upstream that is down. */
export function probeQuery(): Buffer {
  const out = Buffer.alloc(HEADER_LEN + 5 + 11);
  out.writeUInt16BE(RD, 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(1, 10);
  // question: root name (0), type NS (2), class IN (1)
  out.writeUInt16BE(2, HEADER_LEN + 1);
  out.writeUInt16BE(1, HEADER_LEN + 3);
  out.writeUInt16BE(TYPE_OPT, HEADER_LEN + 5 + 1);
  out.writeUInt16BE(OUR_UDP_SIZE, HEADER_LEN + 5 + 3);
  return out;
}
