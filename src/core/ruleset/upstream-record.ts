// The upstream resolvers as recorded in the kernel, in the sets upstreams4/upstreams6
// (names.ts): each element is `address . port` with the comment "<position> <origin>".
// A set has no order, so the position keeps the order the proxy tries them in; the origin
// says whether they were configured or read from resolv.conf at a first start (doctor
// warns about the latter). Pure: the parsed `nft -j list set` output in, upstreams out.
import { formatAddress, parseAddress, type Family } from "../net/ip.ts";
import type { Upstream, UpstreamOrigin } from "./model.ts";
import { UPSTREAM_SETS } from "./names.ts";

export function upstreamComment(position: number, origin: UpstreamOrigin): string {
  return `${position} ${origin}`;
}

export interface RecordedUpstreams {
  upstreams: Upstream[];
  origin: UpstreamOrigin;
}

type Obj = Record<string, any>;

/** one element of upstreams4/upstreams6, however it was read */
export interface RecordedElement {
  family: Family;
  address: string;
  port: number;
  comment: string | null;
}

/**
 * The recorded upstreams from listings that hold the two sets (`nft -j list`, the whole
 * table's or each set's); null when there are none (or no table).
 */
export function readRecordedUpstreams(listings: readonly unknown[]): RecordedUpstreams | null {
  const found: RecordedElement[] = [];
  for (const listing of listings) {
    const items: Obj[] = (listing as Obj | null)?.nftables ?? [];
    for (const it of Array.isArray(items) ? items : []) {
      if (!(String(it?.set?.name) in UPSTREAM_SETS)) continue;
      for (const e of Array.isArray(it.set.elem) ? it.set.elem : []) {
        const el = (e as Obj)?.elem ?? e;
        const [addr, port] = Array.isArray(el?.val?.concat) ? el.val.concat : [];
        const a = typeof addr === "string" ? parseAddress(addr) : null;
        if (!a || !Number.isInteger(port)) continue;
        found.push({ family: a.family as Family, address: addr, port, comment: typeof el.comment === "string" ? el.comment : null });
      }
    }
  }
  return recordedUpstreams(found);
}

/** The recorded upstreams from the sets' elements (a netlink dump's, or a listing's); null when none. */
export function recordedUpstreams(elements: readonly RecordedElement[]): RecordedUpstreams | null {
  const found: { position: number; origin: string; u: Upstream }[] = [];
  for (const el of elements) {
    const a = parseAddress(el.address);
    if (!a || a.family !== el.family || !Number.isInteger(el.port) || el.port < 1 || el.port > 65535) continue;
    const m = /^(\d+) (\S+)$/.exec(el.comment ?? "");
    found.push({ position: m ? Number(m[1]) : Number.MAX_SAFE_INTEGER, origin: m ? m[2]! : "", u: { family: el.family, address: formatAddress(a.family, a.value), port: el.port } });
  }
  if (found.length === 0) return null;
  found.sort((x, y) => x.position - y.position);
  // one element from resolv.conf makes the whole set so: doctor's warning must not be lost
  const origin: UpstreamOrigin = found.some((f) => f.origin === "resolv.conf") ? "resolv.conf" : "configured";
  return { upstreams: found.map((f) => f.u), origin };
}
