// Policies as OpenSandbox's sidecar takes them, run by serve from a file and from
// OPENSANDBOX_EGRESS_RULES (the API's bodies: http-api.test.ts): serve starts, logs a
// warning per oddity with its path and line:column, and enforces what the sidecar would,
// seen from the application's side. `egressctl validate` judges the same files. Strict
// JSON: a trailing comma in a .json file or in the variable stops serve with exit 3 at
// its line and column, before anything is loaded. For addresses a deny rule wins over an
// allow rule and over a learned name, wherever it is listed.
import { describe, expect, test } from "bun:test";
import type { Lab } from "../../support/lab.ts";
import { args, BIN, curl, dig, learned, serve, serveExit, status, table, useLab, writePolicy } from "./helpers-serve.ts";

let lab: Lab;
useLab((l) => {
  lab = l;
});

/** serve's warnings, as "code path line:col" */
const warnings = (events: Record<string, any>[]) =>
  events.filter((e) => e.event === "policy.warning").map((e) => `${e.code} ${e.path} ${e.line}:${e.col}`);

// defaultAction in capitals, an action in another case, spaces around a target, a target
// with a port (a name that matches nothing), an unknown field
const ODD = `{
  "defaultAction": "DENY",
  "egress": [
    { "action": "Allow", "target": " api.example.com " },
    { "action": "allow", "target": "other.example.com:443" }
  ],
  "version": 1
}
`;
const ODD_WARNINGS = [
  "action-form defaultAction 2:20",
  "action-form egress[0].action 4:17",
  "target-spaces egress[0].target 4:36",
  "bad-target egress[1].target 5:36",
  "unknown-field version 7:3",
];

async function expectOddPolicyEnforced(): Promise<void> {
  // "Allow" allows: the name resolves and its address connects
  expect((await dig(lab, "api.example.com")).addresses).toEqual(["198.51.100.10"]);
  expect(await curl(lab, "api.example.com")).toBe(0);
  // "other.example.com:443" is no name: the rule matches nothing, defaultAction denies
  expect((await dig(lab, "other.example.com")).rcode).toBe("NXDOMAIN");
  expect(await curl(lab, "198.51.100.11")).toBe(7);
}

describe("serve runs what the sidecar runs", () => {
  test("a .json FILE with oddities: serve starts, warns about each one at its line, enforces its meaning", async () => {
    const file = writePolicy(lab, ODD, "odd.json");
    const s = await serve(lab, args(file));
    expect(warnings(s.events)).toEqual(ODD_WARNINGS);
    expect(s.events.filter((e) => e.event === "policy.warning").every((e) => e.level === "warn" && e.source === `file:${file}`)).toBe(true);
    expect((await status(s)).policy).toMatchObject({ source: `file:${file}`, rules: 2 });
    await expectOddPolicyEnforced();
  });

  test("OPENSANDBOX_EGRESS_RULES with the same oddities: the same warnings, the same enforcement", async () => {
    const s = await serve(lab, args(null), { env: { OPENSANDBOX_EGRESS_RULES: ODD } });
    expect(warnings(s.events)).toEqual(ODD_WARNINGS);
    await expectOddPolicyEnforced();
  });

  test("a rule without an action denies, even under defaultAction allow", async () => {
    const file = writePolicy(lab, '{"defaultAction":" allow ","egress":[{"target":"evil.example.com"}]}', "no-action.json");
    const s = await serve(lab, args(file));
    expect(warnings(s.events)).toEqual(["action-form defaultAction 1:18", "implicit-deny egress[0] 1:38"]);
    expect((await dig(lab, "evil.example.com")).rcode).toBe("NXDOMAIN");
    expect((await dig(lab, "api.example.com")).addresses).toEqual(["198.51.100.10"]);
  });

  test("an unknown defaultAction is deny, whatever the sidecar does with it", async () => {
    const s = await serve(lab, args(null), { env: { OPENSANDBOX_EGRESS_RULES: '{"defaultAction":"block","egress":[{"action":"allow","target":"api.example.com"}]}' } });
    expect(warnings(s.events)).toEqual(["bad-value defaultAction 1:18"]);
    expect((await dig(lab, "api.example.com")).rcode).toBe("NOERROR");
    expect((await dig(lab, "other.example.com")).rcode).toBe("NXDOMAIN");
    expect(await curl(lab, "198.51.100.66")).toBe(7);
  });

  test("validate judges the same file: the target with a port is an error (exit 3); case alone is a warning (exit 0), an error with --strict", async () => {
    const odd = writePolicy(lab, ODD, "judged.json");
    const v = await lab.exec("sandbox", [BIN, "validate", "--json", odd]);
    expect(v.code).toBe(3);
    const report = JSON.parse(v.stdout);
    expect(report.files[0].problems.map((p: Record<string, unknown>) => `${p.severity} ${p.code}`)).toEqual([
      "warning action-form", "warning action-form", "warning target-spaces", "error bad-target", "warning unknown-field",
    ]);
    const caseOnly = writePolicy(lab, '{"defaultAction":"DENY","egress":[{"action":"Allow","target":"api.example.com"}]}', "case-only.json");
    expect((await lab.exec("sandbox", [BIN, "validate", caseOnly])).code).toBe(0);
    const strict = await lab.exec("sandbox", [BIN, "validate", "--strict", caseOnly]);
    expect(strict.code).toBe(3);
    expect(strict.stdout).toContain(`${caseOnly}:1:18: error: defaultAction: defaultAction "DENY" is read as "deny"`);
  });
});

describe("addresses: deny wins, as in the sidecar's ruleset", () => {
  test("a deny listed after an allow CIDR and an allowed name still closes its address; the next address stays open", async () => {
    const file = writePolicy(lab, JSON.stringify({
      defaultAction: "deny",
      egress: [
        { action: "allow", target: "198.51.100.0/24" },
        { action: "allow", target: "other.example.com" }, // A 198.51.100.11 only
        { action: "deny", target: "198.51.100.11" },
      ],
    }), "deny-wins.json");
    const s = await serve(lab, args(file));
    expect(s.events.filter((e) => e.event === "policy.warning")).toEqual([]);
    // the name is allowed and answered, but its address is denied: not learned, and
    // refused by the deny set although the /24 allow is listed first
    expect((await dig(lab, "other.example.com")).addresses).toEqual(["198.51.100.11"]);
    expect(await learned(lab)).not.toContain("198.51.100.11");
    expect(await curl(lab, "other.example.com")).toBe(7);
    expect(await curl(lab, "198.51.100.11")).toBe(7);
    expect(await curl(lab, "198.51.100.12")).toBe(0);
  });
});

describe("strict JSON stops serve before anything is loaded", () => {
  test("a trailing comma in a .json FILE: exit 3 at its line and column", async () => {
    const file = writePolicy(lab, '{\n  "egress": [\n    { "action": "allow", "target": "api.example.com" },\n  ]\n}\n', "comma.json");
    const r = await serveExit(lab, args(file));
    expect(r.code).toBe(3);
    const ev = r.events.find((e) => e.event === "policy.invalid");
    expect(ev!.problems).toEqual([expect.objectContaining({ code: "syntax", line: 3, col: 55, message: "invalid JSON: trailing comma before ]" })]);
    expect(await table(lab)).toBeNull();
  });

  test("the same text in a .yaml FILE is YAML's flow style, and runs", async () => {
    const file = writePolicy(lab, '{\n  "egress": [\n    { "action": "allow", "target": "api.example.com" },\n  ]\n}\n', "comma.yaml");
    await serve(lab, args(file));
    expect((await dig(lab, "api.example.com")).addresses).toEqual(["198.51.100.10"]);
  });

  test("a comment in OPENSANDBOX_EGRESS_RULES: exit 3 at its line and column", async () => {
    const r = await serveExit(lab, args(null), { OPENSANDBOX_EGRESS_RULES: '{"egress": [] // none\n}' });
    expect(r.code).toBe(3);
    const ev = r.events.find((e) => e.event === "policy.invalid");
    expect(ev).toMatchObject({ source: "env:OPENSANDBOX_EGRESS_RULES" });
    expect(ev!.problems).toEqual([expect.objectContaining({ code: "syntax", line: 1, col: 15, message: "invalid JSON: comments are not allowed in JSON" })]);
    expect(await table(lab)).toBeNull();
  });
});
