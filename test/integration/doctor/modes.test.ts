// `egressctl doctor` next to a real serve in each weaker mode (docs/serve.md "Modes at
// run time"): dns-only through nftables, dns-only through the iptables fallback, and
// disabled. For each: the mode and why, which checks pass, warn or fail, the verdict for
// a name and an address (a dns-only serve enforces names, never addresses), the exit
// code; and that what doctor claims is what the application meets (kdig, curl).
import { describe, expect, test } from "bun:test";
import { LAB, Lab } from "../../support/lab.ts";
import type { Served } from "../../support/serve.ts";
import { args, BIN, curl, dig, serve, useLab } from "../serve/helpers-serve.ts";
import { DOCTOR_POLICY } from "./policy.ts";

let lab: Lab;
let policy: string;

useLab((l) => {
  lab = l;
  policy = lab.file("doctor-modes.yaml", DOCTOR_POLICY);
});

/** drops CAP_NET_ADMIN for the command after it, as a container without the capability */
const NO_NET_ADMIN = ["setpriv", "--inh-caps=-net_admin", "--ambient-caps=-net_admin", "--bounding-set=-net_admin"];
/** nftables absent for egressctl: serve falls back to the iptables redirect */
const NO_NFT = { EGRESSCTL_NFT_BACKEND: "none" };

interface Run { code: number; stdout: string; json: any }

/** doctor in the sandbox, the way an operator runs it in serve's container (same env, same capabilities) */
async function doctor(s: Served, argv: string[], opts: { env?: Record<string, string>; prefix?: string[] } = {}): Promise<Run> {
  const r = await lab.exec("sandbox", [...(opts.prefix ?? []), BIN, "doctor", "--socket", s.socket, ...argv], { env: opts.env });
  if (r.stderr.trim() !== "") throw new Error(`doctor wrote to stderr: ${r.stderr}`);
  return { code: r.code, stdout: r.stdout, json: argv.includes("--json") ? JSON.parse(r.stdout) : null };
}

const EXPLAIN = ["api.example.com", "evil.example.com", "198.51.100.66"];

/** check → statuses, for every finding of the report */
function checks(j: any): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const f of j.findings) (out[f.check] ??= []).push(f.status);
  return out;
}
const message = (j: any, check: string): string => j.findings.filter((f: any) => f.check === check).map((f: any) => f.message).join("\n");

/**
 * What every dns-only serve (either redirect) must make doctor say about the policy's
 * names and one address nobody resolved: names as the policy decides them, with the
 * note that their addresses are not blocked; the address not filtered at all.
 */
function expectDnsOnlyExplanations(j: any): void {
  const [api, evil, addr] = j.explanations;
  expect(api).toMatchObject({ kind: "name", verdict: "allow", basis: "policy-file", rule: { index: 0, target: "api.example.com", line: 3 }, learned: [] });
  expect(evil).toMatchObject({ kind: "name", verdict: "deny", basis: "policy-file", rule: { index: 1, target: "evil.example.com", line: 4 } });
  expect(evil.notes.join(" ")).toMatch(/dns-only.*nothing filters packets.*addresses stay reachable/);
  expect(addr).toMatchObject({ kind: "address", address: "198.51.100.66", verdict: "allow", basis: "not-filtered", sets: [], notes: [] });
  expect(addr.reason).toContain("serve runs dns-only: nothing filters packets");
  // what the file would say, kept beside the verdict
  expect(addr.policy).toMatchObject({ action: "deny", rule: null });
}

/** the application's view that the explanations above describe */
async function expectDnsOnlyTraffic(): Promise<void> {
  expect((await dig(lab, "api.example.com")).addresses).toEqual(["198.51.100.10"]);
  expect((await dig(lab, "evil.example.com")).rcode).toBe("NXDOMAIN");
  expect(await curl(lab, "198.51.100.66")).toBe(0);
}

describe("dns-only through nftables (--mode dns-only)", () => {
  test("mode warned, redirect chain checked, no filter expected, DNS intercepted; names enforced, addresses not; exit 0", async () => {
    const s = await serve(lab, args(policy, LAB.dnsV4, ["--mode", "dns-only"]));
    const r = await doctor(s, ["--json", "--policy", policy, ...EXPLAIN]);
    expect(r.code).toBe(0);
    const j = r.json;
    expect(j).toMatchObject({ ok: true, exitCode: 0 });
    expect(j.mode).toMatchObject({ intended: "dns-only", measured: "dns-only", audit: false });
    expect(j.mode.reasons.join("\n")).toContain("mode dns-only was asked for");
    expect(j.kernel).toMatchObject({ read: true, present: true, natHooked: true, filterHooked: false, learnedElements: 0, digest: j.policy.digest });
    expect(j.dns).toMatchObject({ intercepted: true, rcode: "NXDOMAIN", target: "198.51.100.53:53" });
    expect(checks(j)).toMatchObject({
      "serve.reachable": ["ok"], "serve.ready": ["ok"], "mode.intended": ["warn"], "mode.measured": ["ok"],
      "kernel.serve": ["ok"], "kernel.table": ["ok"], "kernel.nat": ["ok"], "kernel.digest": ["ok"],
      "dns.intercepted": ["ok"], "policy.file": ["ok"],
    });
    // a dns-only table has no filter chain, and that is no failure
    expect(checks(j)["kernel.filter"]).toBeUndefined();
    expect(message(j, "mode.intended")).toMatch(/dns-only: names are enforced, addresses are NOT/);
    expectDnsOnlyExplanations(j);
    await expectDnsOnlyTraffic();

    // for people: the warning, the verdicts and the note, and still a pass
    const t = await doctor(s, ["--policy", policy, ...EXPLAIN]);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/^ {2}warn {2}intended mode dns-only: names are enforced, addresses are NOT/m);
    expect(t.stdout).toContain("evil.example.com: DENY (policy-file): rule egress[1] (deny evil.example.com, line 4)");
    expect(t.stdout).toMatch(/note: serve runs dns-only: the name gets NXDOMAIN, but nothing filters packets/);
    expect(t.stdout).toContain("198.51.100.66: ALLOW (not-filtered)");
    expect(t.stdout).toMatch(/--policy: no IP\/CIDR rule contains 198\.51\.100\.66/);
    expect(t.stdout).toMatch(/result: ok\n$/);
  });

  test("without --policy: a denied name from the violations, an allowed one unknown (dns-only learns nothing)", async () => {
    const s = await serve(lab, args(policy, LAB.dnsV4, ["--mode", "dns-only"]));
    await expectDnsOnlyTraffic();
    const r = await doctor(s, ["--json", ...EXPLAIN]);
    expect(r.code).toBe(0);
    const [api, evil, addr] = r.json.explanations;
    // serve answered api.example.com but learned nothing, so nothing says it was allowed
    expect(api).toMatchObject({ verdict: "unknown", basis: "none", learned: [], policy: null });
    expect(api.reason).toContain("dns-only learns no addresses");
    expect(evil).toMatchObject({ verdict: "deny", basis: "violation" });
    expect(evil.reason).toContain("rule egress[1] deny evil.example.com");
    expect(addr).toMatchObject({ verdict: "allow", basis: "not-filtered", policy: null });
  });

  test("its table deleted behind serve's back: kernel and DNS checks FAIL, exit 1", async () => {
    const s = await serve(lab, args(policy, LAB.dnsV4, ["--mode", "dns-only"]));
    expect((await lab.exec("sandbox", ["nft", "delete", "table", "inet", "egressctl"])).code).toBe(0);
    // the application sees it first: a denied name resolves
    expect((await dig(lab, "evil.example.com")).addresses).toEqual(["198.51.100.66"]);
    const r = await doctor(s, ["--json"]);
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ ok: false, exitCode: 1 });
    expect(r.json.dns.intercepted).toBe(false);
    expect(checks(r.json)).toMatchObject({ "kernel.serve": ["fail"], "kernel.table": ["fail"], "dns.intercepted": ["fail"] });
    const t = await doctor(s, []);
    expect(t.code).toBe(1);
    expect(t.stdout).toMatch(/FAIL {2}table inet egressctl is MISSING/);
    expect(t.stdout).toMatch(/result: FAIL \(3 problems\)\n$/);
  });
});

describe("dns-only through the iptables fallback (no nftables)", () => {
  test("why nftables is not used, no table to compare, DNS intercepted; names enforced, addresses not; exit 0", async () => {
    const s = await serve(lab, args(policy), { env: NO_NFT });
    const r = await doctor(s, ["--json", "--policy", policy, ...EXPLAIN], { env: NO_NFT });
    expect(r.code).toBe(0);
    const j = r.json;
    expect(j).toMatchObject({ ok: true, exitCode: 0 });
    expect(j.mode).toMatchObject({ intended: "dns-only", measured: "dns-only" });
    expect(j.mode.reasons.join("\n")).toMatch(/nftables unusable/);
    expect(j.mode.reasons.join("\n")).toMatch(/redirected via iptables/);
    // serve uses no nftables table, so doctor reads none: nothing to compare, nothing failed
    expect(j.kernel).toBeNull();
    expect(j.dns).toMatchObject({ intercepted: true, rcode: "NXDOMAIN" });
    expect(checks(j)).toMatchObject({ "mode.intended": ["warn"], "mode.measured": ["ok"], "kernel.serve": ["info"], "kernel.iptables": ["ok"], "dns.intercepted": ["ok"] });
    for (const c of ["kernel.table", "kernel.nat", "kernel.filter", "kernel.digest", "kernel.read"]) expect(checks(j)[c]).toBeUndefined();
    expect(message(j, "kernel.serve")).toContain("iptables redirect");
    expect(message(j, "kernel.iptables")).toContain("hooked for IPv4 and IPv6");
    expectDnsOnlyExplanations(j);
    await expectDnsOnlyTraffic();
  });

  test("the iptables jumps removed behind serve's back: DNS NOT intercepted, exit 1", async () => {
    const s = await serve(lab, args(policy), { env: NO_NFT });
    expect((await lab.exec("sandbox", ["iptables", "-t", "nat", "-D", "OUTPUT", "-j", "EGRESSCTL-DNS"])).code).toBe(0);
    // the redirect alone gone: the DNS guard keeps the query from leaving unjudged
    expect(await dig(lab, "evil.example.com", { timeout: 1 })).toMatchObject({ rcode: "NOANSWER", addresses: [] });
    const unhooked = await doctor(s, ["--json"], { env: NO_NFT });
    expect(unhooked.code).toBe(1);
    expect(unhooked.json.findings.find((f: any) => f.check === "kernel.iptables")).toMatchObject({ status: "fail", message: "iptables chains NOT hooked: EGRESSCTL-DNS (IPv4)" });
    expect((await lab.exec("sandbox", ["iptables", "-D", "OUTPUT", "-j", "EGRESSCTL-DNS-GUARD"])).code).toBe(0);
    expect((await dig(lab, "evil.example.com")).addresses).toEqual(["198.51.100.66"]);
    const r = await doctor(s, ["--json"], { env: NO_NFT });
    expect(r.code).toBe(1);
    expect(r.json.dns.intercepted).toBe(false);
    expect(checks(r.json)["dns.intercepted"]).toEqual(["fail"]);
    // nothing else is wrong: the chains unhooked and the DNS that is not intercepted
    expect(r.json.findings.filter((f: any) => f.status === "fail").map((f: any) => f.check)).toEqual(["kernel.iptables", "dns.intercepted"]);
    expect(message(r.json, "kernel.iptables")).toBe("iptables chains NOT hooked: EGRESSCTL-DNS (IPv4), EGRESSCTL-DNS-GUARD (IPv4)");
    expect(message(r.json, "dns.intercepted")).toContain("DNS is NOT intercepted");
  });
});

describe("disabled", () => {
  /** what a disabled serve must make doctor say, however it came to be disabled */
  function expectDisabled(j: any): void {
    expect(j).toMatchObject({ ok: true, exitCode: 0 });
    expect(j.mode).toMatchObject({ intended: "disabled", measured: "disabled" });
    expect(j.kernel).toBeNull();
    expect(j.dns).toBeNull();
    expect(checks(j)).toMatchObject({
      "serve.reachable": ["ok"], "mode.intended": ["warn"], "mode.measured": ["ok"], "kernel.serve": ["info"], "dns.intercepted": ["info"],
    });
    expect(message(j, "mode.intended")).toContain("NOTHING is enforced");
    expect(message(j, "dns.intercepted")).toContain("not checked: enforcement is disabled");
    const [api, evil, addr] = j.explanations;
    // the policy is loaded but nothing applies it: a name it denies still resolves
    expect(api).toMatchObject({ verdict: "allow", basis: "not-intercepted", policy: { action: "allow" } });
    expect(evil).toMatchObject({ verdict: "allow", basis: "not-intercepted", rule: { index: 1, line: 4 }, policy: { action: "deny", rule: { index: 1 } } });
    expect(evil.reason).toMatch(/serve runs disabled: DNS is not intercepted.*the policy would deny it/);
    expect(addr).toMatchObject({ verdict: "allow", basis: "not-filtered" });
  }

  async function expectNothingEnforced(): Promise<void> {
    expect((await dig(lab, "evil.example.com")).addresses).toEqual(["198.51.100.66"]);
    expect(await curl(lab, "198.51.100.66")).toBe(0);
  }

  test("without CAP_NET_ADMIN: loud, the capability named, nothing checked in the kernel or DNS; a denied name is let through; exit 0", async () => {
    const s = await serve(lab, args(policy), { prefix: NO_NET_ADMIN });
    const r = await doctor(s, ["--json", "--policy", policy, ...EXPLAIN], { prefix: NO_NET_ADMIN });
    expect(r.code).toBe(0);
    expectDisabled(r.json);
    expect(r.json.mode.reasons.join("\n")).toMatch(/no CAP_NET_ADMIN/);
    await expectNothingEnforced();
    const t = await doctor(s, ["--policy", policy, "evil.example.com"], { prefix: NO_NET_ADMIN });
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/^ {2}warn {2}intended mode disabled: NOTHING is enforced/m);
    expect(t.stdout).toContain("evil.example.com: ALLOW (not-intercepted): serve runs disabled");
    expect(t.stdout).toMatch(/result: ok\n$/);
  });

  test("--mode disabled where nftables is available: the same, because it was asked for", async () => {
    const s = await serve(lab, args(policy, LAB.dnsV4, ["--mode", "disabled"]));
    const r = await doctor(s, ["--json", "--policy", policy, ...EXPLAIN]);
    expect(r.code).toBe(0);
    expectDisabled(r.json);
    expect(r.json.mode.reasons.join("\n")).toContain("mode disabled was asked for");
    // without the file, the verdict still follows the mode, not an unknown rule
    const bare = await doctor(s, ["--json", "evil.example.com"]);
    expect(bare.json.explanations[0]).toMatchObject({ verdict: "allow", basis: "not-intercepted", rule: null, policy: null });
    await expectNothingEnforced();
  });
});
