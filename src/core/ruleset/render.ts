// The renderer: ruleset model -> nft script text, deterministic byte for byte (goldens
// depend on it). The script is one transaction (see docs/ruleset.md, "Transaction"):
//   1. `add table`, `add set learned*`, `add counter`: create if absent, keep if present
//      (so learned elements and counter values survive every apply);
//   2. remove the previous chains and static sets: each is `add`ed before it is
//      `delete`d, because `delete` of something absent fails with ENOENT and would abort
//      the whole transaction; chains go before the sets and chains they reference;
//   3. create the new static sets, their elements, and the chains with their rules.
import type { NftChain, NftSet, Ruleset } from "./model.ts";
import {
  CHAIN_DENY, CHAIN_FILTER, CHAIN_GUARD, CHAIN_NAT, CHAIN_NOTRACK_IN, CHAIN_NOTRACK_OUT, DENIAL_REASON_NAMES, DENIED_SIZE, DENIED_TIMEOUT,
  DENIED_V4, DENIED_V6, LEARNED_V4, LEARNED_V6, LEGACY_DENIED_SETS, REBUILT_SETS, TABLE_FAMILY, TABLE_NAME, denialChain,
} from "./names.ts";

export const T = `${TABLE_FAMILY} ${TABLE_NAME}`;
const ADDR: Record<4 | 6, string> = { 4: "ipv4_addr", 6: "ipv6_addr" };

/** every chain any mode may create: all are removed on apply, those that jump before their targets */
const ALL_CHAINS = [CHAIN_FILTER, CHAIN_GUARD, CHAIN_NAT, ...DENIAL_REASON_NAMES.map(denialChain), CHAIN_DENY, CHAIN_NOTRACK_OUT, CHAIN_NOTRACK_IN];

/** the header line that carries the digest; serve/doctor read it back with parseHeader */
export function headerLine(r: Ruleset): string {
  const denial = r.audit ? "audit" : r.dropSilently ? "drop" : "reject";
  return `# egressctl ruleset: policy sha256:${r.policyDigest} mode ${r.mode} denials ${denial}`;
}

export function renderRuleset(r: Ruleset): string {
  const out: string[] = [
    headerLine(r),
    "# One transaction: it lands whole or not at all. Generated; edit the policy, not this.",
    "",
    "# Keep: created when absent, left as they are when present (learned elements, counter values).",
    `add table ${T}`,
    learnedSetDecl(4, r.learnedTimeout, r.learnedSize),
    learnedSetDecl(6, r.learnedTimeout, r.learnedSize),
    deniedSetDecl(4),
    deniedSetDecl(6),
    ...r.counters.map((c) => `add counter ${T} ${c}`),
    "",
    "# Replace: remove the previous chains and static sets (add first: delete of an absent object fails).",
    ...ALL_CHAINS.flatMap((c) => [`add chain ${T} ${c}`, `delete chain ${T} ${c}`]),
    ...Object.entries(REBUILT_SETS).flatMap(([name, s]) => [setDecl(name, s.kind, s.family), `delete set ${T} ${name}`]),
    "# Sets of earlier versions (the denied flows without their reason), removed the same way.",
    ...LEGACY_DENIED_SETS.flatMap(([name, family]) => [legacyDeniedDecl(name, family), `delete set ${T} ${name}`]),
  ];
  for (const s of r.sets) out.push("", ...renderSet(s));
  for (const c of r.chains) out.push("", ...renderChain(c));
  return out.join("\n") + "\n";
}

// `add set` of an existing set keeps its elements and takes the new size (checked on
// Linux 6.18), so a restart with another bound applies it without losing anything.
function learnedSetDecl(family: 4 | 6, timeout: number, size: number): string {
  const name = family === 4 ? LEARNED_V4 : LEARNED_V6;
  return `add set ${T} ${name} { type ${ADDR[family]}; flags timeout; timeout ${timeout}s; size ${size}; }`;
}

/** the key ends with the reason's code (names.ts DENIAL_REASONS), typed as a mark */
function deniedSetDecl(family: 4 | 6): string {
  const name = family === 4 ? DENIED_V4 : DENIED_V6;
  return `add set ${T} ${name} { type ${ADDR[family]} . inet_proto . inet_service . mark; flags dynamic,timeout; timeout ${DENIED_TIMEOUT}s; size ${DENIED_SIZE}; }`;
}

/** exactly as earlier versions declared them, so `add` is a no-op where they exist */
function legacyDeniedDecl(name: string, family: 4 | 6): string {
  return `add set ${T} ${name} { type ${ADDR[family]} . inet_proto . inet_service; flags dynamic,timeout; timeout ${DENIED_TIMEOUT}s; size ${DENIED_SIZE}; }`;
}

function setDecl(name: string, kind: NftSet["kind"], family: 4 | 6): string {
  return kind === "interval"
    ? `add set ${T} ${name} { type ${ADDR[family]}; flags interval; }`
    : `add set ${T} ${name} { type ${ADDR[family]} . inet_service; }`;
}

function renderSet(s: NftSet): string[] {
  const out = [`# ${s.purpose}, IPv${s.family}: ${s.elements.length} element(s)`, setDecl(s.name, s.kind, s.family)];
  // An empty element list is a syntax error, so an empty set gets no `add element` line.
  if (s.elements.length) out.push(`add element ${T} ${s.name} { ${s.elements.join(", ")} }`);
  return out;
}

function renderChain(c: NftChain): string[] {
  const spec: string[] = [];
  if (c.base) spec.push(`type ${c.base.type} hook ${c.base.hook} priority ${c.base.priority}; policy ${c.base.policy};`);
  if (c.comment) spec.push(`comment "${c.comment}";`);
  const out = [`add chain ${T} ${c.name}${spec.length ? ` { ${spec.join(" ")} }` : ""}`];
  for (const rule of c.rules) {
    if (rule.why) out.push(`# ${rule.why}`);
    out.push(`add rule ${T} ${c.name} ${rule.text}`);
  }
  return out;
}

/** Removes egressctl's table and nothing else; `add` first so an absent table is not an error. */
export function renderDelete(): string {
  return `add table ${T}\ndelete table ${T}\n`;
}

/** Reads the digest back from a rendered text (first line). */
export function parseHeader(text: string): { policyDigest: string } | null {
  const m = /^# egressctl ruleset: policy sha256:([0-9a-f]{64})/.exec(text);
  return m ? { policyDigest: m[1]! } : null;
}
