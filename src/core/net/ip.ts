// Pure IP address arithmetic: addresses as bigints, so that IPv4 and IPv6 share one
// interval algebra. Parsing is strict (no leading zeros in IPv4 octets, no zone ids):
// a policy or a DNS answer that needs leniency is already suspicious.
export type Family = 4 | 6;

export interface Address {
  family: Family;
  value: bigint;
}

export interface Cidr {
  family: Family;
  /** network address (host bits cleared) */
  network: bigint;
  prefix: number;
  /** true when the written address had host bits set (a validation warning) */
  hostBitsSet: boolean;
}

/** Inclusive range of addresses of one family. */
export interface Range {
  start: bigint;
  end: bigint;
}

export const BITS: Record<Family, number> = { 4: 32, 6: 128 };
export const MAX: Record<Family, bigint> = { 4: (1n << 32n) - 1n, 6: (1n << 128n) - 1n };

export function parseIPv4(s: string): bigint | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  let v = 0n;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

export function parseIPv6(s: string): bigint | null {
  // A scanner, not split-and-regex: it runs per answered address the guard has not seen
  // and per element of an adopted learned set (tens of thousands at start).
  const n = s.length;
  if (n < 2 || n > 45) return null;
  const groups: number[] = [];
  /** where "::" stands among the groups; -1 when absent */
  let gap = -1;
  let i = 0;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return null;
    gap = 0;
    i = 2;
  }
  while (i < n) {
    let j = i;
    let v = 0;
    for (; j < n; j++) {
      const h = hexValue(s.charCodeAt(j));
      if (h < 0) break;
      v = v * 16 + h;
    }
    if (j < n && s.charCodeAt(j) === 46) {
      // an embedded IPv4 tail ("::ffff:192.0.2.1") may only end the whole address
      const v4 = parseIPv4(s.slice(i));
      if (v4 === null) return null;
      groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      break;
    }
    if (j - i < 1 || j - i > 4) return null;
    groups.push(v);
    if (j === n) break;
    if (s.charCodeAt(j) !== 58) return null;
    if (s.charCodeAt(j + 1) === 58) {
      if (gap >= 0) return null;
      gap = groups.length;
      i = j + 2;
    } else {
      i = j + 1;
      if (i === n) return null; // a trailing single ":"
    }
  }
  if (groups.length > 8) return null;
  if (gap < 0) {
    if (groups.length !== 8) return null;
  } else {
    if (groups.length > 7) return null; // "::" stands for at least one group
    groups.splice(gap, 0, ...new Array<number>(8 - groups.length).fill(0));
  }
  const w = (k: number) => BigInt(groups[k]! * 65536 + groups[k + 1]!);
  return (w(0) << 96n) | (w(2) << 64n) | (w(4) << 32n) | w(6);
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

export function parseAddress(s: string): Address | null {
  const v4 = parseIPv4(s);
  if (v4 !== null) return { family: 4, value: v4 };
  if (s.includes(":")) {
    const v6 = parseIPv6(s);
    if (v6 !== null) return { family: 6, value: v6 };
  }
  return null;
}

export function formatAddress(family: Family, value: bigint): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((sh) => String((value >> sh) & 0xffn)).join(".");
  }
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 16; i++) bytes[i] = Number((value >> BigInt((15 - i) * 8)) & 0xffn);
  return formatV6(bytes, 0);
}

/**
 * The 16 bytes at `off` as RFC 5952 text: the longest run of two or more zero groups
 * compressed (the first on ties), IPv4-mapped addresses with a dotted tail
 * (::ffff:192.0.2.1, section 5). Read from bytes, without a BigInt: this runs per AAAA
 * record of an answer and per element of an adopted set; formatAddress uses it too.
 */
export function formatV6(buf: Uint8Array, off: number): string {
  const group = (i: number) => (buf[off + 2 * i]! << 8) | buf[off + 2 * i + 1]!;
  if (group(0) === 0 && group(1) === 0 && group(2) === 0 && group(3) === 0 && group(4) === 0 && group(5) === 0xffff) {
    return `::ffff:${buf[off + 12]}.${buf[off + 13]}.${buf[off + 14]}.${buf[off + 15]}`;
  }
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (group(i) !== 0) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < 8 && group(j) === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  /** groups [from, to) in hex, joined by colons */
  const hex = (from: number, to: number) => {
    let s = "";
    for (let i = from; i < to; i++) s += i > from ? `:${group(i).toString(16)}` : group(i).toString(16);
    return s;
  };
  return best < 0 ? hex(0, 8) : `${hex(0, best)}::${hex(best + bestLen, 8)}`;
}

export function maskOf(family: Family, prefix: number): bigint {
  const bits = BITS[family];
  return prefix === 0 ? 0n : (MAX[family] >> BigInt(bits - prefix)) << BigInt(bits - prefix);
}

/** Parses `addr` or `addr/prefix`; a bare address is a host prefix (/32 or /128). */
export function parseCidr(s: string): Cidr | null {
  const slash = s.indexOf("/");
  const addrPart = slash < 0 ? s : s.slice(0, slash);
  const addr = parseAddress(addrPart);
  if (!addr) return null;
  const bits = BITS[addr.family];
  let prefix = bits;
  if (slash >= 0) {
    const p = s.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    prefix = Number(p);
    if (prefix > bits) return null;
  }
  const network = addr.value & maskOf(addr.family, prefix);
  return { family: addr.family, network, prefix, hostBitsSet: network !== addr.value };
}

export function cidrRange(c: Cidr): Range {
  return { start: c.network, end: c.network | (MAX[c.family] ^ maskOf(c.family, c.prefix)) };
}

export function formatCidr(c: Pick<Cidr, "family" | "network" | "prefix">): string {
  return `${formatAddress(c.family, c.network)}/${c.prefix}`;
}
