// Reads JSON policy text (`.json` files, OPENSANDBOX_EGRESS_RULES, the HTTP API's bodies)
// as JSON and nothing else: RFC 8259, as Go's decoder and every JSON tool read it. A
// trailing comma, a comment, a single-quoted or unquoted string, NaN, a leading zero is an
// error at its line and column, with the words of JSON (object, array, member).
//
// Why a parser of our own: JSON.parse is strict but gives no positions, and every later
// problem (a bad target in rule 3000) needs one; the yaml library reads JSON as YAML's flow
// style, which accepts all the above. So this small scanner builds the value and, beside
// it, where each value and key starts. It is iterative (an explicit stack), so nesting is
// bounded by a limit, not by the call stack: Go's decoder allows 10000 levels, and so does
// this. Whitespace around the whole document is trimmed the way Go's strings.TrimSpace
// does before OpenSandbox decodes (so a no-break space there is no error); between tokens
// only JSON's four whitespace characters are allowed.
//
// Duplicate keys are not an error here: the last one wins, as in Go and JSON.parse, and
// each repeat is listed for the caller to judge. Pure; nothing here throws.
import type { PathKey, Problem } from "./problems.ts";
import { isGoSpace } from "./go-text.ts";
import { lineIndex } from "./positions.ts";
import type { Source } from "./source.ts";

/** Go's encoding/json maxNestingDepth */
export const MAX_JSON_DEPTH = 10000;

/** Where a value sits, and for containers where their members do. */
interface PosNode {
  start: number;
  /** objects: member name -> where its key starts and its value's node (the last one, for a repeat) */
  members?: Map<string, { key: number; node: PosNode }>;
  /** arrays */
  items?: PosNode[];
}

export interface JsonSource extends Source {
  /** keys given more than once in one object: where the earlier one starts, and "line:col" of the next */
  duplicates: { path: PathKey[]; key: string; line: number; col: number; again: string }[];
}

/** a repeated key: the object's path, the key, the offsets of the earlier and the later one */
type Repeat = { path: PathKey[]; key: string; at: number; again: number };

export type JsonParse = { source: JsonSource; problems: [] } | { source: null; problems: Problem[] };

/** an open container; `up` and `slot` say where it sits, for the path of a repeated key */
type Frame =
  | { kind: "object"; value: Record<string, unknown>; node: PosNode; up?: Frame; slot?: PathKey; key: string | null; keyAt: number; start: number }
  | { kind: "array"; value: unknown[]; node: PosNode; up?: Frame; slot?: PathKey; start: number };

function pathOf(f: Frame): PathKey[] {
  const out: PathKey[] = [];
  for (let x: Frame | undefined = f; x?.slot !== undefined; x = x.up) out.unshift(x.slot);
  return out;
}

class JsonError {
  constructor(readonly at: number, readonly message: string, readonly hint?: string) {}
}

export function parseJson(text: string): JsonParse {
  const lines = lineIndex(text);
  try {
    const { value, node, duplicates } = new Scanner(text).document();
    return {
      source: {
        value,
        pos: (path, key) => lines(locate(node, path, key ?? false)),
        duplicates: duplicates.map((d) => {
          const again = lines(d.again);
          return { path: d.path, key: d.key, ...lines(d.at), again: `${again.line}:${again.col}` };
        }),
      },
      problems: [],
    };
  } catch (e) {
    if (!(e instanceof JsonError)) throw e;
    const { line, col } = lines(e.at);
    return { source: null, problems: [{ severity: "error", path: "", line, col, code: "syntax", message: `invalid JSON: ${e.message}`, ...(e.hint ? { hint: e.hint } : {}) }] };
  }
}

function locate(root: PosNode, path: readonly PathKey[], key: boolean): number {
  let node = root;
  for (let i = 0; i < path.length; i++) {
    const k = path[i]!;
    if (node.members && typeof k === "string") {
      const m = node.members.get(k);
      if (!m) break;
      if (key && i === path.length - 1) return m.key;
      node = m.node;
    } else if (node.items && typeof k === "number" && node.items[k]) node = node.items[k]!;
    else break;
  }
  return node.start;
}

const QUOTE = 34;
const NUMBER = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
const WORD = /[A-Za-z0-9_$+.-]*/y;
const BACKSLASH = 92;
const WORDS: Record<string, unknown> = { true: true, false: false, null: null };
const ESCAPES: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };

class Scanner {
  private i = 0;
  private readonly duplicates: Repeat[] = [];
  constructor(private readonly s: string) {}

  document(): { value: unknown; node: PosNode; duplicates: Repeat[] } {
    const s = this.s;
    while (this.i < s.length && isGoSpace(s.charCodeAt(this.i))) this.i++;
    let end = s.length;
    while (end > this.i && isGoSpace(s.charCodeAt(end - 1))) end--;
    const result = this.value(end);
    this.ws();
    if (this.i < end) throw this.unexpected("after the JSON value", "a JSON text is one value; remove what follows it, or put the values in an array");
    return { ...result, duplicates: this.duplicates };
  }

  /** one value, containers included, without recursion */
  private value(end: number): { value: unknown; node: PosNode } {
    const stack: Frame[] = [];
    let done: { value: unknown; node: PosNode } | null = null;
    for (;;) {
      // 1. read a value (or open a container) at the current position
      this.ws();
      const start = this.i;
      const c = this.peek(end);
      const open = stack[stack.length - 1];
      if (c === -1 && open) throw this.after(open, end);
      let v: { value: unknown; node: PosNode } | null = null;
      if (c === 123 /* { */ || c === 91 /* [ */) {
        if (stack.length >= MAX_JSON_DEPTH) throw new JsonError(start, `the document is nested too deeply (more than ${MAX_JSON_DEPTH} levels; a policy needs three)`);
        const up = stack[stack.length - 1];
        const slot = up ? (up.kind === "object" ? up.key! : up.value.length) : undefined;
        this.i++;
        const frame: Frame = c === 123
          ? { kind: "object", value: {}, node: { start, members: new Map() }, up, slot, key: null, keyAt: -1, start }
          : { kind: "array", value: [], node: { start, items: [] }, up, slot, start };
        this.ws();
        const close = c === 123 ? 125 : 93;
        if (this.peek(end) === close) {
          this.i++;
          v = { value: frame.value, node: frame.node };
        } else {
          if (frame.kind === "object") this.key(frame, end);
          stack.push(frame);
          continue;
        }
      } else v = { value: this.scalar(end), node: { start } };

      // 2. hand the value to its container; close every container that ends here
      for (;;) {
        const f = stack[stack.length - 1];
        if (!f) {
          done = v;
          break;
        }
        if (f.kind === "object") {
          const earlier = f.node.members!.get(f.key!);
          if (earlier) this.duplicates.push({ path: pathOf(f), key: f.key!, at: earlier.key, again: f.keyAt });
          setMember(f.value, f.key!, v.value);
          f.node.members!.set(f.key!, { key: f.keyAt, node: v.node });
        } else {
          f.value.push(v.value);
          f.node.items!.push(v.node);
        }
        this.ws();
        const next = this.peek(end);
        const close = f.kind === "object" ? 125 : 93;
        if (next === 44 /* , */) {
          const comma = this.i++;
          this.ws();
          if (this.peek(end) === close) throw new JsonError(comma, `trailing comma before ${f.kind === "object" ? "}" : "]"}`, "JSON allows no comma after the last item; remove it");
          if (f.kind === "object") this.key(f, end);
          break;
        }
        if (next === close) {
          this.i++;
          stack.pop();
          v = { value: f.value, node: f.node };
          continue;
        }
        throw this.after(f, end);
      }
      if (done) return done;
    }
  }

  /** a member's key and its colon */
  private key(f: Extract<Frame, { kind: "object" }>, end: number): void {
    this.ws();
    const at = this.i;
    const c = this.peek(end);
    if (c !== QUOTE) {
      if (c === -1) throw new JsonError(f.start, "the object that starts here is not closed with }", "add the missing }");
      if (c === 39) throw new JsonError(at, "a key is in single quotes", "JSON keys and strings use double quotes");
      if (c === 47 || c === 35) throw this.comment(at);
      if (/[A-Za-z_$]/.test(this.s[at]!)) throw new JsonError(at, "an object key is not quoted", `write "${this.word(end)}" in double quotes`);
      throw this.unexpected("where an object key should be", 'a member is "key": value');
    }
    f.key = this.string(end);
    f.keyAt = at;
    this.ws();
    if (this.peek(end) !== 58 /* : */) throw this.unexpected("after an object key", 'write a colon between the key and its value: "key": value');
    this.i++;
  }

  private scalar(end: number): unknown {
    const c = this.peek(end);
    if (c === QUOTE) return this.string(end);
    if (c === 45 /* - */ || (c >= 48 && c <= 57)) return this.number(end);
    const at = this.i;
    if (c === -1) throw new JsonError(at, "the text ends where a value should be", "complete the document");
    if (c === 0xfeff) throw new JsonError(at, "a byte order mark (U+FEFF) before the JSON text", "save the file as UTF-8 without a byte order mark");
    if (c === 39) throw new JsonError(at, "a string is in single quotes", "JSON keys and strings use double quotes");
    if (c === 47 || c === 35) throw this.comment(at);
    if (/[A-Za-z_$+.]/.test(this.s[at]!)) {
      const w = this.word(end);
      if (Object.hasOwn(WORDS, w)) {
        this.i += w.length;
        return WORDS[w];
      }
      const hint = /^(true|false|null)$/i.test(w) ? `JSON's literals are lowercase: ${w.toLowerCase()}`
        : /^[+.]/.test(w) || /^(nan|infinity)$/i.test(w) ? "JSON numbers are decimal, with no leading + or . and no NaN or Infinity"
        : `a string is written in double quotes: "${w}"`;
      throw new JsonError(at, `${w} is not a JSON value`, hint);
    }
    throw this.unexpected("where a value should be", "a value is a \"string\", a number, an object, an array, true, false or null");
  }

  private string(end: number): string {
    const s = this.s;
    const open = this.i++;
    let out = "";
    let run = this.i;
    for (;;) {
      if (this.i >= end) throw new JsonError(open, "a string is not closed", 'add the closing "');
      const c = s.charCodeAt(this.i);
      if (c === QUOTE) {
        out += s.slice(run, this.i++);
        return out;
      }
      if (c < 0x20) {
        const name = c === 10 ? "a line break" : c === 9 ? "a tab" : `the control character U+${c.toString(16).padStart(4, "0")}`;
        throw new JsonError(this.i, `${name} inside a string`, c === 10 ? 'a string is on one line; write \\n for a line break, or close it with "' : "write it as an escape (\\t, \\u0000)");
      }
      if (c !== BACKSLASH) {
        this.i++;
        continue;
      }
      out += s.slice(run, this.i);
      const e = s[this.i + 1];
      if (e === "u") {
        const hex = s.slice(this.i + 2, this.i + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new JsonError(this.i, "\\u needs four hex digits", "write \\u followed by exactly four hex digits");
        out += String.fromCharCode(parseInt(hex, 16));
        this.i += 6;
      } else if (e !== undefined && e in ESCAPES) {
        out += ESCAPES[e];
        this.i += 2;
      } else throw new JsonError(this.i, `\\${e ?? ""} is not a JSON escape`, 'the escapes are \\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX');
      run = this.i;
    }
  }

  private number(end: number): number {
    NUMBER.lastIndex = this.i;
    const hit = NUMBER.exec(this.s);
    const at = this.i;
    const text = hit?.[0] ?? "";
    const after = this.s.charCodeAt(at + text.length);
    if (!hit || text === "-" || (at + text.length < end && /[0-9A-Za-z.+\-]/.test(String.fromCharCode(after)))) {
      const written = this.word(end);
      const hint = /^-?0[0-9]/.test(written) ? "JSON numbers have no leading zeros" : /^-?0x/i.test(written) ? "JSON numbers are decimal" : "a JSON number is like -12, 3.5 or 1e9";
      throw new JsonError(at, `${written} is not a JSON number`, hint);
    }
    this.i += text.length;
    return Number(text);
  }

  /** what goes wrong after a member or item: a missing comma, a comment, a wrong bracket, the end */
  private after(f: Frame, end: number): JsonError {
    const c = this.peek(end);
    const what = f.kind === "object" ? "object" : "array";
    if (c === -1) {
      return new JsonError(f.start, `the ${what} that starts here is not closed with ${f.kind === "object" ? "}" : "]"}`, `add the missing ${f.kind === "object" ? "}" : "]"}`);
    }
    if (c === 47 || c === 35) return this.comment(this.i);
    if (c === QUOTE || c === 123 || c === 91 || c === 39 || (c >= 48 && c <= 57) || /[A-Za-z-]/.test(this.s[this.i]!)) {
      return new JsonError(this.i, `missing comma between ${f.kind === "object" ? "object members" : "array items"}`, "put a comma after the previous one");
    }
    return this.unexpected(`in an ${what}`, f.kind === "object" ? "after a member comes a comma or }" : "after an item comes a comma or ]");
  }

  private comment(at: number): JsonError {
    return new JsonError(at, "comments are not allowed in JSON", "remove the comment, or write the policy as YAML (a .yaml file), which has # comments");
  }

  private unexpected(where: string, hint: string): JsonError {
    const ch = this.s[this.i];
    const shown = ch === undefined ? "the end of the text" : `"${ch}"`;
    return new JsonError(this.i, `unexpected ${shown} ${where}`, hint);
  }

  /** the run of word-like characters at the current position, up to `end` */
  private word(end: number): string {
    WORD.lastIndex = this.i;
    return WORD.exec(this.s)![0].slice(0, Math.max(0, end - this.i));
  }

  private peek(end: number): number {
    return this.i < end ? this.s.charCodeAt(this.i) : -1;
  }

  private ws(): void {
    const s = this.s;
    for (;;) {
      const c = s.charCodeAt(this.i);
      if (c === 32 || c === 10 || c === 13 || c === 9) this.i++;
      else return;
    }
  }
}

/** `__proto__` is a member like any other, never the object's prototype */
function setMember(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}
