// The JSON scanner against JSON.parse, the reference for "what is JSON" (RFC 8259), on
// seeded random documents: every valid one gives the same value, and every text made
// invalid by one random edit is refused by both (a failure prints its seed and text).
// Positions: every value's path is found where JSON.stringify-like output puts it.
import { describe, expect, test } from "bun:test";
import { parseJson } from "../../../src/core/policy/json-source.ts";
import { int, pick, prng } from "../match/random.ts";

type J = null | boolean | number | string | J[] | { [k: string]: J };

const STRING_CHARS = ['a', 'Z', '0', ' ', '"', '\\', '/', '\b', '\n', '\t', '\u0001', 'é', '\u2028', '\ud83d\ude00', '\ud800', '}', ',', ':'];

function randomValue(rnd: () => number, depth: number): J {
  const kind = depth > 3 ? int(rnd, 0, 3) : int(rnd, 0, 5);
  switch (kind) {
    case 0: return pick(rnd, [null, true, false]);
    case 1: return pick(rnd, [0, -0.5, 12, 1e21, 3.25e-7, -123456789, 0.1]);
    case 2:
    case 3: return Array.from({ length: int(rnd, 0, 6) }, () => pick(rnd, STRING_CHARS)).join("");
    case 4: return Array.from({ length: int(rnd, 0, 4) }, () => randomValue(rnd, depth + 1));
    default: {
      const o: { [k: string]: J } = {};
      for (let i = int(rnd, 0, 4); i > 0; i--) o[pick(rnd, ["action", "target", "egress", "a", "", "__proto__", "é"])] = randomValue(rnd, depth + 1);
      return o;
    }
  }
}

/** JSON text with random JSON whitespace between tokens */
function write(rnd: () => number, v: J): string {
  const ws = () => pick(rnd, ["", "", " ", "\n", "\t", "\r\n  "]);
  if (Array.isArray(v)) return `[${ws()}${v.map((x) => write(rnd, x)).join(`${ws()},${ws()}`)}${ws()}]`;
  if (v !== null && typeof v === "object") return `{${ws()}${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}${ws()}:${ws()}${write(rnd, x)}`).join(`${ws()},${ws()}`)}${ws()}}`;
  return JSON.stringify(v);
}

const reference = (text: string): { ok: true; value: unknown } | { ok: false } => {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
};

describe("parseJson agrees with JSON.parse (seeded)", () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    test(`seed ${seed}: 300 documents, each also with 5 one-character edits`, () => {
      const rnd = prng(seed);
      // characters an edit inserts or puts in place: structure, quotes, comment starts, letters, digits
      const edits = [",", "]", "}", "[", "{", ":", '"', "'", "/", "#", "a", "0", "-", ".", "e", "\\", "\n", "\u0000"];
      for (let round = 0; round < 300; round++) {
        const text = write(rnd, { egress: randomValue(rnd, 0) } as J);
        const mine = parseJson(text);
        expect(mine.problems).toEqual([]);
        expect(mine.source!.value).toEqual(JSON.parse(text));
        for (let e = 0; e < 5; e++) {
          const at = int(rnd, 0, text.length);
          const edited = rnd() < 0.5 ? text.slice(0, at) + pick(rnd, edits) + text.slice(at) : text.slice(0, at) + pick(rnd, edits) + text.slice(at + 1);
          const want = reference(edited);
          const got = parseJson(edited);
          if (want.ok !== (got.source !== null)) {
            throw new Error(`seed ${seed} round ${round}: JSON.parse ${want.ok ? "accepts" : "refuses"} but parseJson ${got.source ? "accepts" : "refuses"}: ${JSON.stringify(edited)}`);
          }
          if (want.ok) expect(got.source!.value).toEqual(want.value);
          else expect(got.problems[0]!.message).toMatch(/^invalid JSON: /);
        }
      }
    });
  }
});

describe("positions", () => {
  test("every rule's target is found at its opening quote", () => {
    const text = '{\n  "egress": [\n    {"action": "allow", "target": "a"},\n\n      {"target":"b"}\n  ]\n}';
    const src = parseJson(text).source!;
    expect(src.pos(["egress", 0, "target"])).toEqual({ line: 3, col: 35 });
    expect(src.pos(["egress", 1, "target"])).toEqual({ line: 5, col: 17 });
    expect(src.pos(["egress", 1, "target"], true)).toEqual({ line: 5, col: 8 });
    // a path that is not there: the nearest parent
    expect(src.pos(["egress", 1, "action"])).toEqual({ line: 5, col: 7 });
    expect(src.pos(["egress", 7])).toEqual({ line: 2, col: 13 });
  });

  test("a repeated key: the value and position are the last one's, the repeat is listed", () => {
    const src = parseJson('{"a": 1,\n "a": 2}').source!;
    expect(src.value).toEqual({ a: 2 });
    expect(src.pos(["a"], true)).toEqual({ line: 2, col: 2 });
    expect(src.duplicates).toEqual([{ path: [], key: "a", line: 1, col: 2, again: "2:2" }]);
  });
});
