// Decides addresses: a deny rule that contains an address beats every allow rule, in
// whatever order they are listed (OpenSandbox drops its deny sets before it accepts its
// allow sets; Cilium's deny policies win the same way). Names are first match; addresses
// are not. Turns the rules into disjoint intervals, so the kernel's sets need no
// ordering: one sweep over the rule boundaries with a min-heap of the rules covering the
// current point, keyed so that every deny rule sorts before every allow rule and, within
// one action, the earlier rule first. The top of the heap decides each elementary
// segment (and is the rule doctor names). O(n log n), so 100k rules are fine.
import type { Decision, IntervalSets, Policy, Rule } from "../policy/types.ts";
import { cidrRange, parseAddress, type Address, type Family, type Range } from "./ip.ts";

/** A maximal run of addresses decided by one rule. */
export interface Segment extends Range {
  rule: Rule;
}

/** Disjoint, sorted segments of one family, each labelled with its deciding rule. */
export function paint(rules: readonly Rule[], family: Family): Segment[] {
  const rs = rules.filter((r) => r.cidr !== undefined && r.cidr.family === family);
  // heap keys: deny rules 0..n-1, allow rules n..2n-1, each in list order
  const key = rs.map((r, i) => (r.action === "deny" ? i : rs.length + i));
  const byKey: Rule[] = new Array(2 * rs.length);
  rs.forEach((r, i) => (byKey[key[i]!] = r));
  const events: { pos: bigint; k: number }[] = [];
  rs.forEach((r, i) => {
    const { start, end } = cidrRange(r.cidr!);
    events.push({ pos: start, k: key[i]! }, { pos: end + 1n, k: ~key[i]! }); // ~k marks the end
  });
  events.sort((a, b) => (a.pos < b.pos ? -1 : a.pos > b.pos ? 1 : 0));
  const heap = new MinHeap();
  const active = new Uint8Array(2 * rs.length);
  const out: Segment[] = [];
  for (let e = 0; e < events.length; ) {
    const pos = events[e]!.pos;
    for (; e < events.length && events[e]!.pos === pos; e++) {
      const k = events[e]!.k;
      if (k >= 0) {
        active[k] = 1;
        heap.push(k);
      } else active[~k] = 0;
    }
    while (heap.size > 0 && active[heap.peek()] === 0) heap.pop();
    if (heap.size === 0 || e === events.length) continue;
    const rule = byKey[heap.peek()]!;
    const end = events[e]!.pos - 1n;
    const last = out[out.length - 1];
    if (last && last.rule === rule && last.end + 1n === pos) last.end = end;
    else out.push({ start: pos, end, rule });
  }
  return out;
}

/** Per family: deny = every address some deny rule contains; allow = what allow rules add to that. */
export function resolveIntervals(rules: Rule[]): IntervalSets {
  const sets = (family: Family) => {
    const allow: Range[] = [];
    const deny: Range[] = [];
    for (const s of paint(rules, family)) {
      const list = s.rule.action === "allow" ? allow : deny;
      const last = list[list.length - 1];
      if (last && last.end + 1n === s.start) last.end = s.end;
      else list.push({ start: s.start, end: s.end });
    }
    return { allow, deny };
  };
  return { 4: sets(4), 6: sets(6) };
}

/**
 * One-off lookup by linear scan, the rule read literally: the first deny rule that
 * contains the address, else the first allow rule that does, else defaultAction (also
 * for text that is no address).
 */
export function lookupAddress(policy: Policy, addr: string): Decision {
  const a = parseAddress(addr);
  let allow: Rule | undefined;
  if (a) {
    for (const r of policy.rules) {
      if (!r.cidr || r.cidr.family !== a.family) continue;
      const { start, end } = cidrRange(r.cidr);
      if (a.value < start || a.value > end) continue;
      if (r.action === "deny") return { action: "deny", rule: r, layer: "policy" };
      allow ??= r;
    }
  }
  return allow ? { action: "allow", rule: allow, layer: "policy" } : { action: policy.defaultAction, layer: "policy" };
}

export type AddressMatcher = (a: Address) => Decision;

/** Binary search over painted segments; decisions are built once, here. */
export function compileAddressMatcher(policy: Policy): AddressMatcher {
  const fallback: Decision = Object.freeze({ action: policy.defaultAction, layer: "policy" as const });
  const table = (family: Family) => {
    const segs = paint(policy.rules, family);
    const memo = new Map<Rule, Decision>();
    const decision = (r: Rule) => memo.get(r) ?? memo.set(r, Object.freeze({ action: r.action, rule: r, layer: "policy" as const })).get(r)!;
    return { starts: segs.map((s) => s.start), ends: segs.map((s) => s.end), decisions: segs.map((s) => decision(s.rule)) };
  };
  const t4 = table(4);
  const t6 = table(6);
  return (a: Address): Decision => {
    const t = a.family === 4 ? t4 : t6;
    let lo = 0;
    let hi = t.starts.length - 1;
    // last segment whose start <= value
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (t.starts[mid]! <= a.value) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi >= 0 && a.value <= t.ends[hi]! ? t.decisions[hi]! : fallback;
  };
}

/** Binary min-heap of small integers (rule positions). */
class MinHeap {
  private a: number[] = [];
  get size(): number {
    return this.a.length;
  }
  peek(): number {
    return this.a[0]!;
  }
  push(x: number): void {
    const a = this.a;
    let i = a.push(x) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= x) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = x;
  }
  pop(): void {
    const a = this.a;
    const last = a.pop()!;
    if (a.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const c = l + 1 < a.length && a[l + 1]! < a[l]! ? l + 1 : l;
      if (a[c]! >= last) break;
      a[i] = a[c]!;
      i = c;
    }
    a[i] = last;
  }
}
