// The namespace's own addresses and gateways, from the kernel's text tables in /proc/net
// (read by src/effects/sys/local-addresses.ts): an answer naming one of them must not
// open it (special.ts). Pure parsing of that text:
//   fib_trie     IPv4: every "/32 host LOCAL" entry (an address of an interface) and
//                "/32 link BROADCAST" (a subnet's broadcast address)
//   if_inet6     IPv6: the addresses of the interfaces
//   route        IPv4 gateways (hex in host byte order)
//   ipv6_route   IPv6 next hops
import type { LocalAddresses } from "./special.ts";
import { parseIPv4 } from "./ip.ts";

export interface ProcNetText {
  fibTrie: string;
  ifInet6: string;
  route: string;
  ipv6Route: string;
  /** /proc/net/route's hex is in host byte order */
  littleEndian: boolean;
}

export function parseLocalAddresses(t: ProcNetText): LocalAddresses {
  const v4 = new Map<bigint, string>();
  const v6 = new Map<bigint, string>();
  let last: bigint | null = null;
  for (const line of t.fibTrie.split("\n")) {
    const leaf = /^\s*\|-- (\d+\.\d+\.\d+\.\d+)\s*$/.exec(line);
    if (leaf) {
      last = parseIPv4(leaf[1]!);
      continue;
    }
    const m = /^\s*\/32 (host LOCAL|link BROADCAST)/.exec(line);
    if (m && last !== null && !v4.has(last)) v4.set(last, m[1] === "host LOCAL" ? "address" : "broadcast address");
  }
  for (const line of t.ifInet6.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 6 && /^[0-9a-f]{32}$/i.test(f[0]!)) v6.set(BigInt(`0x${f[0]}`), `address on ${f[5]}`);
  }
  for (const line of t.route.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 3 || !/^[0-9A-Fa-f]{8}$/.test(f[2]!)) continue;
    let g = Number.parseInt(f[2]!, 16) >>> 0;
    if (t.littleEndian) g = (((g & 0xff) << 24) | ((g & 0xff00) << 8) | ((g >>> 8) & 0xff00) | (g >>> 24)) >>> 0;
    if (g !== 0 && !v4.has(BigInt(g))) v4.set(BigInt(g), `gateway via ${f[0]}`);
  }
  for (const line of t.ipv6Route.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || !/^[0-9a-f]{32}$/i.test(f[4]!)) continue;
    const g = BigInt(`0x${f[4]}`);
    if (g !== 0n && !v6.has(g)) v6.set(g, `gateway via ${f[9]}`);
  }
  return { 4: v4, 6: v6 };
}

/** Same content, same signature: a re-read that changed nothing rebuilds nothing. */
export function localSignature(l: LocalAddresses): string {
  const part = (m: ReadonlyMap<bigint, string>) => [...m.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).join(",");
  return `${part(l[4])}|${part(l[6])}`;
}
