// doctor's core, table-driven: findings from canned /status + kernel + DNS data, the
// verdict for names and addresses, static-set parsing; and the use case on fake effects.
import { describe, expect, test } from "bun:test";
import { buildReport, type DoctorReport, type Status } from "../../../src/core/doctor/report.ts";
import { reportText } from "../../../src/core/doctor/text.ts";
import { alwaysFromStatus } from "../../../src/core/doctor/always.ts";
import { readStaticSets, setsHolding } from "../../../src/core/doctor/kernel-sets.ts";
import { explainTarget, type TargetContext } from "../../../src/core/doctor/targets.ts";
import type { DoctorInput, DnsProbe, ServeStatus } from "../../../src/core/doctor/input.ts";
import { readKernelState } from "../../../src/core/status/kernel-state.ts";
import { parseAddress } from "../../../src/core/net/ip.ts";
import { resolveIntervals } from "../../../src/core/net/intervals.ts";
import { loadPolicyText } from "../../../src/core/policy/load.ts";
import { runDoctor, upstreamAddress, type DoctorEffects } from "../../../src/app/doctor/doctor.ts";

const D = "d".repeat(64);
const NOW = 1_700_000_000_000;

const listing = {
  nftables: [
    { metainfo: { version: "1.0.6" } },
    { table: { family: "inet", name: "egressctl" } },
    { set: { name: "deny4", elem: [{ range: ["10.0.0.1", "10.0.0.9"] }, { prefix: { addr: "203.0.113.96", len: 28 } }, "192.0.2.77"] } },
    { set: { name: "deny6", elem: [{ prefix: { addr: "2001:db8:dead::", len: 48 } }] } },
    { set: { name: "allow4", elem: [{ prefix: { addr: "198.51.100.128", len: 25 } }] } },
    { set: { name: "doh4", elem: ["203.0.113.143"] } },
    { set: { name: "learned4", elem: [{ elem: { val: "198.51.100.10", expires: 250, comment: "api.example.com" } }, { elem: { val: "203.0.113.99", expires: 100, comment: "rebind.example.com" } }] } },
    { set: { name: "learned6", elem: [{ elem: { val: "2001:db8:100::10", expires: 250, comment: "api.example.com" } }] } },
    { chain: { name: "output", hook: "output" } },
    { chain: { name: "dns_redirect", hook: "output" } },
    { chain: { name: "dns_guard", hook: "output" } },
  ],
};
const chainText = `chain output {\n comment "egressctl policy sha256:${D}"\n}`;

const status = (over: Partial<ServeStatus> = {}): ServeStatus => ({
  version: "0.1.0", uptimeSeconds: 5, mode: "dns+nftables", measuredLevel: "dns+nftables", selfTestFindings: [], audit: false,
  reasons: ["because"], policy: { source: "file", digest: D, defaultAction: "deny", rules: 2 },
  kernel: { present: true, matches: true, digest: D, filterHooked: true, natHooked: true, learnedElements: 3 },
  dns: { queries: 10, upstreams: [{ upstream: "198.51.100.53:53", up: true, failures: 0 }] },
  ...over,
});

const blocked: DnsProbe = { name: "doctor-x.egressctl.invalid", target: "198.51.100.53:53", result: { rcode: "NXDOMAIN", ede: [{ code: 15, text: "blocked by egressctl default deny" }] }, queriesBefore: 10, queriesAfter: 11 };

function input(over: Partial<DoctorInput> = {}, st: Partial<ServeStatus> = {}): DoctorInput {
  return {
    socket: "/run/egressctl/egressctl.sock",
    serve: { reachable: true, health: { status: 200, body: "ok dns+nftables\n" }, status: status(st), violations: [], learned: {} },
    kernel: { listing, chainText },
    dns: blocked,
    privileged: { examined: 2, found: [] },
    policy: null,
    targets: [],
    now: NOW,
    ...over,
  };
}

const raw = { pid: 4242, name: "python3", uid: 0, effective: ["NET_RAW" as const], bounding: [], netnsKnown: true };
const statusOf = (i: DoctorInput, check: string) => buildReport(i).findings.filter((f) => f.check === check).map((f) => f.status);

describe("findings", () => {
  const noNat = { nftables: listing.nftables.filter((x: any) => x.chain?.name !== "dns_redirect") };
  const noFilter = { nftables: listing.nftables.filter((x: any) => x.chain?.name !== "output") };
  const noGuard = { nftables: listing.nftables.filter((x: any) => x.chain?.name !== "dns_guard") };
  const cases: [string, DoctorInput, string, Status[], 0 | 1][] = [
    ["all well", input(), "dns.intercepted", ["ok"], 0],
    ["serve unreachable", input({ serve: { reachable: false, error: "no such socket" } }), "serve.reachable", ["fail"], 1],
    ["serve starting", input({ serve: { reachable: true, health: { status: 503, body: "starting" }, status: status(), violations: [], learned: {} } }), "serve.ready", ["warn"], 0],
    ["measured below intended", input({}, { measuredLevel: "dns-only", selfTestFindings: ["the filter chain is not hooked to output"] }), "mode.selftest", ["fail"], 1],
    ["measured equal, disabled intended", input({ dns: null, kernel: null }, { mode: "disabled", measuredLevel: "disabled", kernel: null, selfTestFindings: ["enforcement is disabled"] }), "mode.intended", ["warn"], 0],
    ["no self-test yet", input({}, { measuredLevel: null }), "mode.measured", ["warn"], 0],
    ["audit", input({}, { audit: true }), "mode.audit", ["warn"], 0],
    ["serve says kernel mismatch", input({}, { kernel: { present: true, matches: false, digest: null } }), "kernel.serve", ["fail"], 1],
    ["own read: table missing", input({ kernel: { listing: null, chainText: "" } }), "kernel.table", ["fail"], 1],
    ["own read: nat not hooked", input({ kernel: { listing: noNat, chainText } }), "kernel.nat", ["fail"], 1],
    ["own read: filter not hooked", input({ kernel: { listing: noFilter, chainText } }), "kernel.filter", ["fail"], 1],
    ["own read: DNS guard not hooked", input({ kernel: { listing: noGuard, chainText } }), "kernel.guard", ["fail"], 1],
    ["own read: DNS guard checked in dns-only too", input({ kernel: { listing: noGuard, chainText } }, { mode: "dns-only", measuredLevel: "dns-only" }), "kernel.guard", ["fail"], 1],
    ["dns-only is a warning: addresses are not enforced", input({}, { mode: "dns-only", measuredLevel: "dns-only" }), "mode.intended", ["warn"], 0],
    ["dns+nftables is only said", input(), "mode.intended", ["info"], 0],
    ["deny webhook delivering", input({}, { webhook: { url: "http://198.51.100.80:8000/", delivered: 3, failed: 0, dropped: 0, queued: 0 } }), "serve.webhook", ["ok"], 0],
    ["deny webhook losing notifications: warn, not fail", input({}, { webhook: { url: "http://198.51.100.80:8000/", delivered: 3, failed: 2 } }), "serve.webhook", ["warn"], 0],
    ["no deny webhook: no line", input({}, { webhook: null }), "serve.webhook", [], 0],
    ["exempt nameservers: said as a warning", input({}, { nameserverExempt: ["198.51.100.54/32"] }), "dns.exempt", ["warn"], 0],
    ["no exempt nameservers: no line", input(), "dns.exempt", [], 0],
    ["own read: filter not needed in dns-only", input({ kernel: { listing: noFilter, chainText } }, { mode: "dns-only", measuredLevel: "dns-only" }), "kernel.filter", [], 0],
    ["own read: other digest", input({ kernel: { listing, chainText: chainText.replace(D, "e".repeat(64)) } }), "kernel.digest", ["fail"], 1],
    ["own read impossible", input({ kernel: { error: "nftables unavailable" } }), "kernel.read", ["warn"], 0],
    ["iptables redirect: nothing to compare", input({ kernel: null }, { mode: "dns-only", measuredLevel: "dns-only", kernel: null }), "kernel.serve", ["info"], 0],
    ["DNS: no answer", input({ dns: { ...blocked, result: { error: "no answer within 3000 ms" } } }), "dns.intercepted", ["fail"], 1],
    ["DNS: answered by someone else", input({ dns: { ...blocked, result: { rcode: "NXDOMAIN", ede: [] } } }), "dns.intercepted", ["fail"], 1],
    ["DNS: allowed probe name, counter rose", input({ dns: { ...blocked, result: { rcode: "NXDOMAIN", ede: [] } } }, { policy: { digest: D, defaultAction: "allow" } }), "dns.intercepted", ["warn"], 0],
    ["DNS: allowed probe name, counter still", input({ dns: { ...blocked, queriesAfter: 10, result: { rcode: "NXDOMAIN", ede: [] } } }, { policy: { digest: D, defaultAction: "allow" } }), "dns.intercepted", ["fail"], 1],
    ["upstream down is a warning", input({}, { dns: { queries: 1, upstreams: [{ upstream: "[2001:db8::53]:53", up: false, failures: 3 }] } }), "upstreams.health", ["warn"], 0],
    ["reloads rejected", input({}, { reloads: { ok: 1, failed: 2, lastError: "bad" } }), "serve.reloads", ["warn"], 0],
    ["unreachable, ruleset left in force", input({ serve: { reachable: false, error: "x" }, dns: null }), "kernel.table", ["info"], 1],
    ["a process with NET_RAW beside serve: FAIL", input({ privileged: { examined: 3, found: [raw] } }), "exposure.capabilities", ["fail"], 1],
    ["none found among others: ok", input(), "exposure.capabilities", ["ok"], 0],
    ["no other process visible: said, nothing failed", input({ privileged: { examined: 0, found: [] } }), "exposure.capabilities", ["info"], 0],
    ["/proc unreadable: a warning", input({ privileged: { error: "EACCES" } }), "exposure.capabilities", ["warn"], 0],
    ["a process found also when serve is unreachable", input({ serve: { reachable: false, error: "x" }, dns: null, privileged: { examined: 1, found: [raw] } }), "exposure.capabilities", ["fail"], 1],
    ["inbound any: a warning", input({}, { inbound: { from: "any", enforced: true } }), "exposure.inbound", ["warn"], 0],
    ["inbound none: ok", input({}, { inbound: { from: "none", enforced: true } }), "exposure.inbound", ["ok"], 0],
    ["inbound CIDRs in dns-only: said, not enforced", input({}, { mode: "dns-only", measuredLevel: "dns-only", inbound: { from: ["198.51.100.0/24"], enforced: false } }), "exposure.inbound", ["info"], 0],
    ["upstreams from resolv.conf: a warning", input({}, { upstreams: { origin: "resolv.conf", pinned: true } }), "upstreams.origin", ["warn"], 0],
    ["configured upstreams: ok", input({}, { upstreams: { origin: "configured", pinned: false } }), "upstreams.origin", ["ok"], 0],
    ["a local upstream let through: a warning", input({}, { upstreams: { origin: "configured", pinned: false, local: ["127.0.0.1:5353"] } }), "upstreams.local", ["warn"], 0],
  ];
  for (const [what, i, check, want, exit] of cases) {
    test(what, () => {
      expect(statusOf(i, check)).toEqual(want);
      expect(buildReport(i).exitCode).toBe(exit);
    });
  }

  test("--policy file: the same digest is ok, another is a warning", () => {
    const { policy } = loadPolicyText("defaultAction: deny\n");
    expect(statusOf(input({ policy: { file: "p.yaml", policy: policy!, digest: D } }), "policy.file")).toEqual(["ok"]);
    expect(statusOf(input({ policy: { file: "p.yaml", policy: policy!, digest: "f".repeat(64) } }), "policy.file")).toEqual(["warn"]);
  });

  test("text: one line per finding, marked, and the verdict", () => {
    const t = reportText(buildReport(input({ dns: { ...blocked, result: { error: "timeout" } } })));
    expect(t).toMatch(/^serve\n {2}ok {4}serve is reachable at \/run\/egressctl\/egressctl.sock/);
    expect(t).toMatch(/^dns\n {2}FAIL {2}DNS is NOT intercepted/m);
    expect(t).toEndWith("result: FAIL (1 problem)\n");
  });
});

describe("static sets", () => {
  const sets = readStaticSets(listing);
  const cases: [string, string[]][] = [
    ["10.0.0.1", ["deny4"]], ["10.0.0.9", ["deny4"]], ["10.0.0.10", []],
    ["203.0.113.111", ["deny4"]], ["203.0.113.112", []], ["192.0.2.77", ["deny4"]],
    ["198.51.100.200", ["allow4"]], ["203.0.113.143", ["doh4"]],
    ["2001:db8:dead:1::1", ["deny6"]], ["2001:db8:beef::1", []],
  ];
  for (const [a, want] of cases) test(a, () => expect(setsHolding(sets, parseAddress(a)!)).toEqual(want as any));
});

describe("explain a target", () => {
  const { policy } = loadPolicyText(`defaultAction: deny
egress:
  - { action: allow, target: api.example.com }
  - { action: deny, target: "*.evil.example.com" }
  - { action: allow, target: 198.51.100.128/25 }
`);
  const ctx = (over: Partial<TargetContext> = {}): TargetContext => ({
    policy: null,
    learned: { "api.example.com": [{ family: 4, address: "198.51.100.10", expiresAt: NOW + 250_000 }, { family: 6, address: "2001:db8:100:0::10", expiresAt: NOW + 250_000 }] },
    violations: [{ event: "dns.denied", at: "t", name: "x.evil.example.com", rule: "rule egress[1] deny *.evil.example.com" }],
    kernel: { state: readKernelState(listing, chainText), sets: readStaticSets(listing) },
    mode: "dns+nftables",
    audit: false,
    defaultAction: "deny",
    always: null,
    guard: { privateAnswers: "guard", local: { 4: new Map([[parseAddress("192.0.2.1")!.value, "gateway via eth0"]]), 6: new Map() } },
    now: NOW,
    ...over,
  });
  const lists = (deny: string[], allow: string[]) => ({ always: alwaysFromStatus({ dir: "/r", deny: { present: true, targets: deny }, allow: { present: true, targets: allow } }) });
  const cases: [string, string, Partial<TargetContext>, Record<string, unknown>][] = [
    ["learned name", "API.example.com.", {}, { verdict: "allow", basis: "learned", name: "api.example.com" }],
    ["name denied lately", "x.evil.example.com", {}, { verdict: "deny", basis: "violation" }],
    ["name unknown without policy", "new.example.com", {}, { verdict: "unknown", basis: "none" }],
    ["deny.always beats the policy file's allow", "api.example.com", { policy, ...lists(["*.example.com"], ["api.example.com"]) }, { verdict: "deny", basis: "deny.always" }],
    ["allow.always beats the policy file's deny", "x.evil.example.com", { policy, ...lists([], ["x.evil.example.com"]) }, { verdict: "allow", basis: "allow.always" }],
    ["neither list matches: the policy file decides", "api.example.com", { policy, ...lists(["other.example.com"], []) }, { verdict: "allow", basis: "policy-file" }],
    ["name with policy", "y.evil.example.com", { policy }, { verdict: "deny", basis: "policy-file", rule: { index: 1, target: "*.evil.example.com", action: "deny", line: 4 } }],
    ["invalid name", "bad name", {}, { verdict: "deny", basis: "invalid-name" }],
    ["learned address", "198.51.100.10", {}, { verdict: "allow", basis: "learned" }],
    ["learned but in a deny CIDR", "203.0.113.99", {}, { verdict: "deny", basis: "deny-cidr" }],
    ["static allow", "198.51.100.200", {}, { verdict: "allow", basis: "allow-cidr" }],
    ["default deny", "198.51.100.11", {}, { verdict: "deny", basis: "default" }],
    ["default allow", "198.51.100.11", { defaultAction: "allow" }, { verdict: "allow", basis: "default" }],
    ["loopback", "127.0.0.1", {}, { verdict: "allow", basis: "loopback" }],
    ["dns-only filters nothing", "198.51.100.11", { mode: "dns-only" }, { verdict: "allow", basis: "not-filtered" }],
    ["dns-only: a name the policy denies is denied", "y.evil.example.com", { mode: "dns-only", policy }, { verdict: "deny", basis: "policy-file", policy: { action: "deny" } }],
    ["dns-only: no learning, so an unlearned name says so", "new.example.com", { mode: "dns-only", learned: {} }, { verdict: "unknown", basis: "none", reason: expect.stringContaining("dns-only learns no addresses") }],
    ["disabled: a name the policy denies resolves", "y.evil.example.com", { mode: "disabled", policy }, { verdict: "allow", basis: "not-intercepted", rule: { index: 1 }, policy: { action: "deny" }, notes: [] }],
    ["disabled: a name denied lately is let through now", "x.evil.example.com", { mode: "disabled" }, { verdict: "allow", basis: "not-intercepted", policy: null }],
    ["disabled: an invalid name is still no name", "bad name", { mode: "disabled" }, { verdict: "deny", basis: "invalid-name" }],
    ["no kernel, policy decides", "198.51.100.200", { kernel: null, policy }, { verdict: "allow", basis: "policy-file" }],
    ["no kernel, no policy", "198.51.100.200", { kernel: null }, { verdict: "unknown", basis: "none" }],
    ["IPv6 spelled long", "2001:db8:100:0:0:0:0:10", {}, { address: "2001:db8:100::10", verdict: "allow", basis: "learned" }],
  ];
  for (const [what, q, over, want] of cases) test(what, () => expect(explainTarget(q, ctx(over))).toMatchObject(want));

  test("an address an allow CIDR and a later deny CIDR both contain: the deny rule decides, and is named", () => {
    // the static sets the planner makes of this policy: .20 in deny4, the rest of the /24 in allow4
    const p = loadPolicyText("egress:\n  - { action: allow, target: 198.51.100.0/24 }\n  - { action: deny, target: 198.51.100.20 }\n").policy!;
    const iv = resolveIntervals(p.rules);
    const sets = { allow4: iv[4].allow, deny4: iv[4].deny };
    const k = { state: readKernelState(listing, chainText), sets };
    const e = explainTarget("198.51.100.20", ctx({ policy: p, kernel: k, learned: {} }));
    expect(e).toMatchObject({ verdict: "deny", basis: "deny-cidr", policy: { action: "deny", rule: { index: 1, target: "198.51.100.20" } } });
    expect(e.reason).toContain("(--policy: egress[1] deny 198.51.100.20, line 3)");
    expect(explainTarget("198.51.100.20", ctx({ policy: p, kernel: null, learned: {} }))).toMatchObject({ verdict: "deny", basis: "policy-file" });
    expect(explainTarget("198.51.100.21", ctx({ policy: p, kernel: k, learned: {} }))).toMatchObject({ verdict: "allow", basis: "allow-cidr", policy: { rule: { index: 0 } } });
  });

  test("an address no answer opens: guarded, with the reason, and the default-deny reason says so", () => {
    for (const [a, why] of [["10.5.0.1", "private (RFC 1918)"], ["169.254.169.254", "link-local"], ["192.0.2.1", "this namespace's own gateway via eth0"], ["::ffff:10.5.0.1", "IPv4-mapped form of 10.5.0.1"]] as const) {
      const e = explainTarget(a, ctx());
      expect(e.kind === "address" && e.guarded).toContain(why);
      expect(e.notes.join(" ")).toContain("guarded: non-public answer");
      expect(e.reason).toContain("no answer opens it (guarded: non-public answer)");
    }
    // public, or EGRESSCTL_PRIVATE_ANSWERS=learn, or a serve that learns nothing: not guarded
    expect(explainTarget("198.51.100.11", ctx()).kind === "address" && (explainTarget("198.51.100.11", ctx()) as { guarded: unknown }).guarded).toBeNull();
    for (const over of [{ guard: { privateAnswers: "learn" as const, local: { 4: new Map(), 6: new Map() } } }, { mode: "dns-only" }, { guard: null }]) {
      expect((explainTarget("10.0.0.1", ctx(over)) as { guarded: unknown }).guarded).toBeNull();
    }
  });

  test("a name whose answer was guarded, or denied through its chain: the notes say so", () => {
    const violations = [
      { event: "dns.guarded", at: "t1", name: "meta.example.com", addresses: [{ address: "169.254.169.254", reason: "link-local (RFC 3927)" }], client: "c" },
      { event: "dns.denied", at: "t2", name: "cn.example.com", rule: "rule egress[1] deny denied.example.com", link: "denied.example.com", client: "c" },
    ];
    const g = explainTarget("meta.example.com", ctx({ violations }));
    expect(g.notes.join(" ")).toContain("guarded: non-public answer: 169.254.169.254 (link-local (RFC 3927)) answered for it at t1 was passed on but not learned");
    const d = explainTarget("cn.example.com", ctx({ violations }));
    expect(d).toMatchObject({ verdict: "deny", basis: "violation" });
    expect(d.notes.join(" ")).toContain("denied.example.com in its CNAME/DNAME chain is denied (rule egress[1] deny denied.example.com)");
  });

  test("a learned name's addresses: expiry and whether the kernel holds them", () => {
    const e = explainTarget("api.example.com", ctx());
    expect(e.kind === "name" && e.learned).toEqual([
      { family: 4, address: "198.51.100.10", expiresAt: NOW + 250_000, expiresInSec: 250, inKernel: true },
      { family: 6, address: "2001:db8:100:0::10", expiresAt: NOW + 250_000, expiresInSec: 250, inKernel: true },
    ]);
  });

  test("dns-only: every name is told that its addresses are not blocked", () => {
    for (const q of ["api.example.com", "y.evil.example.com", "new.example.com"]) {
      const e = explainTarget(q, ctx({ mode: "dns-only", policy }));
      expect(e.kind === "name" && e.notes.join(" ")).toMatch(/^serve runs dns-only: .*nothing filters packets/);
    }
    const full = explainTarget("y.evil.example.com", ctx({ policy }));
    expect(full.kind === "name" && full.notes).toEqual([]);
  });

  test("text: a name's notes are printed", () => {
    const r = buildReport(input({ targets: ["y.evil.example.com"] }, { mode: "dns-only", measuredLevel: "dns-only" }));
    expect(reportText(r)).toMatch(/y\.evil\.example\.com: UNKNOWN \(none\).*\n.*\n {8}note: serve runs dns-only: the name gets NXDOMAIN/);
  });

  test("audit mode says a denial passes", () => {
    const e = explainTarget("198.51.100.11", ctx({ audit: true }));
    expect(e.kind === "address" && e.notes).toContain("audit mode: this is logged as a denial but let through");
  });

  test("audit mode says a denied name resolves; an allowed one gets no such note", () => {
    const denied = explainTarget("x.evil.example.com", ctx({ audit: true }));
    expect(denied.verdict).toBe("deny");
    expect(denied.notes.join(" ")).toContain("audit mode: the name is logged as a denial");
    expect(explainTarget("api.example.com", ctx({ audit: true })).notes.join(" ")).not.toContain("audit");
    // dns-only and audit: no note that it gets NXDOMAIN, since in audit it resolves
    const both = explainTarget("x.evil.example.com", ctx({ audit: true, mode: "dns-only" })).notes.join(" ");
    expect(both).toContain("audit mode");
    expect(both).not.toContain("NXDOMAIN");
  });
});

describe("the use case on fake effects", () => {
  const fx = (over: Partial<DoctorEffects> = {}, seen: string[] = []): DoctorEffects => ({
    async get(path) {
      seen.push(path);
      if (path === "/healthz") return { status: 200, body: "ok dns+nftables\n" };
      if (path === "/status") return { status: 200, body: JSON.stringify(status()) };
      if (path.startsWith("/violations")) return { status: 200, body: "[]" };
      return { status: 200, body: "{}" };
    },
    readKernel: () => ({ listing, chainText }),
    readIptables: () => ({ hooks: [] }),
    queryDns: async () => ({ rcode: "NXDOMAIN", ede: [{ code: 15, text: "blocked by egressctl default deny" }] }),
    nonce: () => "n",
    now: () => NOW,
    scanPrivileged: () => ({ examined: 1, found: [] }),
    ...over,
  });

  test("all well: exit 0, the probe went to the first upstream's port 53", async () => {
    const sent: string[] = [];
    const seen: string[] = [];
    const r = await runDoctor({ socket: "s", targets: [], policy: null }, fx({ queryDns: async (a, f, n) => (sent.push(`${a} ${f} ${n}`), { rcode: "NXDOMAIN", ede: [{ code: 15, text: "blocked by egressctl x" }] }) }, seen));
    expect(r.exitCode).toBe(0);
    expect(sent).toEqual(["198.51.100.53 4 doctor-n.egressctl.invalid"]);
    expect(seen).toEqual(["/healthz", "/status", "/violations?limit=10", "/learned", "/status"]);
  });

  test("the /proc scan trusts serve: doctor hands it serve's pid from /status (null when serve is unreachable)", async () => {
    const pids: (number | null)[] = [];
    const withPid = fx({
      async get(path) {
        if (path === "/status") return { status: 200, body: JSON.stringify(status({ pid: 77 })) };
        return path === "/healthz" ? { status: 200, body: "ok\n" } : { status: 200, body: path.startsWith("/violations") ? "[]" : "{}" };
      },
      scanPrivileged: (pid) => (pids.push(pid), { examined: 1, found: [] }),
    });
    await runDoctor({ socket: "s", targets: [], policy: null }, withPid);
    await runDoctor({ socket: "s", targets: [], policy: null }, fx({ get: async () => Promise.reject(new Error("no such socket")), scanPrivileged: (pid) => (pids.push(pid), { examined: 0, found: [] }) }));
    expect(pids).toEqual([77, null]);
  });

  test("an exempt first upstream is skipped: the probe goes where the redirect applies", async () => {
    const sent: string[] = [];
    const two = status({ dns: { queries: 1, upstreams: [{ upstream: "198.51.100.54:53", up: true }, { upstream: "198.51.100.53:53", up: true }] }, nameserverExempt: ["198.51.100.54/32"] });
    const all = status({ dns: { queries: 1, upstreams: [{ upstream: "198.51.100.54:53", up: true }] }, nameserverExempt: ["198.51.100.54/32"] });
    for (const st of [two, all]) {
      await runDoctor({ socket: "s", targets: [], policy: null }, fx({
        get: async (path) => ({ status: 200, body: path === "/status" ? JSON.stringify(st) : path === "/healthz" ? "ok dns+nftables\n" : path === "/learned" ? "{}" : "[]" }),
        queryDns: async (a) => (sent.push(a), { rcode: "NXDOMAIN", ede: [{ code: 15, text: "blocked by egressctl x" }] }),
      }));
    }
    expect(sent).toEqual(["198.51.100.53", "192.0.2.53"]);
  });

  test("a socket that cannot be reached: exit 1, the kernel is still read", async () => {
    let read = 0;
    const r = await runDoctor({ socket: "s", targets: [], policy: null }, fx({ get: async () => { throw new Error("no such socket"); }, readKernel: () => (read++, { listing, chainText }) }));
    expect(r.exitCode).toBe(1);
    expect(r.serve).toMatchObject({ reachable: false, error: "no such socket" });
    expect(read).toBe(1);
    expect(r.dns).toBeNull();
  });

  test("a kernel read that throws is a warning, not a crash", async () => {
    const r = await runDoctor({ socket: "s", targets: [], policy: null }, fx({ readKernel: () => { throw new Error("EPERM"); } }));
    expect(r.kernel).toMatchObject({ read: false, error: "EPERM" });
    expect(r.findings.find((f) => f.check === "kernel.read")?.status).toBe("warn");
  });

  describe("the iptables fallback (no nftables table, not disabled): its chains are checked", () => {
    const fallback = (readIptables: DoctorEffects["readIptables"], mode: ServeStatus["mode"] = "dns-only", redirect: ServeStatus["redirect"] = "iptables") =>
      fx({
        readIptables,
        async get(path) {
          if (path === "/status") return { status: 200, body: JSON.stringify(status({ mode, redirect, measuredLevel: mode, kernel: null })) };
          return path === "/healthz" ? { status: 200, body: `ok ${mode}\n` } : { status: 200, body: path.startsWith("/violations") ? "[]" : "{}" };
        },
      });
    const hooks = (unhooked: string[] = []) => ({
      hooks: ([4, 6] as const).flatMap((family) =>
        ["EGRESSCTL-DNS", "EGRESSCTL-NOTRACK-OUT", "EGRESSCTL-NOTRACK-IN", "EGRESSCTL-DNS-GUARD"].map((chain) => ({ family, chain, hooked: !unhooked.includes(`${chain}/${family}`) })),
      ),
    });
    const finding = (r: DoctorReport) => r.findings.find((f) => f.check === "kernel.iptables");

    test("all hooked: ok, for both families", async () => {
      const r = await runDoctor({ socket: "s", targets: [], policy: null }, fallback(() => hooks()));
      expect(finding(r)).toMatchObject({ status: "ok", message: expect.stringContaining("IPv4 and IPv6") });
    });

    test("the guard or the redirect unhooked: FAIL, naming it; an untracking chain: a warning", async () => {
      const guard = await runDoctor({ socket: "s", targets: [], policy: null }, fallback(() => hooks(["EGRESSCTL-DNS-GUARD/6"])));
      expect(finding(guard)).toMatchObject({ status: "fail", message: "iptables chains NOT hooked: EGRESSCTL-DNS-GUARD (IPv6)" });
      expect(guard.exitCode).toBe(1);
      const notrack = await runDoctor({ socket: "s", targets: [], policy: null }, fallback(() => hooks(["EGRESSCTL-NOTRACK-IN/4"])));
      expect(finding(notrack)).toMatchObject({ status: "warn", message: "iptables chains NOT hooked: EGRESSCTL-NOTRACK-IN (IPv4)" });
    });

    test("iptables that cannot be run: a warning; not read unless /status says the redirect is iptables", async () => {
      const r = await runDoctor({ socket: "s", targets: [], policy: null }, fallback(() => ({ error: "no such file" })));
      expect(finding(r)).toMatchObject({ status: "warn", message: "cannot read the iptables chains: no such file" });
      let read = 0;
      const off = await runDoctor({ socket: "s", targets: [], policy: null }, fallback(() => (read++, hooks()), "disabled", null));
      // nftables whose kernel state serve could not read: no iptables chains to look for
      const nft = await runDoctor({ socket: "s", targets: [], policy: null }, fallback(() => (read++, hooks()), "dns-only", "nftables"));
      expect(read).toBe(0);
      expect(finding(off)).toBeUndefined();
      expect(finding(nft)).toBeUndefined();
    });
  });

  test("upstream labels", () => {
    expect(upstreamAddress("198.51.100.53:53")).toEqual({ address: "198.51.100.53", family: 4 });
    expect(upstreamAddress("[2001:db8::53]:5353")).toEqual({ address: "2001:db8::53", family: 6 });
    expect(upstreamAddress("nonsense")).toBeNull();
  });
});
