// Parses a client's query into what the decision needs: header, first question, EDNS.
// Strict on structure (a query that does not parse is answered FORMERR by the caller),
// and it reads every section, so absurd counts or trailing garbage are caught here.
import { HEADER_LEN, TYPE_OPT, readName, readRecord, u16 } from "./wire.ts";

export interface Edns {
  /** the client's advertised UDP payload size (at least 512) */
  udpSize: number;
  /**
   * Where the OPT record is in the query, [start, end): forwarded upstream unchanged (the
   * client's EDNS options). Offsets, not a view: a view per query is an object the
   * collector has to clear again.
   */
  start: number;
  end: number;
}

export interface ParsedQuery {
  id: number;
  /** header bytes 2-3 */
  flags: number;
  opcode: number;
  /** comparable first-question name (see wire.ts) */
  name: string;
  /** the name had bytes outside [a-z0-9_-]: no policy name can match it */
  odd: boolean;
  qtype: number;
  qclass: number;
  /** the first question exactly as the client sent it (offset 12 up to here) */
  questionEnd: number;
  edns: Edns | null;
}

export type QueryParse = { ok: true; q: ParsedQuery } | { ok: false; reason: string };

export function parseQuery(buf: Uint8Array): QueryParse {
  const flags = u16(buf, 2);
  const qd = u16(buf, 4);
  if (qd === 0) return { ok: false, reason: "no question" };
  const first = readName(buf, HEADER_LEN);
  // The first question's name has nothing before it to point at: a pointer is malformed.
  if (!first || first.compressed) return { ok: false, reason: "bad question name" };
  if (first.end + 4 > buf.length) return { ok: false, reason: "truncated question" };
  const qtype = u16(buf, first.end);
  const qclass = u16(buf, first.end + 2);
  const questionEnd = first.end + 4;
  let off = questionEnd;
  for (let i = 1; i < qd; i++) {
    const n = readName(buf, off);
    if (!n || n.end + 4 > buf.length) return { ok: false, reason: "truncated question" };
    off = n.end + 4;
  }
  const rest = u16(buf, 6) + u16(buf, 8);
  const ar = u16(buf, 10);
  let edns: Edns | null = null;
  for (let i = 0; i < rest + ar; i++) {
    // A record owned by the root (a single zero byte: every OPT record) is read in place;
    // readRecord would make two objects for it, on every query with EDNS.
    const root = buf[off] === 0;
    const r = root ? null : readRecord(buf, off);
    if (!root && !r) return { ok: false, reason: "truncated record" };
    if (root && off + 11 > buf.length) return { ok: false, reason: "truncated record" };
    const type = r ? r.type : u16(buf, off + 1);
    const end = r ? r.end : off + 11 + u16(buf, off + 9);
    if (end > buf.length) return { ok: false, reason: "truncated record" };
    if (i >= rest && type === TYPE_OPT) {
      // RFC 6891 6.1.1: exactly one OPT, owned by the root
      if (edns || !root) return { ok: false, reason: "bad OPT record" };
      edns = { udpSize: Math.max(512, u16(buf, off + 3)), start: off, end };
    }
    off = end;
  }
  if (off !== buf.length) return { ok: false, reason: "trailing bytes" };
  return {
    ok: true,
    q: { id: u16(buf, 0), flags, opcode: (flags >> 11) & 0xf, name: first.name, odd: first.odd, qtype, qclass, questionEnd, edns },
  };
}
