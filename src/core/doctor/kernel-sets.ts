// The static interval sets of table inet egressctl (allow4, deny6, doh4, ...) as read
// from `nft -j list table inet egressctl`, and membership of one address. nft lists an
// interval element as a plain address, {"prefix": {addr, len}} or {"range": [a, b]}
// (wrapped in {"elem": {"val": ...}} when it carries a comment or timeout). Pure.
import { cidrRange, parseAddress, parseCidr, type Address, type Range } from "../net/ip.ts";
import { STATIC_SETS, type StaticSetName } from "../ruleset/names.ts";

type Obj = Record<string, any>;

export type StaticSets = Partial<Record<StaticSetName, Range[]>>;

export function readStaticSets(listing: unknown): StaticSets {
  const items: Obj[] = (listing as Obj | null)?.nftables ?? [];
  const out: StaticSets = {};
  for (const it of Array.isArray(items) ? items : []) {
    const set = it?.set as Obj | undefined;
    if (!set || !(set.name in STATIC_SETS)) continue;
    const ranges: Range[] = [];
    for (const e of Array.isArray(set.elem) ? set.elem : []) {
      const r = elementRange(e?.elem?.val ?? e);
      if (r) ranges.push(r);
    }
    out[set.name as StaticSetName] = ranges;
  }
  return out;
}

function elementRange(v: unknown): Range | null {
  if (typeof v === "string") {
    const c = parseCidr(v);
    return c ? cidrRange(c) : null;
  }
  const o = v as Obj | null;
  if (o?.prefix && typeof o.prefix.addr === "string") {
    const c = parseCidr(`${o.prefix.addr}/${Number(o.prefix.len)}`);
    return c ? cidrRange(c) : null;
  }
  if (Array.isArray(o?.range) && typeof o.range[0] === "string" && typeof o.range[1] === "string") {
    const a = parseAddress(o.range[0]);
    const b = parseAddress(o.range[1]);
    return a && b && a.family === b.family ? { start: a.value, end: b.value } : null;
  }
  return null;
}

/** the static sets of the address's family that hold it, e.g. ["deny4"] */
export function setsHolding(sets: StaticSets, a: Address): StaticSetName[] {
  const names = (Object.keys(STATIC_SETS) as StaticSetName[]).filter((n) => STATIC_SETS[n].family === a.family);
  return names.filter((n) => (sets[n] ?? []).some((r) => a.value >= r.start && a.value <= r.end));
}
