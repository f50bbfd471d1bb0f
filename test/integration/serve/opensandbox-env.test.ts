// OpenSandbox's environment read as its sidecar reads it, with a real serve in a lab:
// OPENSANDBOX_EGRESS_BLOCK_DOH_443 (strict mode without a list, the list before every
// allow with one), a lenient OPENSANDBOX_EGRESS_MAX_RULES, and an empty
// OPENSANDBOX_EGRESS_POLICY_FILE falling back to OPENSANDBOX_EGRESS_RULES.
import { describe, expect, test } from "bun:test";
import type { Lab } from "../../support/lab.ts";
import { args, curl, dig, policyText, serve, status, useLab, writePolicy } from "./helpers-serve.ts";

let lab: Lab;
useLab((l) => {
  lab = l;
});

const outputChain = async () => (await lab.exec("sandbox", ["nft", "list", "chain", "inet", "egressctl", "output"])).stdout;

describe("OPENSANDBOX_EGRESS_BLOCK_DOH_443", () => {
  test("true without a DoH list: all of port 443 is blocked, HTTPS to allowed names too, with a start-up warning", async () => {
    const policy = writePolicy(lab, JSON.stringify({ defaultAction: "deny", egress: [{ action: "allow", target: "api.example.com" }, { action: "allow", target: "203.0.113.0/24" }] }));
    const s = await serve(lab, args(policy), { env: { OPENSANDBOX_EGRESS_BLOCK_DOH_443: "true", OPENSANDBOX_EGRESS_DOH_BLOCKLIST: "" } });
    const w = s.events.find((e) => e.event === "doh.strict");
    expect(w?.level).toBe("warn");
    expect(w?.warning).toMatch(/HTTPS to allowed names is blocked too/);
    expect((await dig(lab, "api.example.com")).addresses).toEqual(["198.51.100.10"]);
    expect(await curl(lab, "api.example.com", 80)).toBe(0);
    expect(await curl(lab, "api.example.com", 443)).toBe(7);
    expect(await curl(lab, "203.0.113.20", 443)).toBe(7); // a static allow too, as OpenSandbox drops 443 before its allow sets
    expect(await curl(lab, "203.0.113.20", 80)).toBe(0);
    expect(await outputChain()).toContain("meta l4proto { tcp, udp } th dport 443 goto deny_doh");
  });

  test("true with a list: those addresses on 443, before every allow (an explicit allow does not open them)", async () => {
    const policy = writePolicy(lab, JSON.stringify({ defaultAction: "deny", egress: [{ action: "allow", target: "203.0.113.0/24" }] }));
    await serve(lab, args(policy), { env: { OPENSANDBOX_EGRESS_BLOCK_DOH_443: "true", OPENSANDBOX_EGRESS_DOH_BLOCKLIST: "203.0.113.143" } });
    expect(await curl(lab, "203.0.113.143", 443)).toBe(7);
    expect(await curl(lab, "203.0.113.144", 443)).toBe(0);
    expect(await curl(lab, "203.0.113.143", 80)).toBe(0);
  });

  test("unset, with the lab's DoH list: an explicit allow of a provider's address wins (egressctl's own default)", async () => {
    const policy = writePolicy(lab, JSON.stringify({ defaultAction: "deny", egress: [{ action: "allow", target: "203.0.113.0/24" }] }));
    const s = await serve(lab, args(policy));
    expect(s.events.find((e) => e.event === "doh.strict")).toBeUndefined();
    expect(await curl(lab, "203.0.113.143", 443)).toBe(0);
  });
});

describe("OPENSANDBOX_EGRESS_MAX_RULES", () => {
  for (const value of ["lots", "-5"]) {
    test(`'${value}': serve starts with the default cap of 4096 and says so`, async () => {
      const s = await serve(lab, args(null), { env: { OPENSANDBOX_EGRESS_MAX_RULES: value, OPENSANDBOX_EGRESS_TOKEN: "t" } });
      const w = s.events.find((e) => e.event === "config.warning");
      expect(w?.warning).toContain(`OPENSANDBOX_EGRESS_MAX_RULES '${value}'`);
      expect(w?.warning).toContain("4096");
      // the cap in force: 4097 rules are refused (413), 2 are fine
      const many = JSON.stringify({ egress: Array.from({ length: 4097 }, (_, i) => ({ action: "allow", target: `n${i}.example.com` })) });
      const big = await lab.exec("sandbox", ["sh", "-c", `curl -sS -o /dev/null -w '%{http_code}' -X POST -H 'OPENSANDBOX-EGRESS-AUTH: t' --data-binary @- http://127.0.0.1:18080/policy`], { stdin: many });
      expect(big.stdout).toBe("413");
      const ok = await lab.exec("sandbox", ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H", "OPENSANDBOX-EGRESS-AUTH: t", "-d", policyText(["api.example.com", "other.example.com"]), "http://127.0.0.1:18080/policy"]);
      expect(ok.stdout).toBe("200");
    });
  }
});

describe("OPENSANDBOX_EGRESS_POLICY_FILE", () => {
  test("an empty file falls back to OPENSANDBOX_EGRESS_RULES (not deny-all), with a note", async () => {
    const file = lab.file("persisted-empty.json", "\n");
    const s = await serve(lab, args(null), { env: { OPENSANDBOX_EGRESS_POLICY_FILE: file, OPENSANDBOX_EGRESS_RULES: policyText(["api.example.com"]) } });
    expect(s.events.find((e) => e.event === "policy.note")?.note).toMatch(/is empty; falling back to OPENSANDBOX_EGRESS_RULES/);
    expect((await status(s)).policy.source).toBe("env:OPENSANDBOX_EGRESS_RULES");
    expect((await dig(lab, "api.example.com")).addresses).toEqual(["198.51.100.10"]);
  });
});
