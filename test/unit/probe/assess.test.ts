// assess(): the mode decision shared by probe and serve, over many fact combinations.
import { describe, expect, test } from "bun:test";
import { assess, type AssessOptions } from "../../../src/core/probe/assess.ts";
import type { Mode } from "../../../src/core/probe/modes.ts";
import { assumeSandbox, facts, hostNs, iptNatBroken, kernelRefuses, noCap, noIpv6, noIptables, noLib, noNftBin } from "./fixtures.ts";

type Row = [name: string, f: ReturnType<typeof facts>, opts: AssessOptions, mode: Mode, redirect: string | null, refused: RegExp | null];

const rows: Row[] = [
  ["healthy sandbox", facts(), {}, "dns+nftables", "nftables", null],
  ["library only", facts(noNftBin), {}, "dns+nftables", "nftables", null],
  ["binary only", facts(noLib), {}, "dns+nftables", "nftables", null],
  ["no nftables at all -> iptables", facts(noLib, noNftBin), {}, "dns-only", "iptables", null],
  ["kernel refuses nftables -> iptables", facts(kernelRefuses), {}, "dns-only", "iptables", null],
  ["no nftables, no iptables", facts(noLib, noNftBin, noIptables), {}, "disabled", null, null],
  ["kernel refuses, iptables nat broken", facts(kernelRefuses, iptNatBroken), {}, "disabled", null, null],
  ["no CAP_NET_ADMIN", facts(noCap), {}, "disabled", null, null],
  ["no CAP_NET_ADMIN, no tools", facts(noCap, noLib, noNftBin, noIptables), {}, "disabled", null, null],
  ["IPv6 off changes no mode", facts(noIpv6), {}, "dns+nftables", "nftables", null],
  ["require dns+nftables, have it", facts(), { wantMode: "dns+nftables" }, "dns+nftables", "nftables", null],
  ["require dns-only, nftables there", facts(), { wantMode: "dns-only" }, "dns-only", "nftables", null],
  ["require disabled", facts(), { wantMode: "disabled" }, "disabled", null, null],
  ["require dns+nftables, only iptables", facts(noLib, noNftBin), { wantMode: "dns+nftables" }, "dns-only", "iptables", /dns\+nftables was required/],
  ["require dns-only without cap", facts(noCap), { wantMode: "dns-only" }, "disabled", null, /dns-only was required.*CAP_NET_ADMIN/],
  ["require dns-only, no way to redirect", facts(noLib, noNftBin, noIptables), { wantMode: "dns-only" }, "disabled", null, /nftables unusable.*iptables: unavailable/],
  ["full isolation met", facts(), { requireFullIsolation: true }, "dns+nftables", "nftables", null],
  ["full isolation unmet (dns-only)", facts(kernelRefuses), { requireFullIsolation: true }, "dns-only", "iptables", /require_full_isolation/],
  ["full isolation unmet (disabled)", facts(noCap), { requireFullIsolation: true }, "disabled", null, /require_full_isolation.*disabled/],
  ["full isolation, asked for weaker", facts(), { requireFullIsolation: true, wantMode: "dns-only" }, "dns-only", "nftables", /require_full_isolation/],
  ["host network refused", facts(hostNs), {}, "dns+nftables", "nftables", /host's network namespace/],
  ["host network allowed by flag", facts(hostNs), { allowHostNetwork: true }, "dns+nftables", "nftables", null],
  ["host network overridden by env", facts(hostNs, assumeSandbox), {}, "dns+nftables", "nftables", null],
  ["host network refused even when disabled", facts(hostNs, noCap), {}, "disabled", null, /host's network/],
  ["two refusals at once", facts(hostNs, noCap), { wantMode: "dns+nftables" }, "disabled", null, /was required.*; this looks like the host/],
];

describe("assess", () => {
  test.each(rows)("%s", (_name, f, opts, mode, redirect, refused) => {
    const a = assess(f, opts);
    expect(a.mode).toBe(mode);
    expect(a.redirect).toBe(redirect as never);
    if (refused) {
      expect(a.refusal?.exitCode).toBe(4);
      expect(a.refusal?.message).toMatch(refused);
    } else {
      expect(a.refusal).toBeUndefined();
    }
    // the mode is always one that can run here (a refusal never names an unavailable one as picked)
    expect(a.available).toContain(a.mode);
    expect(a.reasons.length).toBeGreaterThan(0);
  });

  test("every downgrade step has a reason and steps chain downwards", () => {
    const a = assess(facts(noLib, noNftBin, noIptables));
    expect(a.downgrades.map((d) => [d.from, d.to])).toEqual([["dns+nftables", "dns-only"], ["dns-only", "disabled"]]);
    expect(a.downgrades[0]!.reason).toMatch(/nftables unusable/);
    expect(a.downgrades[1]!.reason).toMatch(/iptables: unavailable/);
  });

  test("no CAP_NET_ADMIN is one step with one reason, and says so loudly", () => {
    const a = assess(facts(noCap));
    expect(a.downgrades).toEqual([{ from: "dns+nftables", to: "disabled", reason: expect.stringMatching(/no CAP_NET_ADMIN/) }]);
    expect(a.reasons.join("\n")).toMatch(/NOTHING is enforced/);
  });

  test("no downgrade when the strongest mode is available", () => {
    expect(assess(facts()).downgrades).toEqual([]);
  });

  test("the kernel's own error text reaches the reason", () => {
    expect(assess(facts(kernelRefuses)).downgrades[0]!.reason).toMatch(/No such file or directory/);
  });

  test("IPv6 off is reported", () => {
    expect(assess(facts(noIpv6)).reasons.join("\n")).toMatch(/IPv6 is off/);
  });

  test("host suspicion is reported, with the override named when it applies", () => {
    expect(assess(facts(hostNs)).hostNetworkSuspected).toBe(true);
    const overridden = assess(facts(hostNs, assumeSandbox));
    expect(overridden.hostNetworkSuspected).toBe(false);
    expect(overridden.reasons.join("\n")).toMatch(/EGRESSCTL_ASSUME_SANDBOX=1/);
    expect(assess(facts(hostNs), { allowHostNetwork: true }).reasons.join("\n")).toMatch(/--allow-host-network/);
  });
});
