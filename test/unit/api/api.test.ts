// The policy API's pure parts: body parsing, PATCH merge, DELETE by targets, the rule
// cap, the token compare, the response shapes. Table-driven.
import { describe, expect, test } from "bun:test";
import { parsePolicyBody, parseRulesBody, parseTargetsBody } from "../../../src/core/api/body.ts";
import { deleteTargets, mergeRules, overRuleCap, targetKey } from "../../../src/core/api/edit.ts";
import { enforcementModeOf, errorView, policyView } from "../../../src/core/api/responses.ts";
import { tokenMatches } from "../../../src/core/api/token.ts";
import { parseHttpAddr, resolveServeConfig } from "../../../src/core/config/serve-config.ts";
import { loadPolicyText } from "../../../src/core/policy/load.ts";

const policy = (...rules: [string, string][]) => loadPolicyText(JSON.stringify({ egress: rules.map(([action, target]) => ({ action, target })) })).policy!;
const rules = (...r: [string, string][]) => policy(...r).rules;
const pairs = (d: { egress: { action: string; target: string }[] }) => d.egress.map((r) => [r.action, r.target]);

describe("parsePolicyBody", () => {
  const cases: [string, string, "ok" | RegExp, number?][] = [
    ["empty", "", "ok", 0],
    ["blank", "  \n", "ok", 0],
    ["null", "null", "ok", 0],
    ["{}", "{}", "ok", 0],
    ["a policy", '{"defaultAction":"deny","egress":[{"action":"allow","target":"API.example.com."}]}', "ok", 1],
    ["not JSON", "{ not json", /^invalid JSON: an object key is not quoted/],
    ["YAML is not accepted", "egress: []", /^invalid JSON: egress is not a JSON value/],
    ["a trailing comma", '{"egress":[],}', /^invalid JSON: trailing comma before \}/],
    ["a list", "[]", /is a list/],
    ["wrong type", '{"defaultAction":5}', /^defaultAction: /],
    ["an action OpenSandbox refuses too", '{"egress":[{"action":"block","target":"a.example.com"}]}', /^egress\[0\]\.action: expected "allow" or "deny", got "block"/],
    ["two problems", '{"egress":[{"action":"x","target":"a.example.com"},{"action":"allow","target":""}]}', /and 1 more problem/],
  ];
  for (const [what, text, want, n] of cases) {
    test(what, () => {
      const r = parsePolicyBody(text);
      if (want === "ok") {
        expect(r.ok).toBe(true);
        if (r.ok) expect(r.value.rules.length).toBe(n!);
      } else {
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.error).toMatch(want);
      }
    });
  }
  test("what OpenSandbox accepts is accepted, each oddity a warning with its position", () => {
    const r = parsePolicyBody('{"defaultAction":" DENY ","egres":[],"egress":[{"action":"Allow","target":"http://x.example.com/"},{"target":" b.example.com "}]}');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.defaultAction).toBe("deny");
    expect(r.value.rules.map((x) => [x.action, x.kind, x.target])).toEqual([["allow", "never", "http://x.example.com/"], ["deny", "exact", "b.example.com"]]);
    expect(r.warnings.map((w) => [w.code, w.path, w.line, w.col])).toEqual([
      ["action-form", "defaultAction", 1, 18],
      ["unknown-field", "egres", 1, 27],
      ["action-form", "egress[0].action", 1, 58],
      ["bad-target", "egress[0].target", 1, 75],
      ["implicit-deny", "egress[1]", 1, 100],
      ["target-spaces", "egress[1].target", 1, 110],
    ]);
  });

  test("a body's syntax error has its line and column", () => {
    const r = parsePolicyBody('{\n  "egress": [\n    {"action": "allow", "target": "a.example.com"},\n  ]\n}');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems).toEqual([{ path: "", line: 3, col: 51, code: "syntax", message: "invalid JSON: trailing comma before ]", hint: "JSON allows no comma after the last item; remove it" }]);
  });

  test("a normalised target", () => {
    const r = parsePolicyBody('{"egress":[{"action":"allow","target":"API.example.com."}]}');
    expect(r.ok && r.value.rules[0]!.target).toBe("api.example.com");
  });
});

describe("parseRulesBody and parseTargetsBody", () => {
  const cases: [string, (t: string) => { ok: boolean; error?: string }, string, true | RegExp][] = [
    ["rules: a list", parseRulesBody, '[{"action":"allow","target":"a.example.com"}]', true],
    ["rules: empty list (400, as OpenSandbox)", parseRulesBody, "[]", /empty array/],
    ["rules: an object", parseRulesBody, '{"action":"allow","target":"a.example.com"}', /list of rules/],
    ["rules: empty body", parseRulesBody, "", /list of rules/],
    ["rules: a bad action, named by its index", parseRulesBody, '[{"action":"allow","target":"a.example.com"},{"action":"permit","target":"b.example.com"}]', /^\[1\]\.action: /],
    ["rules: a target that is not text", parseRulesBody, '[{"action":"allow","target":7}]', /^\[0\]\.target: expected a string/],
    ["rules: not JSON", parseRulesBody, "[", /^invalid JSON: /],
    ["rules: a comment", parseRulesBody, '[{"action":"allow","target":"a.example.com"} /* x */]', /^invalid JSON: comments are not allowed/],
    ["targets: a list", parseTargetsBody, '["a.example.com","10.0.0.0/8"]', true],
    ["targets: not a list", parseTargetsBody, '"a.example.com"', /list of targets/],
    ["targets: a number", parseTargetsBody, '["a.example.com",7]', /^\[1\]: expected a string, got number/],
    ["targets: empty list (400, as OpenSandbox)", parseTargetsBody, "[]", /empty array/],
    ["targets: any string, as OpenSandbox (a URL matches no rule, or the rule that has it)", parseTargetsBody, '["http://a.example.com/", "x.com:443"]', true],
    ["targets: a null", parseTargetsBody, '[null]', /^\[0\]: expected a string, got null/],
    ["targets: a trailing comma", parseTargetsBody, '["a.example.com",]', /^invalid JSON: trailing comma/],
  ];
  for (const [what, parse, text, want] of cases) {
    test(what, () => {
      const r = parse(text) as { ok: boolean; error?: string };
      expect(r.ok).toBe(want === true);
      if (want !== true) expect(r.error).toMatch(want);
    });
  }

  test("rules: oddities are warnings named by the index in the body", () => {
    const r = parseRulesBody('[{"action":"allow","target":"a.example.com"},\n {"action":" Allow","target":"a b","port":1}]');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.map((x) => [x.index, x.action, x.kind, x.target])).toEqual([[0, "allow", "exact", "a.example.com"], [1, "allow", "never", "a b"]]);
    expect(r.warnings.map((w) => [w.code, w.path, w.line])).toEqual([["action-form", "[1].action", 2], ["bad-target", "[1].target", 2], ["unknown-field", "[1].port", 2]]);
  });
});

describe("mergeRules (PATCH)", () => {
  const base = policy(["allow", "api.example.com"], ["allow", "other.example.com"], ["deny", "10.0.0.0/8"]);
  const cases: [string, [string, string][], string[][]][] = [
    ["nothing patched", [], [["allow", "api.example.com"], ["allow", "other.example.com"], ["deny", "10.0.0.0/8"]]],
    ["several rules for one target: the first wins, the others are dropped", [["allow", "new.example.com"], ["deny", "New.Example.com"], ["deny", "api.example.com"], ["allow", "api.example.com."]],
      [["allow", "new.example.com"], ["deny", "api.example.com"], ["allow", "other.example.com"], ["deny", "10.0.0.0/8"]]],
    ["new rules go first", [["allow", "new.example.com"]], [["allow", "new.example.com"], ["allow", "api.example.com"], ["allow", "other.example.com"], ["deny", "10.0.0.0/8"]]],
    ["the same target, another case: dropped from the base", [["deny", "OTHER.Example.COM"]], [["deny", "other.example.com"], ["allow", "api.example.com"], ["deny", "10.0.0.0/8"]]],
    ["the same network spelled with host bits", [["allow", "10.1.2.3/8"]], [["allow", "10.0.0.0/8"], ["allow", "api.example.com"], ["allow", "other.example.com"]]],
    ["a wildcard is not its apex", [["deny", "*.api.example.com"]], [["deny", "*.api.example.com"], ["allow", "api.example.com"], ["allow", "other.example.com"], ["deny", "10.0.0.0/8"]]],
  ];
  for (const [what, patch, want] of cases) test(what, () => expect(pairs(mergeRules(base, rules(...patch)))).toEqual(want));
  test("keeps defaultAction and require_full_isolation", () => {
    const strict = loadPolicyText('{"defaultAction":"allow","require_full_isolation":true}').policy!;
    expect(mergeRules(strict, rules(["deny", "x.example.com"]))).toEqual({ defaultAction: "allow", require_full_isolation: true, egress: [{ action: "deny", target: "x.example.com" }] });
  });
});

describe("deleteTargets (DELETE)", () => {
  const base = policy(["allow", "api.example.com"], ["deny", "api.example.com"], ["allow", "other.example.com"], ["deny", "192.0.2.0/24"]);
  const cases: [string, string[], number, string[]][] = [
    ["none found", ["nothing.example.com"], 0, ["api.example.com", "api.example.com", "other.example.com", "192.0.2.0/24"]],
    ["every rule with the target", ["API.example.com."], 2, ["other.example.com", "192.0.2.0/24"]],
    ["a network by another spelling", ["192.0.2.7/24"], 1, ["api.example.com", "api.example.com", "other.example.com"]],
    ["several", ["other.example.com", "192.0.2.0/24"], 2, ["api.example.com", "api.example.com"]],
  ];
  for (const [what, targets, removed, left] of cases) {
    test(what, () => {
      const r = deleteTargets(base, targets);
      expect(r.removed).toBe(removed);
      expect(r.doc.egress.map((x) => x.target)).toEqual(left);
    });
  }
  test("targetKey falls back to lowercase for what is not a target", () => expect(targetKey(" A B ")).toBe("a b"));
});

describe("overRuleCap", () => {
  const cases: [number, number, boolean][] = [[0, 4096, false], [4096, 4096, false], [4097, 4096, true], [1_000_000, 0, false], [3, 2, true]];
  for (const [n, max, over] of cases) test(`${n} rules, cap ${max}`, () => expect(overRuleCap(n, max) !== null).toBe(over));
  test("names the variable", () => expect(overRuleCap(3, 2)).toMatch(/OPENSANDBOX_EGRESS_MAX_RULES/));
});

describe("tokenMatches", () => {
  const cases: [string | null | undefined, string, boolean][] = [
    ["s3cret", "s3cret", true],
    ["s3cre", "s3cret", false],
    ["s3cretx", "s3cret", false],
    ["S3CRET", "s3cret", false],
    ["", "s3cret", false],
    [null, "s3cret", false],
    [undefined, "s3cret", false],
    ["x".repeat(10_000), "s3cret", false],
  ];
  for (const [given, expected, want] of cases) test(`${JSON.stringify(given)?.slice(0, 20)} vs ${JSON.stringify(expected)}`, () => expect(tokenMatches(given, expected)).toBe(want));
});

describe("responses", () => {
  test("policyView", () => {
    const p = policy(["allow", "API.example.com"]);
    // OpenSandbox's fields only (its spec: additionalProperties false)
    expect(policyView(p, "enforcing", "dns+nftables")).toEqual({ status: "ok", mode: "enforcing", enforcementMode: "dns+nft", policy: { defaultAction: "deny", egress: [{ action: "allow", target: "api.example.com" }] } });
    // egressctl's extension shows where the policy uses it
    const strict = loadPolicyText('{"require_full_isolation":true}').policy!;
    expect(policyView(strict, "deny_all", "dns+nftables").policy).toEqual({ defaultAction: "deny", egress: [], require_full_isolation: true });
    expect(policyView(p, "enforcing", "dns-only", "no matching targets found").reason).toBe("no matching targets found");
  });
  test("enforcementModeOf", () => {
    expect(["dns+nftables", "dns-only", "disabled"].map(enforcementModeOf)).toEqual(["dns+nft", "dns", "dns"]);
  });
  test("errorView leaves out an empty problem list", () => {
    expect(errorView("x", [])).toEqual({ status: "error", error: "x", message: "x" });
    expect(errorView("x", [{ path: "a", message: "m" }]).problems).toHaveLength(1);
  });
});

describe("parseHttpAddr", () => {
  const cases: [string, unknown][] = [
    [":18080", { host: null, port: 18080 }],
    ["127.0.0.1:18080", { host: "127.0.0.1", port: 18080 }],
    ["[::1]:18080", { host: "::1", port: 18080 }],
    ["localhost:1", { host: "localhost", port: 1 }],
    ["off", null],
    ["OFF", null],
    ["", null],
    ["18080", "error"],
    [":0", "error"],
    [":65536", "error"],
    ["::1:18080", "error"],
    ["[::1]", "error"],
  ];
  for (const [spec, want] of cases) {
    test(JSON.stringify(spec), () => {
      const r = parseHttpAddr(spec);
      if (want === "error") expect(typeof r).toBe("string");
      else expect(r).toEqual(want as never);
    });
  }
});

describe("the API's settings", () => {
  const cfg = (flags: Parameters<typeof resolveServeConfig>[0], env: Record<string, string> = {}) => resolveServeConfig(flags, env);
  test("defaults: :18080, no token, cap 4096, auth required for changes", () => {
    const r = cfg({});
    expect(r.ok && { httpAddr: r.config.httpAddr, token: r.config.token, maxRules: r.config.maxRules, insecure: r.config.insecureNoAuth }).toEqual({ httpAddr: { host: null, port: 18080 }, token: undefined, maxRules: 4096, insecure: false });
  });
  const cases: [string, Parameters<typeof resolveServeConfig>[0], Record<string, string>, unknown][] = [
    ["env address", {}, { OPENSANDBOX_EGRESS_HTTP_ADDR: "127.0.0.1:9" }, { httpAddr: { host: "127.0.0.1", port: 9 } }],
    ["the flag wins", { httpAddr: "off" }, { OPENSANDBOX_EGRESS_HTTP_ADDR: "127.0.0.1:9" }, { httpAddr: null }],
    ["token", {}, { OPENSANDBOX_EGRESS_TOKEN: "t" }, { token: "t" }],
    ["empty token = none", {}, { OPENSANDBOX_EGRESS_TOKEN: "" }, { token: undefined }],
    ["no cap", {}, { OPENSANDBOX_EGRESS_MAX_RULES: "0" }, { maxRules: 0 }],
    ["--insecure-no-auth", { insecureNoAuth: true }, {}, { insecureNoAuth: true }],
    // as OpenSandbox: not a whole number of 0 or more is the default, with a warning (not exit 2)
    ["a negative cap", {}, { OPENSANDBOX_EGRESS_MAX_RULES: "-1" }, { maxRules: 4096, warnings: [expect.stringMatching(/OPENSANDBOX_EGRESS_MAX_RULES '-1'.*4096/)] }],
    ["a cap that is not a number", {}, { OPENSANDBOX_EGRESS_MAX_RULES: "lots" }, { maxRules: 4096, warnings: [expect.stringMatching(/'lots'/)] }],
    ["a fractional cap", {}, { OPENSANDBOX_EGRESS_MAX_RULES: "1.5" }, { maxRules: 4096, warnings: [expect.stringMatching(/'1.5'/)] }],
    ["a large cap", {}, { OPENSANDBOX_EGRESS_MAX_RULES: "2000000" }, { maxRules: 2_000_000, warnings: [] }],
    ["a bad address", { httpAddr: "18080" }, {}, /--http-addr/],
    ["a bad env address", {}, { OPENSANDBOX_EGRESS_HTTP_ADDR: "x" }, /OPENSANDBOX_EGRESS_HTTP_ADDR/],
  ];
  for (const [what, flags, env, want] of cases) {
    test(what, () => {
      const r = cfg(flags, env);
      if (want instanceof RegExp) expect(!r.ok && r.error).toMatch(want);
      else expect(r.ok && r.config).toMatchObject(want as object);
    });
  }
});
