// Which key of a mapping sets which field, as OpenSandbox's Go decoder decides it: a key
// names a field whatever its case ("Action", "DEFAULTACTION"), the last key for a field
// wins, and any other key is ignored. egressctl reads the same, and says so: a key in
// another case, a field given twice, an unknown key each become a Problem. An unknown key
// that looks like a misspelling of a field the mapping lacks (`acton: allow` in a rule
// with no action) is weighed as "intent": its author meant that field, and it is ignored.
import { didYouMean } from "./did-you-mean.ts";
import { goFoldKey } from "./go-text.ts";
import { formatPath, type PathKey } from "./problems.ts";
import type { Finding } from "./judge.ts";

export interface FieldsRead {
  /** field name -> the key that sets it and its value */
  fields: Map<string, { key: string; value: unknown }>;
  findings: Finding[];
}

const lc = (p: { line: number; col: number }) => `${p.line}:${p.col}`;

const folds = new WeakMap<readonly string[], Map<string, string>>();
/** folded key -> field name, built once per list of fields */
function foldsOf(known: readonly string[]): Map<string, string> {
  let m = folds.get(known);
  if (!m) folds.set(known, (m = new Map(known.map((k) => [goFoldKey(k), k]))));
  return m;
}

type Pos = (path: readonly PathKey[], key?: boolean) => { line: number; col: number };

/** `where`: "the policy" or "a rule", for messages */
export function readFields(obj: Record<string, unknown>, known: readonly string[], at: readonly PathKey[], where: string, pos: Pos): FieldsRead {
  const byFold = foldsOf(known);
  const keysOf = new Map<string, string[]>();
  const unknown: string[] = [];
  for (const key of Object.keys(obj)) {
    // a key spelled as its field needs no folding (100k rules: the common case, kept cheap)
    const field = known.includes(key) ? key : byFold.get(goFoldKey(key));
    if (field === undefined) unknown.push(key);
    else {
      const keys = keysOf.get(field);
      if (keys) keys.push(key);
      else keysOf.set(field, [key]);
    }
  }
  const findings: Finding[] = [];
  const fields = new Map<string, { key: string; value: unknown }>();
  const place = (key: string) => ({ path: formatPath([...at, key]), ...pos([...at, key], true) });
  const order = (a: string, b: string) => {
    const pa = pos([...at, a], true);
    const pb = pos([...at, b], true);
    return pa.line - pb.line || pa.col - pb.col;
  };
  for (const [field, keys] of keysOf) {
    keys.sort(order);
    const last = keys[keys.length - 1]!;
    fields.set(field, { key: last, value: obj[last] });
    for (const k of keys.slice(0, -1)) {
      findings.push({ weight: "intent", code: "duplicate-key", ...place(k),
        message: `"${field}" is given more than once in ${where} (again as "${last}" at ${lc(pos([...at, last], true))}); the last one counts`,
        hint: "each field may appear once; remove or merge the repeated one" });
    }
    if (last !== field) {
      findings.push({ weight: "odd", code: "field-case", ...place(last), message: `field "${last}" is read as "${field}"`, hint: `write "${field}"` });
    }
  }
  for (const key of unknown) {
    const meant = didYouMean(key, known);
    const lacking = meant !== undefined && !fields.has(meant);
    findings.push({
      weight: lacking ? "intent" : "odd",
      code: "unknown-field",
      ...place(key),
      message: lacking
        ? `unknown field "${key}" in ${where}${where === "a rule" ? " that has" : ", which has"} no "${meant}": it is ignored, so "${meant}" is not set`
        : `unknown field "${key}" in ${where}; it is ignored`,
      hint: meant ? `did you mean "${meant}"?` : `${where === "a rule" ? "a rule" : "a policy"} has only: ${known.join(", ")}`,
    });
  }
  return { fields, findings };
}
