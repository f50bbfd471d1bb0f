// Small, reversible edits on a YAML document (the `yaml` library's Document), each of
// which records what it did so that `inject --uninject` can undo exactly that and leave
// every other byte, comment and key order of the input as it was.
import { isMap, isScalar, isSeq, type Document, type Scalar, YAMLMap, YAMLSeq } from "yaml";
import type { PathKey } from "./workloads.ts";

/**
 * One undoable step, kept as JSON in the pod template's annotation, its path relative to
 * the editor's base (the pod template) as a list of keys (["spec", "containers", 0]):
 *   ["+", path]           a value (mapping, list or scalar) set where there was none: deleted again
 *   ["+", path, name]     an item named `name` put into the list at path: removed by name
 *   ["+", path, value]    a scalar put into the list at path: removed by value
 *   ["-", path, i, value, quote?] a scalar removed from the list at path, index i: put
 *                         back, quoted as it was ("'" or '"'; plain when absent)
 */
export type Step = ["+", PathKey[]] | ["+", PathKey[], string | { name: string }] | ["-", PathKey[], number, string] | ["-", PathKey[], number, string, string];

const QUOTES: Record<string, Scalar.Type> = { "'": "QUOTE_SINGLE", '"': "QUOTE_DOUBLE" };

export class Editor {
  readonly steps: Step[] = [];
  constructor(
    readonly doc: Document,
    /** where the edited object sits in the document ([] or ["items", i]) */
    readonly base: PathKey[] = [],
  ) {}

  private rel(path: PathKey[]): PathKey[] {
    return path.slice(this.base.length);
  }

  /** The node at `path`, or undefined. */
  get(path: PathKey[]): unknown {
    return this.doc.getIn(path, true);
  }

  /** The mapping at `path`, created (and recorded) along the way where missing. */
  map(path: PathKey[]): YAMLMap {
    for (let i = 1; i <= path.length; i++) {
      const at = path.slice(0, i);
      const node = this.doc.getIn(at, true);
      const listed = typeof path[i] === "number"; // the next key indexes a list
      if (node === undefined || node === null || (isScalar(node) && node.value === null)) {
        if (listed) throw new EditError(`${at.join(".")} is missing`);
        this.doc.setIn(at, new YAMLMap());
        this.steps.push(["+", this.rel(at)]);
      } else if (listed ? !isSeq(node) : !isMap(node)) {
        throw new EditError(`${at.join(".")} is not a ${listed ? "list" : "mapping"}`);
      }
    }
    return this.doc.getIn(path, true) as YAMLMap;
  }

  /** The list at `path`, created (and recorded) where missing; its parents must be mappings. */
  seq(path: PathKey[]): YAMLSeq {
    const node = this.doc.getIn(path, true);
    if (node === undefined || node === null || (isScalar(node) && node.value === null)) {
      if (path.length > 1) this.map(path.slice(0, -1));
      this.doc.setIn(path, new YAMLSeq());
      this.steps.push(["+", this.rel(path)]);
    } else if (!isSeq(node)) {
      throw new EditError(`${path.join(".")} is not a list`);
    }
    return this.doc.getIn(path, true) as YAMLSeq;
  }

  /** Inserts a scalar, or an object with a name, into the list at `path` (first or last). */
  insert(path: PathKey[], value: string | { name: string }, at: "start" | "end" = "end"): void {
    const s = this.seq(path);
    const node = this.doc.createNode(value);
    if (at === "start") s.items.unshift(node);
    else s.items.push(node);
    this.steps.push(["+", this.rel(path), typeof value === "string" ? value : { name: value.name }]);
  }

  /** Sets a scalar where there is none (an existing value is left alone: false). */
  setNew(path: PathKey[], value: string): boolean {
    if (this.doc.hasIn(path)) return false;
    if (path.length > 1) this.map(path.slice(0, -1));
    this.doc.setIn(path, value);
    this.steps.push(["+", this.rel(path)]);
    return true;
  }

  /** Removes every scalar item equal to `value` from the list at `path`. */
  removeScalar(path: PathKey[], value: string): void {
    const s = this.doc.getIn(path, true);
    if (!isSeq(s)) return;
    for (let i = s.items.length - 1; i >= 0; i--) {
      const it = s.items[i];
      if (isScalar(it) && it.value === value) {
        s.items.splice(i, 1);
        const quote = Object.keys(QUOTES).find((q) => QUOTES[q] === it.type);
        this.steps.push(quote ? ["-", this.rel(path), i, value, quote] : ["-", this.rel(path), i, value]);
      }
    }
  }
}

/** Undoes recorded steps, last first; `base` as the Editor's. */
export function undo(doc: Document, steps: readonly Step[], base: PathKey[] = []): void {
  for (const s of [...steps].reverse()) {
    const path = [...base, ...s[1]];
    if (s[0] === "+" && s.length === 2) {
      doc.deleteIn(path);
      continue;
    }
    const seq = doc.getIn(path, true);
    if (!isSeq(seq)) continue;
    if (s[0] === "-") {
      const node = doc.createNode(s[3]);
      if (s[4] !== undefined && QUOTES[s[4]]) node.type = QUOTES[s[4]];
      seq.items.splice(Math.min(s[2], seq.items.length), 0, node);
      continue;
    }
    const want = s[2];
    const i = seq.items.findIndex((it) =>
      typeof want === "string" ? isScalar(it) && it.value === want : isMap(it) && it.get("name") === want.name);
    if (i >= 0) seq.items.splice(i, 1);
  }
}

/** A manifest that cannot be edited as asked (a field of the wrong type, say). */
export class EditError extends Error {}
