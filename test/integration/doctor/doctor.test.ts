// `egressctl doctor` next to a real serve in a lab: what it reports when all is well,
// what it explains about names and addresses, and that it notices a DNS redirect removed
// behind serve's back and a serve that is gone.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Lab } from "../../support/lab.ts";
import { startKnot } from "../../support/knot.ts";
import { BIN, serveArgs, startServe, type Served } from "../../support/serve.ts";
import { DOCTOR_POLICY } from "./policy.ts";

let lab: Lab;
let served: Served;
let policyFile: string;

beforeAll(async () => {
  lab = await Lab.create();
  await startKnot(lab);
  policyFile = lab.file("policy.yaml", DOCTOR_POLICY);
  served = await startServe(lab, serveArgs(policyFile), { env: { OPENSANDBOX_EGRESS_DOH_BLOCKLIST: "" } });
});
afterAll(async () => {
  await served?.stop();
  await lab.destroy();
});

async function doctor(...args: string[]): Promise<{ code: number; stdout: string; stderr: string; json: any }> {
  const r = await lab.exec("sandbox", [BIN, "doctor", "--socket", served.socket, ...args]);
  let json: any = null;
  if (args.includes("--json")) json = JSON.parse(r.stdout);
  return { ...r, json };
}

const finding = (j: any, check: string) => j.findings.find((f: any) => f.check === check);

test("all well: serve alive in dns+nftables, kernel matches, DNS intercepted, exit 0", async () => {
  const r = await doctor("--json");
  expect(r.code).toBe(0);
  const j = r.json;
  expect(j.ok).toBe(true);
  expect(j.serve).toMatchObject({ reachable: true, ready: true });
  expect(j.mode).toMatchObject({ intended: "dns+nftables", measured: "dns+nftables", audit: false });
  expect(j.kernel).toMatchObject({ read: true, present: true, filterHooked: true, natHooked: true, digest: j.policy.digest });
  for (const c of ["serve.reachable", "mode.measured", "kernel.serve", "kernel.table", "kernel.nat", "kernel.filter", "kernel.digest", "dns.intercepted"]) {
    expect(finding(j, c)?.status).toBe("ok");
  }
  expect(j.dns).toMatchObject({ intercepted: true, rcode: "NXDOMAIN", target: "198.51.100.53:53" });
  expect(j.dns.ede[0]).toStartWith("blocked by egressctl");
  expect(j.upstreams).toEqual([{ upstream: "198.51.100.53:53", up: true, failures: 0 }]);
  // the probe name is not a violation
  expect(j.violations.filter((v: any) => String(v.name).endsWith(".egressctl.invalid"))).toEqual([]);
  // the text form says the same for people
  const t = await doctor();
  expect(t.code).toBe(0);
  expect(t.stdout).toMatch(/^serve\n {2}ok {4}serve is reachable/m);
  expect(t.stdout).toMatch(/ok {4}DNS is intercepted/);
  expect(t.stdout).toMatch(/result: ok\n$/);
});

test("a resolved name shows as learned, with its addresses in the kernel; its address names it", async () => {
  const dig = await lab.exec("sandbox", ["kdig", "+timeout=3", "+retry=0", "api.example.com", "A"]);
  expect(dig.stdout).toContain("198.51.100.10");
  await lab.exec("sandbox", ["kdig", "+timeout=3", "+retry=0", "api.example.com", "AAAA"]);
  const r = await doctor("--json", "api.example.com", "198.51.100.10");
  expect(r.code).toBe(0);
  const [name, addr] = r.json.explanations;
  expect(name).toMatchObject({ kind: "name", name: "api.example.com", verdict: "allow", basis: "learned" });
  expect(name.learned.map((l: any) => l.address).sort()).toEqual(["198.51.100.10", "2001:db8:100::10"]);
  for (const l of name.learned) {
    expect(l.inKernel).toBe(true);
    expect(l.expiresInSec).toBeGreaterThan(200);
  }
  expect(addr).toMatchObject({ kind: "address", address: "198.51.100.10", verdict: "allow", basis: "learned" });
  expect(addr.learnedAs.map((l: any) => `${l.source} ${l.name}`).sort()).toEqual(["kernel api.example.com", "serve api.example.com"]);
  const t = await doctor("api.example.com");
  expect(t.stdout).toContain("api.example.com: ALLOW (learned)");
  expect(t.stdout).toMatch(/learned 198\.51\.100\.10 \(IPv4\), expires in \d+ s, in the kernel set/);
});

test("an address nothing learned is denied by default; one in a deny CIDR by the CIDR", async () => {
  const r = await doctor("--json", "198.51.100.11", "203.0.113.100");
  expect(r.code).toBe(0);
  const [plain, cidr] = r.json.explanations;
  expect(plain).toMatchObject({ address: "198.51.100.11", verdict: "deny", basis: "default", sets: [], learnedAs: [] });
  expect(plain.reason).toContain("denied by default (defaultAction deny)");
  expect(cidr).toMatchObject({ address: "203.0.113.100", verdict: "deny", basis: "deny-cidr", sets: ["deny4"] });
  const t = await doctor("198.51.100.11");
  expect(t.stdout).toContain("198.51.100.11: DENY (default)");
});

test("a denied name without --policy is explained from the recent violations", async () => {
  await lab.exec("sandbox", ["kdig", "+timeout=3", "+retry=0", "evil.example.com"]);
  const r = await doctor("--json", "evil.example.com", "unknown.example.com");
  const [evil, unknown] = r.json.explanations;
  expect(evil).toMatchObject({ verdict: "deny", basis: "violation" });
  expect(evil.reason).toContain("rule egress[1] deny evil.example.com");
  expect(unknown).toMatchObject({ verdict: "unknown", basis: "none", learned: [] });
  expect(r.json.violations[0]).toMatchObject({ event: "dns.denied", name: "evil.example.com" });
});

test("--policy FILE names the deciding rule and its line", async () => {
  const r = await doctor("--json", "--policy", policyFile, "api.example.com", "evil.example.com", "203.0.113.100", "other.example.com");
  expect(r.code).toBe(0);
  expect(finding(r.json, "policy.file")?.status).toBe("ok");
  const [api, evil, cidr, other] = r.json.explanations;
  expect(api).toMatchObject({ verdict: "allow", basis: "policy-file", rule: { index: 0, target: "api.example.com", action: "allow", line: 3 } });
  expect(api.learned.length).toBe(2);
  expect(evil).toMatchObject({ verdict: "deny", basis: "policy-file", rule: { index: 1, line: 4 } });
  expect(cidr).toMatchObject({ verdict: "deny", basis: "deny-cidr", policy: { action: "deny", rule: { index: 2, target: "203.0.113.96/28", line: 5 } } });
  expect(other).toMatchObject({ verdict: "deny", basis: "policy-file", rule: null });
  expect(other.reason).toContain("defaultAction (deny)");
  const t = await doctor("--policy", policyFile, "api.example.com");
  expect(t.stdout).toContain("api.example.com: ALLOW (policy-file): rule egress[0] (allow api.example.com, line 3)");
  // a policy file that is not the one serve runs is said
  const otherFile = lab.file("other.yaml", "defaultAction: allow\n");
  expect(finding((await doctor("--json", "--policy", otherFile)).json, "policy.file")?.status).toBe("warn");
});

test("usage: a missing --policy file is exit 2, an invalid one exit 3", async () => {
  expect((await doctor("--policy", "/nonexistent/policy.yaml")).code).toBe(2);
  // read as serve runs it: what OpenSandbox's sidecar refuses too (an action "maybe") is invalid;
  // an unknown defaultAction runs as deny, so doctor explains with it
  expect((await doctor("--policy", lab.file("bad.yaml", "egress: [{ action: maybe, target: x.example.com }]\n"))).code).toBe(3);
  const odd = await doctor("--json", "--policy", lab.file("odd.json", '{"defaultAction":"maybe","egress":[{"action":"Allow","target":"x.example.com:443"}]}'), "x.example.com");
  expect(odd.json.explanations[0]).toMatchObject({ kind: "name", policy: { action: "deny", rule: null } });
});

test("the DNS redirect flushed behind serve's back: DNS not intercepted, exit 1", async () => {
  const f = await lab.exec("sandbox", ["nft", "flush", "chain", "inet", "egressctl", "dns_redirect"]);
  expect(f.code).toBe(0);
  try {
    const r = await doctor("--json");
    expect(r.code).toBe(1);
    expect(r.json.ok).toBe(false);
    expect(r.json.dns.intercepted).toBe(false);
    expect(finding(r.json, "dns.intercepted")?.status).toBe("fail");
    const t = await doctor();
    expect(t.code).toBe(1);
    expect(t.stdout).toMatch(/FAIL {2}DNS is NOT intercepted/);
    expect(t.stdout).toMatch(/result: FAIL/);
  } finally {
    // SIGHUP re-installs the unchanged policy: the redirect is back
    served.proc.kill("SIGHUP");
    await served.waitEvent((e) => e.event === "policy.reinstalled");
  }
  expect((await doctor("--json")).code).toBe(0);
}, 30_000);

test("serve stopped: not reachable, exit 1; the ruleset left in force is said", async () => {
  await served.stop();
  const r = await doctor("--json");
  expect(r.code).toBe(1);
  expect(r.json.serve.reachable).toBe(false);
  expect(finding(r.json, "serve.reachable")?.status).toBe("fail");
  expect(finding(r.json, "kernel.table")?.message).toContain("stays in force");
  const t = await doctor("198.51.100.11");
  expect(t.code).toBe(1);
  expect(t.stdout).toMatch(/FAIL {2}serve is not reachable at /);
});
