// The learned sets' elements in a form that crosses from the kernel I/O thread to the
// DNS thread cheaply. A full set at restart is tens of thousands of small objects; the
// structured clone of such an array took about 230 ms on the DNS thread for 65,536
// (docs/benchmarks.md "Adopting full learned sets"), while one string and three typed
// arrays cross in a few milliseconds. Pure: entries in, entries out.
import type { LearnedEntry } from "../status/kernel-state.ts";

export interface PackedEntries {
  /** each entry's address, then its name (when it has one), one after the other */
  readonly text: string;
  /** the length of each entry's address in `text` */
  readonly addressLengths: Uint16Array;
  /** the length of each entry's name in `text`; -1 for an entry without a name */
  readonly nameLengths: Int32Array;
  readonly families: Uint8Array;
  readonly expiresSec: Float64Array;
}

export function packEntries(entries: readonly LearnedEntry[]): PackedEntries {
  const n = entries.length;
  const addressLengths = new Uint16Array(n);
  const nameLengths = new Int32Array(n);
  const families = new Uint8Array(n);
  const expiresSec = new Float64Array(n);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const e = entries[i]!;
    addressLengths[i] = e.address.length;
    parts.push(e.address);
    if (e.name === null) nameLengths[i] = -1;
    else {
      nameLengths[i] = e.name.length;
      parts.push(e.name);
    }
    families[i] = e.family;
    expiresSec[i] = e.expiresSec;
  }
  return { text: parts.join(""), addressLengths, nameLengths, families, expiresSec };
}

export function unpackEntries(p: PackedEntries): LearnedEntry[] {
  const n = p.families.length;
  const out: LearnedEntry[] = new Array(n);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const address = p.text.slice(at, (at += p.addressLengths[i]!));
    const len = p.nameLengths[i]!;
    const name = len < 0 ? null : p.text.slice(at, (at += len));
    out[i] = { family: p.families[i] === 6 ? 6 : 4, address, name, expiresSec: p.expiresSec[i]! };
  }
  return out;
}
