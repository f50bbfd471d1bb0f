// Reads the kernel's sets of recently denied flows (denials4/denials6, filled by the
// per-reason deny chains) and tells which flows are new since the last look, for
// `net.denied` events; the last part of each key is the reason's code (names.ts).
// Pure: the parsed `nft -j list set` output in, flows out. The kernel does the rate
// limiting: a flow stays in its set for DENIED_TIMEOUT seconds and a repeat does not
// refresh it, so each flow is new at most once a minute.
import { formatV6 } from "../net/ip.ts";
import { reasonOfCode, type DenialReason } from "../ruleset/names.ts";

export interface DeniedFlow {
  family: 4 | 6;
  destination: string;
  protocol: string;
  port: number;
  /** which rule refused it; null for a code this version does not know */
  reason: DenialReason | null;
  /** seconds the kernel keeps the entry */
  expiresSec: number;
}

type Obj = Record<string, any>;

export function readDeniedFlows(listing: unknown, family: 4 | 6): DeniedFlow[] {
  const items: Obj[] = (listing as Obj | null)?.nftables ?? [];
  const out: DeniedFlow[] = [];
  for (const it of Array.isArray(items) ? items : []) {
    const elems: unknown[] = Array.isArray(it?.set?.elem) ? it.set.elem : [];
    for (const e of elems) {
      const el = ((e as Obj)?.elem ?? e) as Obj | null;
      const concat: unknown = el?.val?.concat;
      if (!Array.isArray(concat)) continue;
      const [destination, protocol, port, code] = concat;
      if (typeof destination !== "string" || typeof protocol !== "string") continue;
      out.push({ family, destination, protocol, port: Number(port), reason: reasonOfCode(Number(code)), expiresSec: Number(el?.expires ?? 0) });
    }
  }
  return out;
}

const PROTOCOLS: Record<number, string> = { 6: "tcp", 17: "udp" };

/**
 * One element of a denied-flow set as a netlink dump gives it (the key's bytes, and the
 * milliseconds left): `address . inet_proto . inet_service . mark`, each part in whole
 * 4-byte registers; the protocol in the first byte of its register, the port in network
 * order, the reason's code (a mark) in host order (little-endian on every target
 * egressctl is built for). null for a key of another shape.
 */
export function deniedFlowOfKey(family: 4 | 6, key: Uint8Array, expiresMs: number): DeniedFlow | null {
  const a = family === 4 ? 4 : 16;
  if (key.length !== a + 12) return null;
  const destination = family === 4 ? `${key[0]}.${key[1]}.${key[2]}.${key[3]}` : formatV6(key, 0);
  const proto = key[a]!;
  const port = (key[a + 4]! << 8) | key[a + 5]!;
  const code = new DataView(key.buffer, key.byteOffset + a + 8, 4).getUint32(0, true);
  return { family, destination, protocol: PROTOCOLS[proto] ?? String(proto), port, reason: reasonOfCode(code), expiresSec: expiresMs / 1000 };
}

/** Remembers what the last look saw; a flow is new when absent then, or re-added since. */
export class DeniedFlowTracker {
  private seen = new Map<string, number>();

  newFlows(current: readonly DeniedFlow[]): DeniedFlow[] {
    const next = new Map<string, number>();
    const fresh: DeniedFlow[] = [];
    for (const f of current) {
      const key = `${f.destination} ${f.protocol} ${f.port} ${f.reason}`;
      const before = this.seen.get(key);
      // an entry only counts down; more time left than last time means it expired and
      // the kernel added it again between two looks
      if (before === undefined || f.expiresSec > before + 1) fresh.push(f);
      next.set(key, f.expiresSec);
    }
    this.seen = next;
    return fresh;
  }
}
