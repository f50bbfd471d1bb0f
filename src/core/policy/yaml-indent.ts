// Indentation mistakes in YAML, reported at the line that is wrong. The yaml library sees
// an over-indented key (`- action: allow` then `   target: x`) as the previous value
// running on, and reports "nested mappings are not allowed in compact mappings" where that
// value starts, on the line above; an under-indented one as a sequence item without "-"
// at column 1 (or, past a comment line, "all mapping items must start at the same
// column" on the comment). None says what to fix. This names the key on the wrong line, the key it
// should line up with, and both columns. Pure.
import type { YAMLError } from "yaml";
import type { Problem } from "./problems.ts";

type At = (offset: number) => { line: number; col: number };

/** errors whose real cause is a line indented differently from the key above it */
const RUN_ON = new Set(["BLOCK_AS_IMPLICIT_KEY", "MULTILINE_IMPLICIT_KEY"]);
/** errors reported on (or, past blanks and comments, just before) the wrong line itself */
const ON_LINE = (e: YAMLError) =>
  (e.code === "MISSING_CHAR" && /^Sequence item without - indicator/.test(e.message)) || (e.code === "BAD_INDENT" && /mapping items must start at the same column/.test(e.message));

/** The indentation problems among `errors`, and the errors they explain (to be left out). */
export function indentationProblems(text: string, errors: readonly YAMLError[], at: At): { problems: Problem[]; explained: Set<YAMLError> } {
  const problems: Problem[] = [];
  if (errors.length === 0) return { problems, explained: new Set() };
  const lines = text.split("\n");
  const explained = new Set<YAMLError>();
  const seen = new Set<number>();
  for (const e of errors) {
    const runOn = RUN_ON.has(e.code);
    if (!runOn && !ON_LINE(e)) continue;
    const from = at(e.pos[0]).line - 1;
    // run-on: the wrong line is the first one after the value's line; else it is this one
    const wrong = nextContent(lines, runOn ? from + 1 : from);
    if (wrong < 0) continue;
    explained.add(e);
    if (seen.has(wrong)) continue;
    seen.add(wrong);
    problems.push(describe(lines, wrong));
  }
  return { problems, explained };
}

function describe(lines: readonly string[], wrong: number): Problem {
  const text = lines[wrong]!;
  const col = text.length - text.trimStart().length + 1;
  const here = keyOf(text);
  const above = nextContent(lines, wrong - 1, -1);
  const ref = above >= 0 ? keyOf(lines[above]!) : null;
  const base = { severity: "error" as const, path: "", line: wrong + 1, col: here?.col ?? col, code: "syntax" };
  if (!ref) return { ...base, message: `invalid YAML: line ${wrong + 1} is indented wrongly`, hint: "keys of one mapping start in the same column" };
  const what = here ? `"${here.key}"` : `line ${wrong + 1}`;
  const more = (here?.col ?? col) > ref.col ? "more" : "less";
  return {
    ...base,
    message: `invalid YAML: ${what} is indented ${more} than "${ref.key}" on line ${above + 1} (column ${here?.col ?? col}, not ${ref.col})`,
    hint: `keys of one mapping start in the same column: move ${here ? `"${here.key}"` : "it"} to column ${ref.col}, like "${ref.key}"`,
  };
}

/** `  - key: value` -> the key and its column; null when the line holds no key */
function keyOf(line: string): { key: string; col: number } | null {
  const m = /^(\s*(?:-\s+)*)("[^"]*"|'[^']*'|[^\s#'"-][^:#]*?|-[^\s:#][^:#]*?)\s*:(\s|$)/.exec(line);
  return m ? { key: m[2]!.replace(/^["']|["']$/g, ""), col: m[1]!.length + 1 } : null;
}

/** the first line from `i` on (or back, with step -1) that holds more than blanks or a comment */
function nextContent(lines: readonly string[], i: number, step = 1): number {
  for (; i >= 0 && i < lines.length; i += step) if (!/^\s*(#.*)?\r?$/.test(lines[i]!)) return i;
  return -1;
}
