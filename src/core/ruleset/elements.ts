// Set elements as nft text: a range that is exactly one prefix prints as `addr/prefix`
// (a host as a bare `addr`), anything else as `first-last`, so the text stays readable
// and deterministic without splitting ranges into many prefixes.
import { BITS, cidrRange, formatAddress, parseCidr, type Family, type Range } from "../net/ip.ts";

export function rangeText(family: Family, r: Range): string {
  const size = r.end - r.start + 1n;
  const isPow2 = (size & (size - 1n)) === 0n;
  if (isPow2 && r.start % size === 0n) {
    const prefix = BITS[family] - (size.toString(2).length - 1);
    const a = formatAddress(family, r.start);
    return prefix === BITS[family] ? a : `${a}/${prefix}`;
  }
  return `${formatAddress(family, r.start)}-${formatAddress(family, r.end)}`;
}

/** Merges CIDR texts (possibly overlapping) into sorted disjoint ranges. */
export function mergeCidrs(cidrs: readonly string[]): Range[] {
  const rs = cidrs
    .map((c) => parseCidr(c))
    .filter((c) => c !== null)
    .map((c) => cidrRange(c))
    .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const out: Range[] = [];
  for (const r of rs) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end + 1n) {
      if (r.end > last.end) last.end = r.end;
    } else out.push({ ...r });
  }
  return out;
}
