// loadPolicyText behaviour not covered by the fixture corpus: options, the env form,
// hints, resource limits, and that positions point at the right text.
import { describe, expect, test } from "bun:test";
import { loadPolicyText, loadRulesText, parsePolicyEnv, syntaxOfFile } from "../../../src/core/policy/load.ts";
import { goFoldKey, goTrim } from "../../../src/core/policy/go-text.ts";
import { MAX_JSON_DEPTH } from "../../../src/core/policy/json-source.ts";

describe("loadPolicyText", () => {
  test("empty, null and {} are deny-all", () => {
    for (const text of ["", "  \n", "null", "{}", "~"]) {
      const r = loadPolicyText(text);
      expect(r.problems).toEqual([]);
      expect(r.policy).toEqual({ defaultAction: "deny", requireFullIsolation: false, rules: [] });
    }
  });

  test("parsePolicyEnv reads OpenSandbox JSON with the camelCase alias, strictly as JSON, as serve runs it", () => {
    expect(parsePolicyEnv('{"egress":[],}').policy).toBeNull();
    const odd = parsePolicyEnv('{"egress":[{"action":"Allow","target":"x.com:443"}]}');
    expect(odd.policy?.rules[0]).toMatchObject({ action: "allow", kind: "never", target: "x.com:443" });
    expect(odd.problems.map((p) => [p.severity, p.code])).toEqual([["warning", "action-form"], ["warning", "bad-target"]]);
    const r = parsePolicyEnv('{"defaultAction":"allow","requireFullIsolation":true,"egress":[{"action":"deny","target":"169.254.169.254"}]}');
    expect(r.policy?.defaultAction).toBe("allow");
    expect(r.policy?.requireFullIsolation).toBe(true);
    expect(r.policy?.rules[0]).toMatchObject({ index: 0, kind: "address", target: "169.254.169.254", pos: { line: 1, col: 90 } });
  });

  test("both isolation spellings agreeing is fine", () => {
    expect(loadPolicyText("require_full_isolation: true\nrequireFullIsolation: true\n").policy?.requireFullIsolation).toBe(true);
  });

  test("policy is null iff there is an error", () => {
    const ok = loadPolicyText("egress:\n  - { action: allow, target: '*.com' }\n");
    expect(ok.policy).not.toBeNull();
    expect(ok.problems.map((p) => p.severity)).toEqual(["warning"]);
    expect(loadPolicyText("egress: 3").policy).toBeNull();
  });

  test("dns-only mode warns once about IP rules; other modes do not", () => {
    const text = "egress:\n  - { action: allow, target: a.example }\n  - { action: allow, target: 192.0.2.1 }\n  - { action: deny, target: '2001:db8::/32' }\n";
    const dns = loadPolicyText(text, { mode: "dns-only" }).problems.filter((p) => p.code === "ignored-in-dns-only");
    expect(dns).toHaveLength(1);
    expect(dns[0]).toMatchObject({ path: "egress[1].target", line: 3, message: "2 IP/CIDR rules are ignored in dns-only mode" });
    expect(loadPolicyText(text).problems).toEqual([]);
    expect(loadPolicyText(text, { mode: "dns+nftables" }).problems).toEqual([]);
    // canonical names only: callers read aliases with parseMode first
    expect(loadPolicyText(text, { mode: "dns" }).problems).toEqual([]);
  });

  test("hints say how to fix", () => {
    const hint = (t: string) => loadPolicyText(`egress:\n  - { action: allow, target: "${t}" }\n`).problems[0]?.hint;
    expect(hint("https://api.github.com/x")).toBe('write only the host name: "api.github.com"');
    expect(hint("api.github.com:443")).toBe('rules match every port; write "api.github.com"');
    expect(hint(".pypi.org")).toBe('write "*.pypi.org" to match names below pypi.org, or "pypi.org" for the name itself');
    expect(loadPolicyText("egress:\n  - { action: allow, tagret: x.com }\n").problems.find((p) => p.code === "unknown-field")?.hint).toBe('did you mean "target"?');
  });

  test("an alias bomb is an error, quickly", () => {
    let bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n";
    for (let i = 0, prev = "a"; i < 9; prev = `b${i}`, i++) bomb += `b${i}: &b${i} [${Array(9).fill(`*${prev}`).join(",")}]\n`;
    const t0 = performance.now();
    const r = loadPolicyText(bomb);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(r.policy).toBeNull();
    expect(r.problems[0]?.message).toContain("alias");
  });

  test("deep nesting is an error, not a crash", () => {
    for (const deep of ["[".repeat(50_000) + "]".repeat(50_000), "egress:\n" + Array.from({ length: 2000 }, (_, i) => " ".repeat(i + 2) + "- ").join("\n") + "x\n"]) {
      const r = loadPolicyText(deep);
      expect(r.policy).toBeNull();
      expect(r.problems[0]?.message).toMatch(/nested too deeply|got a list/);
    }
  });

  test("unicode names are stored as punycode, raw text is kept", () => {
    const r = loadPolicyText("egress:\n  - { action: allow, target: Bücher.Example. }\n");
    expect(r.policy?.rules[0]).toMatchObject({ raw: "Bücher.Example.", target: "xn--bcher-kva.example", name: "xn--bcher-kva.example" });
  });

  test("a rule that matches nothing keeps its text; the matchers and lints pass it by", () => {
    const r = loadPolicyText("egress:\n  - { action: deny, target: ' x.com:443 ' }\n  - { action: deny, target: x.com:443 }\n", { profile: "run" });
    expect(r.policy?.rules.map((x) => [x.kind, x.target, x.raw, x.name, x.cidr])).toEqual([["never", "x.com:443", " x.com:443 ", undefined, undefined], ["never", "x.com:443", "x.com:443", undefined, undefined]]);
    expect(r.problems.map((p) => p.code)).toEqual(["target-spaces", "bad-target", "bad-target"]);
  });
});

describe("the two readings: validate judges intent, run takes what OpenSandbox takes", () => {
  const cases: [string, string, "ok" | "warn" | "error", "ok" | "warn" | "error"][] = [
    // text, validate, run
    ["plain", "egress: [{ action: allow, target: a.example.com }]", "ok", "ok"],
    ["action case", "egress: [{ action: ALLOW, target: a.example.com }]", "warn", "warn"],
    ["action spaces", "egress: [{ action: ' deny ', target: a.example.com }]", "warn", "warn"],
    ["no action", "egress: [{ target: a.example.com }]", "warn", "warn"],
    ["empty defaultAction", "defaultAction: ''", "warn", "warn"],
    ["unknown defaultAction", "defaultAction: block", "error", "warn"],
    ["unknown field", "egress: [{ action: allow, target: a.example.com, port: 443 }]", "warn", "warn"],
    ["misspelt field the rule lacks", "egress: [{ acton: allow, target: a.example.com }]", "error", "warn"],
    ["field case", "EGRESS: []", "warn", "warn"],
    ["spaces around a target", "egress: [{ action: allow, target: ' a.example.com ' }]", "warn", "warn"],
    ["a port", "egress: [{ action: allow, target: 'a.example.com:443' }]", "error", "warn"],
    ["an unknown action", "egress: [{ action: permit, target: a.example.com }]", "error", "error"],
    ["no target", "egress: [{ action: allow }]", "error", "error"],
    ["an empty target", "egress: [{ action: allow, target: '  ' }]", "error", "error"],
    ["a target that is a number", "egress: [{ action: allow, target: 7 }]", "error", "error"],
  ];
  const verdict = (text: string, profile: "validate" | "run") => {
    const r = loadPolicyText(text, { profile });
    if (!r.policy) return "error";
    return r.problems.length ? "warn" : "ok";
  };
  for (const [what, text, validate, run] of cases) {
    test(what, () => expect([verdict(text, "validate"), verdict(text, "run")]).toEqual([validate, run]));
  }

  test("an unknown defaultAction runs as deny, whatever its words", () => {
    for (const d of ["block", "permit", "allowed", "yes"]) expect(loadPolicyText(`defaultAction: ${d}`, { profile: "run" }).policy?.defaultAction).toBe("deny");
  });

  test("--strict makes every warning an error, lints included", () => {
    for (const text of ["egress: [{ action: Allow, target: a.example.com }]", "egress: [{ action: allow, target: '*.pypi.org' }]"]) {
      expect(loadPolicyText(text).policy).not.toBeNull();
      const r = loadPolicyText(text, { strict: true });
      expect(r.policy).toBeNull();
      expect(r.problems.map((p) => p.severity)).toEqual(["error"]);
    }
  });

  test("isolation: a non-boolean is ignored when running; when the spellings disagree, true is taken", () => {
    expect(loadPolicyText("require_full_isolation: 'yes'", { profile: "run" }).policy?.requireFullIsolation).toBe(false);
    expect(loadPolicyText("require_full_isolation: false\nrequireFullIsolation: true", { profile: "run" }).policy?.requireFullIsolation).toBe(true);
    expect(loadPolicyText("require_full_isolation: false\nrequireFullIsolation: true").policy).toBeNull();
  });
});

describe("field names as Go's decoder matches them", () => {
  test("any case; the last key for a field wins, by its place in the text", () => {
    const r = loadPolicyText('{"egress":[{"Target":"a.example.com","ACTION":"allow","action":"deny"}]}', { syntax: "json", profile: "run" });
    expect(r.policy?.rules[0]).toMatchObject({ action: "deny", target: "a.example.com" });
    const r2 = loadPolicyText('{"egress":[{"action":"deny","target":"a.example.com","ACTION":"allow"}]}', { syntax: "json", profile: "run" });
    expect(r2.policy?.rules[0]?.action).toBe("allow");
    expect(r2.problems.map((p) => [p.code, p.path])).toEqual([["duplicate-key", "egress[0].action"], ["field-case", "egress[0].ACTION"]]);
  });
  test("the two non-ASCII letters whose case folds to ASCII", () => {
    expect(goFoldKey("egreſſ")).toBe("egress");
    expect(goFoldKey("\u212aey")).toBe("key");
    expect(goFoldKey("EgreSS")).toBe("egress");
    expect(goFoldKey("egreß")).toBe("egreß");
    expect(loadPolicyText('{"egreſſ":[{"action":"allow","target":"a.example.com"}]}', { syntax: "json", profile: "run" }).policy?.rules.length).toBe(1);
  });
});

describe("spaces as Go's strings.TrimSpace has them", () => {
  test("NEL and no-break space are space, a byte order mark is not", () => {
    expect(goTrim("\u0085\u00a0a.example.com\u2003\u3000")).toBe("a.example.com");
    expect(goTrim("\ufeffa.example.com")).toBe("\ufeffa.example.com");
    const r = loadPolicyText('{"egress":[{"action":"allow","target":"\\ufeffa.example.com"}]}', { syntax: "json", profile: "run" });
    expect(r.policy?.rules[0]?.kind).toBe("never");
  });
});

describe("strict JSON", () => {
  const cases: [string, string, number, number, RegExp][] = [
    ["trailing comma in an array", '{"egress":[{"action":"allow","target":"a.b"},]}', 1, 45, /trailing comma before \]/],
    ["trailing comma in an object", '{"egress":[],\n}', 1, 13, /trailing comma before \}/],
    ["line comment", '{"egress":[] // rules\n}', 1, 14, /comments are not allowed/],
    ["block comment", '/* x */ {"egress":[]}', 1, 1, /comments are not allowed|not a JSON value|unexpected/],
    ["hash comment", '{\n# x\n"egress":[]}', 2, 1, /comments are not allowed/],
    ["single-quoted string", `{"egress":[{"action":'allow'}]}`, 1, 22, /single quotes/],
    ["unquoted key", '{egress:[]}', 1, 2, /key is not quoted/],
    ["NaN", '{"x":NaN}', 1, 6, /NaN is not a JSON value/],
    ["Infinity", '{"x":-Infinity}', 1, 6, /is not a JSON number/],
    ["hex", '{"x":0x10}', 1, 6, /0x10 is not a JSON number/],
    ["leading plus", '{"x":+1}', 1, 6, /\+1 is not a JSON value/],
    ["True", '{"x":True}', 1, 6, /True is not a JSON value/],
    ["missing colon", '{"egress" []}', 1, 11, /after an object key/],
    ["missing comma in an array", '{"egress":[{} {}]}', 1, 15, /missing comma between array items/],
    ["bad escape", '{"x":"a\\x"}', 1, 8, /\\x is not a JSON escape/],
    ["short unicode escape", '{"x":"\\u12"}', 1, 7, /four hex digits/],
    ["tab in a string", '{"x":"a\tb"}', 1, 8, /a tab inside a string/],
    ["unclosed string", '{"x":"abc}', 1, 6, /a string is not closed/],
    ["unclosed array at the end", '{"egress":[\n', 1, 11, /array that starts here is not closed/],
    ["text after the value", '{"egress":[]}]', 1, 14, /unexpected "\]" after the JSON value/],
    ["a byte order mark", '\ufeff{"egress":[]}', 1, 1, /a byte order mark/],
  ];
  for (const [what, text, line, col, message] of cases) {
    test(what, () => {
      const r = loadPolicyText(text, { syntax: "json", profile: "run" });
      expect(r.policy).toBeNull();
      expect(r.problems).toHaveLength(1);
      expect(r.problems[0]).toMatchObject({ severity: "error", code: "syntax", line, col });
      expect(r.problems[0]!.message).toMatch(/^invalid JSON: /);
      expect(r.problems[0]!.message).toMatch(message);
    });
  }

  test("what JSON allows: escapes, numbers, nesting, empty containers, __proto__ as a plain member", () => {
    const r = loadPolicyText('{"egress":[{"action":"allow","target":"a\\u002eexample\\/x"}],"n":[-0.5e+3,0,1E2,{}],"__proto__":{"x":1}}', { syntax: "json", profile: "run" });
    expect(r.policy?.rules[0]?.kind).toBe("never"); // "a.example/x": a path
    expect(r.problems.map((p) => p.path)).toEqual(["egress[0].target", "n", "__proto__"]);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  test("the same text YAML reads is refused as JSON, and .json names JSON", () => {
    const text = '{"egress":[{"action":"allow","target":"a.example.com"},]}';
    expect(loadPolicyText(text).policy).not.toBeNull();
    expect(loadPolicyText(text, { syntax: "json" }).policy).toBeNull();
    expect([syntaxOfFile("p.json"), syntaxOfFile("P.JSON"), syntaxOfFile("p.yaml"), syntaxOfFile("-"), syntaxOfFile("policy")]).toEqual(["json", "json", "yaml", "yaml", "yaml"]);
  });

  test("nesting: Go's limit of 10000 levels, without touching the call stack", () => {
    const ok = `{"x":${"[".repeat(MAX_JSON_DEPTH - 1)}${"]".repeat(MAX_JSON_DEPTH - 1)}}`;
    expect(loadPolicyText(ok, { syntax: "json", profile: "run" }).policy).not.toBeNull();
    const deep = "[".repeat(200_000) + "]".repeat(200_000);
    const r = loadPolicyText(deep, { syntax: "json" });
    expect(r.problems[0]?.message).toContain("nested too deeply");
  });

  test("empty and null texts are deny-all; surrounding Go space is not an error", () => {
    for (const t of ["", " \n", "null", "{}", "\u00a0{}\u00a0"]) {
      expect(loadPolicyText(t, { syntax: "json" })).toEqual({ policy: { defaultAction: "deny", requireFullIsolation: false, rules: [] }, problems: [] });
    }
  });

  test("positions of later problems in a large JSON policy", () => {
    const rules = Array.from({ length: 3000 }, (_, i) => `{"action":"allow","target":"h${i}.example.com"}`);
    rules[2500] = '{"action":"allow","target":"h.example.com:443"}';
    const r = loadPolicyText(`{"egress":[\n${rules.join(",\n")}\n]}`, { syntax: "json" });
    expect(r.problems).toEqual([expect.objectContaining({ path: "egress[2500].target", line: 2502, col: 28 })]);
  });
});

describe("YAML indentation: reported at the line that is wrong", () => {
  const cases: [string, string, number, number, string][] = [
    ["a rule's second key over-indented", "egress:\n- action: allow\n   target: x.example.com\n", 3, 4, '"target" is indented more than "action" on line 2 (column 4, not 3)'],
    ["deeper", "egress:\n  - action: allow\n       target: x.example.com\n", 3, 8, '"target" is indented more than "action" on line 2 (column 8, not 5)'],
    ["under-indented", "egress:\n  - action: allow\n   target: x.example.com\n", 3, 4, '"target" is indented less than "action" on line 2 (column 4, not 5)'],
    ["a top-level key", "defaultAction: deny\n  egress: []\n", 2, 3, '"egress" is indented more than "defaultAction" on line 1 (column 3, not 1)'],
    ["a comment line between", "egress:\n- action: allow\n  # note\n   target: x.example.com\n", 4, 4, '"target" is indented more than "action" on line 2 (column 4, not 3)'],
  ];
  for (const [what, text, line, col, message] of cases) {
    test(what, () => {
      const r = loadPolicyText(text);
      expect(r.problems).toEqual([expect.objectContaining({ severity: "error", code: "syntax", line, col, message: `invalid YAML: ${message}` })]);
    });
  }
});

describe("loadRulesText (a PATCH body)", () => {
  test("paths are [i], positions are the body's", () => {
    const r = loadRulesText('[\n{"action":"allow","target":"a.example.com"},\n{"target":"b.example.com:1"}\n]', { syntax: "json", profile: "run" });
    expect(r.rules?.map((x) => x.kind)).toEqual(["exact", "never"]);
    expect(r.problems.map((p) => [p.code, p.path, p.line])).toEqual([["implicit-deny", "[1]", 3], ["bad-target", "[1].target", 3]]);
  });
  test("not a list, or empty: an error", () => {
    for (const t of ["", "{}", "null"]) expect(loadRulesText(t, { syntax: "json" }).rules).toBeNull();
  });
});
