// Reads `nft -j list table inet egressctl` (already parsed) into the few facts serve,
// /status and doctor care about: which policy digest the chains carry, whether the
// filter and nat chains are hooked, and how many learned elements there are. Pure.
import { ALWAYS_DIGEST_HEX, CHAIN_FILTER, CHAIN_GUARD, CHAIN_NAT, LEARNED_V4, LEARNED_V6, TABLE_FAMILY, TABLE_NAME } from "../ruleset/names.ts";
import { readRecordedUpstreams, type RecordedUpstreams } from "../ruleset/upstream-record.ts";

export interface KernelState {
  present: boolean;
  digest: string | null;
  /** the always lists' address digest the chains carry (null: none) */
  alwaysDigest: string | null;
  filterHooked: boolean;
  natHooked: boolean;
  /** the DNS guard (port-53 packets leave only through the proxy) is hooked to filter output */
  guardHooked: boolean;
  learned: { 4: number; 6: number };
  /** learned addresses, for checks that one is really there */
  learnedAddresses: string[];
  /** learned elements with the name in their comment (null: none) and seconds left */
  learnedEntries: LearnedEntry[];
  /** the upstreams recorded with the ruleset (sets upstreams4/upstreams6); null when none */
  recordedUpstreams: RecordedUpstreams | null;
  /** named counters of the table (denied_cidr, ...): packets and bytes */
  counters: Record<string, { packets: number; bytes: number }>;
}

export interface LearnedEntry {
  family: 4 | 6;
  address: string;
  name: string | null;
  expiresSec: number;
}

const ABSENT: KernelState = { present: false, digest: null, alwaysDigest: null, filterHooked: false, natHooked: false, guardHooked: false, learned: { 4: 0, 6: 0 }, learnedAddresses: [], learnedEntries: [], recordedUpstreams: null, counters: {} };

type Obj = Record<string, any>;

/**
 * `chainText` is the text listing of our base chains: nft 1.0.6 leaves chain comments
 * (where the policy digest lives) out of its JSON, but prints them in text.
 */
export function readKernelState(listing: unknown, chainText = ""): KernelState {
  const items: Obj[] = (listing as Obj | null)?.nftables ?? [];
  if (!Array.isArray(items) || items.length === 0) return ABSENT;
  const st: KernelState = { ...ABSENT, present: true, learned: { 4: 0, 6: 0 }, learnedAddresses: [], learnedEntries: [], counters: {}, recordedUpstreams: readRecordedUpstreams([listing]) };
  st.digest = digestIn(chainText);
  st.alwaysDigest = digestIn(chainText, ALWAYS_RE);
  for (const it of items) {
    const chain = it.chain as Obj | undefined;
    if (chain) {
      st.digest = digestIn(String(chain.comment ?? "")) ?? st.digest;
      st.alwaysDigest = digestIn(String(chain.comment ?? ""), ALWAYS_RE) ?? st.alwaysDigest;
      if (chain.name === CHAIN_FILTER && chain.hook === "output") st.filterHooked = true;
      if (chain.name === CHAIN_NAT && chain.hook === "output") st.natHooked = true;
      if (chain.name === CHAIN_GUARD && chain.hook === "output") st.guardHooked = true;
    }
    const counter = it.counter as Obj | undefined;
    if (counter && typeof counter.name === "string") {
      st.counters[counter.name] = { packets: Number(counter.packets ?? 0), bytes: Number(counter.bytes ?? 0) };
    }
    const set = it.set as Obj | undefined;
    if (set && (set.name === LEARNED_V4 || set.name === LEARNED_V6)) {
      const elems: unknown[] = Array.isArray(set.elem) ? set.elem : [];
      const family = set.name === LEARNED_V4 ? 4 : 6;
      st.learned[family] += elems.length;
      for (const e of elems) {
        const el = typeof e === "string" ? { val: e } : ((e as Obj)?.elem ?? {});
        if (typeof el.val !== "string") continue;
        st.learnedAddresses.push(el.val);
        const name = typeof el.comment === "string" && el.comment ? el.comment : null;
        st.learnedEntries.push({ family, address: el.val, name, expiresSec: Number(el.expires ?? el.timeout ?? 0) });
      }
    }
  }
  return st;
}

/**
 * The digest our chains carry. Every base chain carries it; if they disagree (one replaced
 * behind serve's back) the result is "mixed:…", which matches no policy digest, so the
 * self-test reports the kernel as not matching.
 */
const POLICY_RE = /egressctl policy sha256:([0-9a-f]{64})/g;
const ALWAYS_RE = new RegExp(`egressctl policy sha256:[0-9a-f]{64} always ([0-9a-f]{${ALWAYS_DIGEST_HEX}})`, "g");

function digestIn(text: string, re: RegExp = POLICY_RE): string | null {
  const found = new Set([...text.matchAll(re)].map((m) => m[1]!));
  if (found.size === 0) return null;
  return found.size === 1 ? [...found][0]! : `mixed:${[...found].sort().join(",")}`;
}

/**
 * The same facts from cheaper reads (serve): the text of `nft list chains` (only chains,
 * so libnftables fetches no set element), the named counters and the learned sets
 * dumped over netlink (src/core/ruleset/netlink-dump.ts). A listing of the whole table
 * costs a second and more once the learned sets are full; these cost what they hold.
 */
export function kernelStateFrom(parts: { chains: string; counters: { name: string; packets: number; bytes: number }[]; learned: LearnedEntry[]; upstreams?: RecordedUpstreams | null }): KernelState {
  const block = tableBlock(parts.chains);
  if (block === null) return ABSENT;
  const st: KernelState = { ...ABSENT, present: true, learned: { 4: 0, 6: 0 }, learnedAddresses: [], learnedEntries: parts.learned, counters: {} };
  st.digest = digestIn(block);
  st.alwaysDigest = digestIn(block, ALWAYS_RE);
  const hooked = (name: string, type: string) => new RegExp(`chain ${name} \\{[^}]*type ${type} hook output\\b`).test(block);
  st.filterHooked = hooked(CHAIN_FILTER, "filter");
  st.natHooked = hooked(CHAIN_NAT, "nat");
  st.guardHooked = hooked(CHAIN_GUARD, "filter");
  st.recordedUpstreams = parts.upstreams ?? null;
  for (const c of parts.counters) st.counters[c.name] = { packets: c.packets, bytes: c.bytes };
  for (const e of parts.learned) {
    st.learned[e.family]++;
    st.learnedAddresses.push(e.address);
  }
  return st;
}

/** the `table inet egressctl { ... }` part of a text listing; null when absent */
function tableBlock(text: string): string | null {
  const start = text.search(new RegExp(`^table ${TABLE_FAMILY} ${TABLE_NAME} \\{`, "m"));
  if (start < 0) return null;
  const end = text.indexOf("\n}", start);
  return text.slice(start, end < 0 ? undefined : end + 2);
}
