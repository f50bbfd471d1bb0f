// An open-addressing hash table from names to values, probed by a hash the caller
// computes right-to-left over the query. Why not a Map: probing every suffix of a name
// with Map.get needs a new substring (and its hash) per probe; hashing right-to-left
// yields every suffix's hash in one pass over the characters, allocating nothing.
//
// Each slot is four int32s side by side (hash, key offset, key length, value index) and
// the keys' characters sit in one byte pool, so a probe touches one run of slots and one
// run of the pool instead of chasing array -> string -> characters pointers.

/** Hash of `s.slice(from)`, folded from the last character back to `from`. */
export function suffixHash(s: string, from = 0): number {
  let h = 0;
  for (let i = s.length - 1; i >= from; i--) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/** The same fold one character further left: step(hash(s[i+1..]), s[i]) = hash(s[i..]). */
export const step = (h: number, c: number): number => (Math.imul(h, 31) + c) | 0;

const HASH = 0;
const OFF = 1;
const LEN = 2;
const VAL = 3;

export class NameTable<V> {
  private readonly mask: number;
  private readonly slots: Int32Array; // 4 per slot; VAL is -1 when the slot is empty
  private readonly pool: Uint8Array; // key characters (normalised names are ASCII)
  private readonly values: V[] = [];
  // which key lengths exist: most suffixes of a query can be skipped without a probe
  private readonly lengths = new Uint8Array(256);

  constructor(entries: Iterable<[string, V]>, size: number) {
    let cap = 16;
    while (cap < size * 2) cap *= 2;
    this.mask = cap - 1;
    this.slots = new Int32Array(cap * 4);
    for (let i = 0; i < cap; i++) this.slots[i * 4 + VAL] = -1;
    const list = [...entries];
    this.pool = new Uint8Array(list.reduce((n, [k]) => n + k.length, 0));
    let off = 0;
    for (const [k, v] of list) {
      for (let i = 0; i < k.length; i++) this.pool[off + i] = k.charCodeAt(i);
      this.insert(suffixHash(k), off, k.length, v);
      if (k.length < 256) this.lengths[k.length] = 1;
      off += k.length;
    }
  }

  private insert(h: number, off: number, len: number, value: V): void {
    let i = mix(h) & this.mask;
    while (this.slots[i * 4 + VAL] !== -1) i = (i + 1) & this.mask;
    const s = i * 4;
    this.slots[s + HASH] = h;
    this.slots[s + OFF] = off;
    this.slots[s + LEN] = len;
    this.slots[s + VAL] = this.values.length;
    this.values.push(value);
  }

  /** The value stored for `name.slice(from)`, whose hash is `h`. */
  get(h: number, name: string, from: number): V | undefined {
    const slots = this.slots;
    const len = name.length - from;
    if (len < 256 && this.lengths[len] === 0) return undefined;
    let i = mix(h) & this.mask;
    for (;;) {
      const s = i * 4;
      const v = slots[s + VAL]!;
      if (v === -1) return undefined;
      if (slots[s + HASH] === h && slots[s + LEN] === len && this.same(slots[s + OFF]!, name, from, len)) return this.values[v];
      i = (i + 1) & this.mask;
    }
  }

  private same(off: number, name: string, from: number, len: number): boolean {
    const pool = this.pool;
    for (let i = 0; i < len; i++) if (pool[off + i] !== name.charCodeAt(from + i)) return false;
    return true;
  }
}

/** Spreads the low bits, since h * 31 + c leaves neighbouring names in neighbouring slots. */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  return h ^ (h >>> 16);
}
