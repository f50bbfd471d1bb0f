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
  if (s.length < 2 || s.length > 45 || !/^[0-9a-fA-F:.]+$/.test(s)) return null;
  const halves = s.split("::");
  if (halves.length > 2) return null;
  // an embedded IPv4 tail ("::ffff:192.0.2.1") may only end the whole address
  const groups = (part: string, endsAddress: boolean): number[] | null => {
    if (part === "") return [];
    const out: number[] = [];
    const items = part.split(":");
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if (endsAddress && i === items.length - 1 && it.includes(".")) {
        const v4 = parseIPv4(it);
        if (v4 === null) return null;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(it)) return null;
        out.push(parseInt(it, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]!, halves.length === 1);
  const tail = halves.length === 2 ? groups(halves[1]!, true) : [];
  if (!head || !tail) return null;
  let all: number[];
  if (halves.length === 2) {
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return null;
    all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    all = head;
  }
  if (all.length !== 8) return null;
  let v = 0n;
  for (const g of all) v = (v << 16n) | BigInt(g);
  return v;
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
  // RFC 5952 section 5: IPv4-mapped addresses keep the dotted tail (::ffff:192.0.2.1)
  if (value >> 32n === 0xffffn) return `::ffff:${formatAddress(4, value & 0xffffffffn)}`;
  const g: number[] = [];
  for (let i = 7; i >= 0; i--) g.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  // RFC 5952: compress the longest run (length >= 2) of zero groups, first one on ties.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
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
