// Bounds-checked reading of DNS wire format (RFC 1035 section 4). Every read checks the
// packet length first and reports failure as a value, never by throwing, so nothing a
// packet contains can crash the caller. Names are returned as comparable text: lowercase,
// no trailing dot, and any byte outside [a-z0-9_-] escaped as \DDD, so a label that
// contains a "." can never be confused with two labels (a policy bypass otherwise).

export const HEADER_LEN = 12;
export const TYPE_A = 1;
export const TYPE_CNAME = 5;
export const TYPE_DNAME = 39;
export const TYPE_AAAA = 28;
export const TYPE_OPT = 41;
export const CLASS_IN = 1;

/** RFC 1035: a name is at most 255 octets on the wire */
const MAX_NAME_WIRE = 255;
/** enough for any legitimate name; also bounds work on hostile pointer chains */
const MAX_POINTER_HOPS = 32;

export interface NameRead {
  /** comparable text: lowercase, escaped, "" for the root */
  name: string;
  /** true when some byte needed escaping (the name cannot match a policy name) */
  odd: boolean;
  /** offset just after the name at its original position */
  end: number;
  /** true when the name used a compression pointer */
  compressed: boolean;
}

/** Reads a possibly compressed name at `off`; null if it runs out of bounds or loops. */
export function readName(buf: Uint8Array, off: number): NameRead | null {
  let pos = off;
  let end = -1;
  let hops = 0;
  let wire = 1;
  /** the name so far once it is odd; until then it is SCRATCH[0, at) */
  let name = "";
  let at = 0;
  let odd = false;
  // A pointer must point strictly before the label that holds it: chains then always
  // move backwards and terminate, which rules out compression loops without a visited set.
  let floor = off;
  for (;;) {
    if (pos >= buf.length) return null;
    const len = buf[pos]!;
    if (len === 0) {
      if (end < 0) end = pos + 1;
      if (!odd) name = at > 0 ? SCRATCH.latin1Slice(0, at - 1) : "";
      return { name, odd, end, compressed: hops > 0 };
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) return null;
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
      if (target >= floor || ++hops > MAX_POINTER_HOPS) return null;
      if (end < 0) end = pos + 2;
      pos = floor = target;
      continue;
    }
    if ((len & 0xc0) !== 0) return null; // 0x40/0x80: extended label types, obsolete
    if (pos + 1 + len > buf.length) return null;
    wire += len + 1;
    if (wire > MAX_NAME_WIRE) return null;
    // Plain labels (every byte in [A-Za-z0-9_-], almost every name) are copied lowercased
    // into one scratch buffer and become a string once, at the end; the first odd label
    // turns the rest of the name into text label by label.
    if (!odd && plainInto(buf, pos + 1, len, at)) {
      at += len + 1;
    } else {
      if (!odd) {
        odd = true;
        name = at > 0 ? SCRATCH.latin1Slice(0, at - 1) : "";
      }
      const label = escapeLabel(latin1(buf, pos + 1, pos + 1 + len).toLowerCase());
      name = name === "" ? label : `${name}.${label}`;
    }
    pos += 1 + len;
  }
}

/** room for the longest name (255 octets on the wire, so at most 254 characters) */
const SCRATCH = Buffer.allocUnsafe(256) as Buffer & { latin1Slice(start: number, end: number): string };
const DOT = 46;

/**
 * Copies the label at `start` lowercased into SCRATCH at `at`, followed by a dot, when
 * every byte is in [A-Za-z0-9_-]; false (SCRATCH then holds garbage past `at`) otherwise.
 */
function plainInto(buf: Uint8Array, start: number, len: number, at: number): boolean {
  for (let i = 0; i < len; i++) {
    let c = buf[start + i]!;
    if (c >= 65 && c <= 90) c += 32;
    else if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 95)) return false;
    SCRATCH[at + i] = c;
  }
  SCRATCH[at + len] = DOT;
  return true;
}

function latin1(buf: Uint8Array, start: number, end: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString("latin1");
}

function escapeLabel(label: string): string {
  let out = "";
  for (let i = 0; i < label.length; i++) {
    const c = label.charCodeAt(i);
    const ok = (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 95;
    out += ok ? label[i] : `\\${String(c).padStart(3, "0")}`;
  }
  return out;
}

export function u16(buf: Uint8Array, off: number): number {
  return (buf[off]! << 8) | buf[off + 1]!;
}

export function u32(buf: Uint8Array, off: number): number {
  return ((buf[off]! << 24) >>> 0) + ((buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!);
}

export interface RecordRead {
  owner: NameRead;
  type: number;
  klass: number;
  ttl: number;
  rdStart: number;
  rdEnd: number;
  /** offset of the next record */
  end: number;
}

/**
 * Reads one resource record header at `off`; null if it does not fit the packet.
 * `question`: the name read at offset 12, which most answer records point back to (two
 * bytes, C0 0C); such an owner is that name, without reading it again.
 */
export function readRecord(buf: Uint8Array, off: number, question?: NameRead): RecordRead | null {
  const owner = question && buf[off] === 0xc0 && buf[off + 1] === HEADER_LEN && off + 2 <= buf.length
    ? { name: question.name, odd: question.odd, end: off + 2, compressed: true }
    : readName(buf, off);
  if (!owner || owner.end + 10 > buf.length) return null;
  const p = owner.end;
  const rdLen = u16(buf, p + 8);
  const rdStart = p + 10;
  if (rdStart + rdLen > buf.length) return null;
  return { owner, type: u16(buf, p), klass: u16(buf, p + 2), ttl: u32(buf, p + 4), rdStart, rdEnd: rdStart + rdLen, end: rdStart + rdLen };
}
