// Turns ordered allow/deny address rules (first match wins) into disjoint intervals,
// so the kernel's sets need no ordering (CONTRACT section 3). One sweep over the rule
// boundaries with a min-heap of the rules covering the current point: the lowest rule
// index on the heap decides each elementary segment. O(n log n), so 100k rules are fine.
import type { Decision, IntervalSets, Policy, Rule } from "../policy/types.ts";
import { cidrRange, parseAddress, type Address, type Family, type Range } from "./ip.ts";

/** A maximal run of addresses decided by one rule. */
export interface Segment extends Range {
  rule: Rule;
}

/** Disjoint, sorted segments of one family, each labelled with its deciding rule. */
export function paint(rules: readonly Rule[], family: Family): Segment[] {
  const rs = rules.filter((r) => r.cidr !== undefined && r.cidr.family === family);
  const events: { pos: bigint; i: number }[] = [];
  rs.forEach((r, i) => {
    const { start, end } = cidrRange(r.cidr!);
    events.push({ pos: start, i }, { pos: end + 1n, i: ~i }); // ~i marks the end
  });
  events.sort((a, b) => (a.pos < b.pos ? -1 : a.pos > b.pos ? 1 : 0));
  const heap = new MinHeap();
  const active = new Uint8Array(rs.length);
  const out: Segment[] = [];
  for (let e = 0; e < events.length; ) {
    const pos = events[e]!.pos;
    for (; e < events.length && events[e]!.pos === pos; e++) {
      const i = events[e]!.i;
      if (i >= 0) {
        active[i] = 1;
        heap.push(i);
      } else active[~i] = 0;
    }
    while (heap.size > 0 && active[heap.peek()] === 0) heap.pop();
    if (heap.size === 0 || e === events.length) continue;
    const rule = rs[heap.peek()]!;
    const end = events[e]!.pos - 1n;
    const last = out[out.length - 1];
    if (last && last.rule === rule && last.end + 1n === pos) last.end = end;
    else out.push({ start: pos, end, rule });
  }
  return out;
}

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

/** One-off lookup by linear scan (the contract's semantics, literally). Not an address: default. */
export function lookupAddress(policy: Policy, addr: string): Decision {
  const a = parseAddress(addr);
  if (a) {
    for (const r of policy.rules) {
      if (!r.cidr || r.cidr.family !== a.family) continue;
      const { start, end } = cidrRange(r.cidr);
      if (a.value >= start && a.value <= end) return { action: r.action, rule: r, layer: "policy" };
    }
  }
  return { action: policy.defaultAction, layer: "policy" };
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
