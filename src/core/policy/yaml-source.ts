// Turns YAML policy text (which may be JSON-looking: JSON is YAML's flow style) into a
// plain value plus a way to find where any field path sits in the text. Parse failures
// become Problems with line:column, an indentation mistake at the line that is wrong
// (yaml-indent.ts); nothing here throws.
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from "yaml";
import type { PathKey, Problem } from "./problems.ts";
import type { Source } from "./source.ts";
import { indentationProblems } from "./yaml-indent.ts";

// A policy has no use for many aliases; the yaml library counts alias expansions and
// stops at this many, which is what defuses "billion laughs" documents.
const MAX_ALIAS_COUNT = 100;

export function parseYaml(text: string): { source: Source | null; problems: Problem[] } {
  const lc = new LineCounter();
  const json = /^\s*[[{]/.test(text);
  const at = (offset: number) => lc.linePos(Math.max(0, Math.min(offset, text.length)));
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  } catch (e) {
    return { source: null, problems: [fatal(parserMessage(msg(e)) ?? `cannot parse the document: ${msg(e)}`, 1, 1)] };
  }
  const indent = indentationProblems(text, doc.errors, at);
  const problems: Problem[] = indent.problems.concat(doc.errors.filter((e) => !indent.explained.has(e)).map((e) => {
    const { line, col } = at(e.pos[0]);
    return {
      severity: "error",
      path: "",
      line,
      col,
      code: "syntax",
      message: parserMessage(e.message) ?? (json ? `invalid JSON: ${jsonMessage(e.message)}` : `invalid YAML: ${e.message.replace(/; please use YAML\.parseAllDocuments\(\)/, "")}`),
      hint: parserMessage(e.message) ? undefined : syntaxHint(e.code, json),
    };
  }));
  // a parser failure (deep nesting) repeats once per open bracket; say it once
  if (problems.length) return { source: null, problems: problems.filter((p, i) => problems.findIndex((q) => q.message === p.message) === i) };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    const resource = /resource exhaustion/.test(msg(e));
    return {
      source: null,
      problems: [fatal(resource ? `too many YAML alias expansions (more than ${MAX_ALIAS_COUNT})` : parserMessage(msg(e)) ?? `cannot read the document: ${msg(e)}`, 1, 1,
        resource ? "expand the aliases (*name) by hand; a policy never needs this many" : undefined)],
    };
  }
  return { source: { value, pos: (path, key) => locate(doc, path, key ?? false, at) }, problems: [] };
}

function locate(doc: Document, path: readonly PathKey[], key: boolean, at: (o: number) => { line: number; col: number }) {
  let node: unknown = doc.contents;
  let offset = (node as Node | null)?.range?.[0] ?? 0;
  for (let i = 0; i < path.length; i++) {
    while (isAlias(node)) node = node.resolve(doc);
    const k = path[i];
    let next: unknown;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && (isScalar(p.key) ? p.key.value : p.key) === k);
      if (!pair) break;
      if (i === path.length - 1 && key) {
        offset = (pair.key as Node).range?.[0] ?? offset;
        break;
      }
      next = pair.value;
      // `key:` with nothing after it has no value node; point at the key instead
      if (!next) offset = (pair.key as Node).range?.[0] ?? offset;
    } else if (isSeq(node) && typeof k === "number") {
      next = node.items[k];
    }
    if (!next) break;
    node = next;
    offset = (node as Node).range?.[0] ?? offset;
  }
  return at(offset);
}

// The yaml library speaks of "flow maps" and "flow sequences"; in a JSON file those
// are objects and arrays, and the user should not need YAML vocabulary to fix a comma.
const JSON_WORDS: [RegExp, string][] = [
  [/^Flow sequence in block collection must be sufficiently indented and end with a \]$/, "an array is not closed with ]"],
  [/^Flow map must end with a \}$/, "an object is not closed with }"],
  [/^Flow sequence must end with a \]$/, "an array is not closed with ]"],
  [/^Missing , between flow map items$/, "missing comma between object members"],
  [/^Missing , between flow sequence items$/, "missing comma between array items"],
  [/flow map/g, "object"],
  [/flow sequence/g, "array"],
];

/** Messages for failures of the parser itself rather than of the text's syntax. */
function parserMessage(m: string): string | undefined {
  return /call stack|too much recursion/i.test(m) ? "the document is nested too deeply (a policy needs three levels)" : undefined;
}

function jsonMessage(m: string): string {
  for (const [re, words] of JSON_WORDS) if (re.test(m)) return m.replace(re, words);
  return m;
}

function syntaxHint(code: string, json: boolean): string | undefined {
  if (code === "DUPLICATE_KEY") return "each field may appear once; remove or merge the repeated one";
  if (code === "MULTIPLE_DOCS") return "a policy file holds one document; remove the extra \"---\"";
  if (json) return "JSON needs double-quoted keys and strings, commas between items and matching brackets";
  return undefined;
}

function fatal(message: string, line: number, col: number, hint?: string): Problem {
  return { severity: "error", path: "", line, col, code: "syntax", message, ...(hint ? { hint } : {}) };
}

function msg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
