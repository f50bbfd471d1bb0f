// Upstream resolver addresses from configuration (OPENSANDBOX_EGRESS_DNS_UPSTREAM, flags)
// or from resolv.conf text. Pure parsing and validation. Only literal addresses: a name
// would need DNS to find the DNS server, and would go through our own proxy.
import { formatAddress, parseAddress, type Address, type Family } from "../net/ip.ts";

export interface Upstream {
  family: Family;
  /** canonical address text */
  address: string;
  port: number;
  /** "198.51.100.53:53" or "[2001:db8::1]:53": for logs and status */
  label: string;
}

/** More upstreams only add failover latency; the proxy tries them in order. */
export const MAX_UPSTREAMS = 8;

export interface UpstreamParse {
  upstreams: Upstream[];
  problems: string[];
}

/** the namespace's own addresses (ownAddresses), for refusing an upstream there */
export type IsOwn = (a: Address) => boolean;

/**
 * Parses `198.51.100.53`, `198.51.100.53:5353`, `2001:db8::1` and `[2001:db8::1]:5353`.
 * `self` lists our own listeners: an upstream equal to one would forward to ourselves.
 * `own`: the namespace's own addresses. A resolver there runs beside the application,
 * which could be it (or replace it), and the proxy's marked queries to it would pass
 * every rule: refused.
 */
export function parseUpstream(text: string, self: { host: string; port: number }[] = [], own?: IsOwn): Upstream | string {
  const s = text.trim();
  let host = s;
  let port = 53;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (bracket) {
    host = bracket[1]!;
    if (bracket[2] !== undefined) port = Number(bracket[2]);
  } else if (/^[^:]+:\d+$/.test(s)) {
    const i = s.lastIndexOf(":");
    host = s.slice(0, i);
    port = Number(s.slice(i + 1));
  }
  if (host.includes("%")) return `"${s}": zone ids (link-local scopes) are not supported`;
  const parsed = parseAddress(host);
  if (!parsed) return `"${s}" is not a literal IPv4 or IPv6 address (with an optional port); names are not accepted`;
  if (bracket && parsed.family === 4) return `"${s}": brackets are for IPv6 addresses only`;
  if (!Number.isInteger(port) || port < 1 || port > 65535) return `"${s}": port must be 1-65535`;
  const a = unmapped(parsed);
  if (a.value === 0n) return `"${s}": the unspecified address is not a resolver`;
  const address = formatAddress(a.family, a.value);
  for (const l of self) {
    const p = parseAddress(l.host);
    const sa = p && unmapped(p);
    if (sa && sa.family === a.family && sa.value === a.value && l.port === port) {
      return `"${s}" is egressctl's own DNS listener; forwarding there would loop`;
    }
  }
  if (own?.(a)) return `"${s}" is an address of this network namespace: a resolver there runs beside the application, so it is refused (name a resolver outside the sandbox)`;
  return upstreamAt(a.family, address, port);
}

/**
 * An IPv4-mapped IPv6 address (`::ffff:198.51.100.53`) as the IPv4 address it is: the
 * kernel sends to it over IPv4, so the ruleset must exempt it as `ip daddr`, the socket
 * must be an IPv4 one, and `::ffff:127.0.0.1` is our own IPv4 listener.
 */
function unmapped(a: { family: 4 | 6; value: bigint }): { family: 4 | 6; value: bigint } {
  return a.family === 6 && a.value >> 32n === 0xffffn ? { family: 4, value: a.value & 0xffffffffn } : a;
}

/** Parses a comma- or whitespace-separated list; duplicates are dropped with a problem. */
export function parseUpstreamList(text: string, self: { host: string; port: number }[] = [], own?: IsOwn): UpstreamParse {
  return collect(text.split(/[,\s]+/).filter((x) => x !== ""), self, own);
}

/** The `nameserver` lines of resolv.conf text, in order; comments and other options ignored. */
export function parseResolvConf(text: string, self: { host: string; port: number }[] = [], own?: IsOwn): UpstreamParse {
  const items: string[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line.replace(/[#;].*$/, ""));
    if (m) items.push(m[1]!);
  }
  // resolv.conf has no port syntax: a bare IPv6 address is taken whole
  return collect(items.map((x) => (x.includes(":") && !x.startsWith("[") ? `[${x}]` : x)), self, own);
}

/**
 * Whether an address is the namespace's own: loopback (all of 127.0.0.0/8, ::1) or one
 * of `addresses` (its interfaces' addresses, as the effects read them).
 */
export function ownAddresses(addresses: readonly string[]): IsOwn {
  const keys = new Set(addresses.map((t) => parseAddress(t.replace(/%.*$/, ""))).filter((a) => a !== null).map((a) => `${a.family}/${a.value}`));
  return (a) => (a.family === 4 ? a.value >> 24n === 127n : a.value === 1n) || keys.has(`${a.family}/${a.value}`);
}

/** an upstream from a known address and port (e.g. read back from the kernel) */
export function upstreamAt(family: Family, address: string, port: number): Upstream {
  return { family, address, port, label: family === 6 ? `[${address}]:${port}` : `${address}:${port}` };
}

function collect(items: string[], self: { host: string; port: number }[], own?: IsOwn): UpstreamParse {
  const upstreams: Upstream[] = [];
  const problems: string[] = [];
  for (const item of items) {
    const u = parseUpstream(item, self, own);
    if (typeof u === "string") problems.push(u);
    else if (upstreams.some((x) => x.label === u.label)) problems.push(`"${item}" is listed twice; using it once`);
    else if (upstreams.length >= MAX_UPSTREAMS) problems.push(`"${item}" ignored: at most ${MAX_UPSTREAMS} upstreams are used`);
    else upstreams.push(u);
  }
  return { upstreams, problems };
}
