// loadPolicyText behaviour not covered by the fixture corpus: options, the env form,
// hints, resource limits, and that positions point at the right text.
import { describe, expect, test } from "bun:test";
import { loadPolicyText, parsePolicyEnv } from "../../../src/core/policy/load.ts";

describe("loadPolicyText", () => {
  test("empty, null and {} are deny-all", () => {
    for (const text of ["", "  \n", "null", "{}", "~"]) {
      const r = loadPolicyText(text);
      expect(r.problems).toEqual([]);
      expect(r.policy).toEqual({ defaultAction: "deny", requireFullIsolation: false, rules: [] });
    }
  });

  test("parsePolicyEnv reads OpenSandbox JSON with the camelCase alias", () => {
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
});
