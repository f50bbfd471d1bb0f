// The degradation matrix of `egressctl serve` (docs/probe.md "How the mode is chosen", docs/serve.md "Environment"):
// each mode reached for the right reason, seen from the application's side (kdig, curl,
// getent) and in the kernel (nft -j, iptables -S) of the lab's sandbox namespace.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LAB, Lab } from "../../support/lab.ts";
import type { Served } from "../../support/serve.ts";
import { args, BIN, chains, curl, DNS_ONLY_CHAINS, FULL_CHAINS, dig, getent, jsonLines, policyText, serve, serveExit, status, table, useLab, writePolicy } from "./helpers-serve.ts";

let lab: Lab;
let s: Served | undefined;
/** the usual policy: two names allowed, everything else denied */
let policy: string;

useLab((l) => {
  lab = l;
  policy = writePolicy(lab, policyText(["api.example.com", "other.example.com"]));
});

const NO_NET_ADMIN = ["setpriv", "--inh-caps=-net_admin", "--ambient-caps=-net_admin", "--bounding-set=-net_admin"];

async function iptablesNat(): Promise<string> {
  const r = await lab.exec("sandbox", ["iptables", "-t", "nat", "-S"]);
  return r.stdout;
}

describe("serve picks the strongest mode available, for the right reason", () => {
  test("auto in a fresh lab: dns+nftables, measured as such, filter and redirect hooked", async () => {
    s = await serve(lab, args(policy));
    const st = await status(s);
    expect(st.mode).toBe("dns+nftables");
    expect(st.measuredLevel).toBe("dns+nftables");
    expect(st.warning).toBeUndefined();
    expect(st.kernel).toMatchObject({ present: true, matches: true, filterHooked: true, natHooked: true });
    const ev = s.events.find((e) => e.event === "mode");
    expect(ev).toMatchObject({ mode: "dns+nftables", redirect: "nftables", level: "info" });
    expect(await chains(lab)).toEqual(FULL_CHAINS);
    // the application's view: allowed resolves and connects, denied is NXDOMAIN, an
    // address nobody resolved is refused at once
    expect((await dig(lab, "api.example.com")).addresses).toEqual(["198.51.100.10"]);
    expect(await curl(lab, "api.example.com")).toBe(0);
    expect((await dig(lab, "evil.example.com")).rcode).toBe("NXDOMAIN");
    expect(await curl(lab, "198.51.100.66")).toBe(7);
  });

  test("without CAP_NET_ADMIN: disabled, loudly; DNS goes straight upstream; nothing in the kernel", async () => {
    // what the kernel will check is the effective set after exec: ask probe under the same prefix
    const p = await lab.exec("sandbox", [...NO_NET_ADMIN, BIN, "probe", "--json"], { env: { EGRESSCTL_ASSUME_SANDBOX: "1" } });
    expect(p.code).toBe(0);
    const probe = JSON.parse(p.stdout);
    expect(probe.capabilities.netAdmin).toBe(false);
    expect(probe.mode).toBe("disabled");

    s = await serve(lab, args(policy), { prefix: NO_NET_ADMIN });
    const ev = s.events.find((e) => e.event === "mode");
    expect(ev).toMatchObject({ mode: "disabled", level: "error" });
    expect(JSON.stringify(ev!.reasons)).toMatch(/CAP_NET_ADMIN/i);
    const st = await status(s);
    expect(st.mode).toBe("disabled");
    expect(st.measuredLevel).toBe("disabled");
    expect(st.warning).toMatch(/DISABLED/);
    expect(st.kernel).toBeNull();
    // not intercepted: a name the policy denies gets Knot's real answer
    const d = await dig(lab, "evil.example.com");
    expect(d.rcode).toBe("NOERROR");
    expect(d.addresses).toEqual(["198.51.100.66"]);
    expect(await curl(lab, "198.51.100.66")).toBe(0);
    expect(await table(lab)).toBeNull();
    expect(await iptablesNat()).not.toContain("EGRESSCTL");
    expect(await s.stop()).toBe(0);
  });

  test("without CAP_NET_ADMIN and CAP_NET_RAW (cap-drop ALL, say): still runs disabled, it does not fail", async () => {
    // SO_MARK needs one of the two; disabled mode has nothing to exempt and must not try
    const none = ["setpriv", "--inh-caps=-net_admin,-net_raw", "--bounding-set=-net_admin,-net_raw"];
    s = await serve(lab, args(policy), { prefix: none });
    expect(s.events.find((e) => e.event === "mode")).toMatchObject({ mode: "disabled", level: "error" });
    expect((await status(s)).measuredLevel).toBe("disabled");
    expect(await s.stop()).toBe(0);
  });

  test("EGRESSCTL_NFT_BACKEND=none: dns-only through the iptables redirect, removed on exit with --cleanup-on-exit", async () => {
    s = await serve(lab, args(policy, LAB.dnsV4, ["--cleanup-on-exit"]), { env: { EGRESSCTL_NFT_BACKEND: "none" } });
    const ev = s.events.find((e) => e.event === "mode");
    expect(ev).toMatchObject({ mode: "dns-only", redirect: "iptables" });
    const st = await status(s);
    expect(st.mode).toBe("dns-only");
    expect(st.measuredLevel).toBe("dns-only");
    const nat = await iptablesNat();
    expect(nat).toContain("-N EGRESSCTL-DNS");
    expect(nat).toContain("-A OUTPUT -j EGRESSCTL-DNS");
    expect(nat).toMatch(/-A EGRESSCTL-DNS -p udp -m udp --dport 53 -j REDIRECT --to-ports 15353/);
    // a normal resolver query to the upstream's address is redirected to the proxy
    expect((await dig(lab, "evil.example.com")).rcode).toBe("NXDOMAIN");
    expect((await dig(lab, "evil.example.com", { tcp: true })).rcode).toBe("NXDOMAIN");
    expect((await dig(lab, "evil.example.com", { server: LAB.dnsV6 })).rcode).toBe("NXDOMAIN"); // ip6tables too
    expect((await lab.exec("sandbox", ["ip6tables", "-t", "nat", "-S"])).stdout).toContain("-A OUTPUT -j EGRESSCTL-DNS");
    expect(await getent(lab, "api.example.com")).toEqual(["198.51.100.10"]);
    expect(await curl(lab, "api.example.com")).toBe(0);
    // the documented dns-only limitation: no Layer 2, a direct connection is not blocked
    expect(await curl(lab, "198.51.100.66")).toBe(0);
    expect(await table(lab)).toBeNull();
    expect(await s.stop("SIGTERM")).toBe(0);
    expect(await iptablesNat()).not.toContain("EGRESSCTL");
    expect((await lab.exec("sandbox", ["ip6tables", "-t", "nat", "-S"])).stdout).not.toContain("EGRESSCTL");
    expect((await lab.exec("sandbox", ["iptables", "-S"])).stdout).not.toContain("EGRESSCTL"); // the guard too
    // and DNS is no longer intercepted
    expect((await dig(lab, "evil.example.com")).addresses).toEqual(["198.51.100.66"]);
  });

  test("the iptables fallback with --dns-port 53: redirected DNS keeps port 53 and still passes the guard (loopback by its destination), both families", async () => {
    s = await serve(lab, args(policy, LAB.dnsV4, ["--dns-port", "53"]), { env: { EGRESSCTL_NFT_BACKEND: "none" } });
    expect((await lab.exec("sandbox", ["iptables", "-S", "EGRESSCTL-DNS-GUARD"])).stdout).toContain("-A EGRESSCTL-DNS-GUARD -d 127.0.0.0/8 -j RETURN");
    expect((await dig(lab, "evil.example.com")).rcode).toBe("NXDOMAIN");
    expect((await dig(lab, "evil.example.com", { tcp: true })).rcode).toBe("NXDOMAIN");
    expect((await dig(lab, "evil.example.com", { server: LAB.dnsV6 })).rcode).toBe("NXDOMAIN");
    expect((await dig(lab, "api.example.com")).addresses).toEqual(["198.51.100.10"]);
    expect(await s.stop("SIGTERM")).toBe(0);
  });

  test("--mode dns-only with nftables available: the nat redirect and the DNS guard, no Layer 2 filter", async () => {
    s = await serve(lab, args(policy, LAB.dnsV4, ["--mode", "dns-only"]));
    expect(s.events.find((e) => e.event === "mode")).toMatchObject({ mode: "dns-only", redirect: "nftables" });
    expect((await status(s)).measuredLevel).toBe("dns-only");
    expect(await chains(lab)).toEqual(DNS_ONLY_CHAINS);
    const nat = (await table(lab))!.find((o) => o.chain?.name === "dns_redirect")!.chain;
    expect(nat).toMatchObject({ type: "nat", hook: "output" });
    const guard = (await table(lab))!.find((o) => o.chain?.name === "dns_guard")!.chain;
    expect(guard).toMatchObject({ type: "filter", hook: "output", policy: "accept" });
    expect(await iptablesNat()).not.toContain("EGRESSCTL");
    expect((await dig(lab, "evil.example.com")).rcode).toBe("NXDOMAIN");
    expect((await dig(lab, "evil.example.com", { server: LAB.dnsV6, type: "AAAA" })).rcode).toBe("NXDOMAIN");
    expect((await dig(lab, "api.example.com")).addresses).toEqual(["198.51.100.10"]);
    // no Layer 2: nothing is learned into the kernel and a direct connection goes through
    expect(await curl(lab, "198.51.100.66")).toBe(0);
  });

  test("--mode disabled where everything is available: disabled because it was asked for, still loud", async () => {
    s = await serve(lab, args(policy, LAB.dnsV4, ["--mode", "disabled"]));
    const ev = s.events.find((e) => e.event === "mode");
    expect(ev).toMatchObject({ mode: "disabled", level: "error" });
    expect(JSON.stringify(ev!.reasons)).toMatch(/asked for/);
    const st = await status(s);
    expect(st).toMatchObject({ mode: "disabled", measuredLevel: "disabled" });
    expect(st.warning).toMatch(/DISABLED/);
    expect((await dig(lab, "evil.example.com")).addresses).toEqual(["198.51.100.66"]);
    expect(await table(lab)).toBeNull();
  });

  test("a restart in another mode removes what the previous mode left in the kernel", async () => {
    // dns+nftables leaves its table in force on SIGTERM (fail-closed) ...
    s = await serve(lab, args(policy));
    expect(await s.stop("SIGTERM")).toBe(0);
    expect(await table(lab)).not.toBeNull();
    // ... which an explicitly disabled serve must not keep enforcing behind its back
    s = await serve(lab, args(policy, LAB.dnsV4, ["--mode", "disabled"]));
    expect(s.events.find((e) => e.event === "stale.removed")).toMatchObject({ what: "table inet egressctl", ok: true });
    expect(await table(lab)).toBeNull();
    expect(await curl(lab, "198.51.100.66")).toBe(0);
    expect(await s.stop("SIGTERM")).toBe(0);
    // an iptables redirect (dns-only without nftables) left behind is removed by a
    // dns+nftables serve, so two redirects cannot fight over port 53
    s = await serve(lab, args(policy), { env: { EGRESSCTL_NFT_BACKEND: "none" } });
    expect(await s.stop("SIGTERM")).toBe(0);
    expect(await iptablesNat()).toContain("-A OUTPUT -j EGRESSCTL-DNS");
    // found by any of its jumps: here the nat one is gone, the guard's is not
    expect((await lab.exec("sandbox", ["iptables", "-t", "nat", "-D", "OUTPUT", "-j", "EGRESSCTL-DNS"])).code).toBe(0);
    expect((await lab.exec("sandbox", ["iptables", "-S"])).stdout).toContain("-A OUTPUT -j EGRESSCTL-DNS-GUARD");
    s = await serve(lab, args(policy));
    expect(s.events.find((e) => e.event === "stale.removed")).toMatchObject({ what: "iptables chains EGRESSCTL-*", ok: true });
    expect(await iptablesNat()).not.toContain("EGRESSCTL");
    for (const t of ["filter", "raw"]) expect((await lab.exec("sandbox", ["iptables", "-t", t, "-S"])).stdout).not.toContain("EGRESSCTL");
    expect((await lab.exec("sandbox", ["ip6tables", "-t", "nat", "-S"])).stdout).not.toContain("EGRESSCTL");
    expect((await dig(lab, "evil.example.com")).rcode).toBe("NXDOMAIN");
  });

  test("require_full_isolation with --mode dns-only: exit 4 before touching anything", async () => {
    const strict = writePolicy(lab, policyText(["api.example.com"], { require_full_isolation: true }));
    const r = await serveExit(lab, args(strict, LAB.dnsV4, ["--mode", "dns-only"]));
    expect(r.code).toBe(4);
    expect(r.events.find((e) => e.event === "serve.refused")?.reason).toMatch(/isolation/i);
    expect(await table(lab)).toBeNull();
    expect(await iptablesNat()).not.toContain("EGRESSCTL");
  });

  test("require_full_isolation without nftables (EGRESSCTL_NFT_BACKEND=none): exit 4, nothing loaded", async () => {
    const strict = writePolicy(lab, policyText(["api.example.com"], { requireFullIsolation: true }));
    const r = await serveExit(lab, args(strict), { EGRESSCTL_NFT_BACKEND: "none" });
    expect(r.code).toBe(4);
    expect(r.events.find((e) => e.event === "serve.refused")?.reason).toMatch(/isolation/i);
    expect(await table(lab)).toBeNull();
    expect(await iptablesNat()).not.toContain("EGRESSCTL");
  });

  test("naming a mode that is unavailable is exit 4", async () => {
    const r = await serveExit(lab, args(policy, LAB.dnsV4, ["--mode", "dns+nftables"]), { EGRESSCTL_NFT_BACKEND: "none" });
    expect(r.code).toBe(4);
    expect(await table(lab)).toBeNull();
    expect(await iptablesNat()).not.toContain("EGRESSCTL");
  });
});

describe("OPENSANDBOX_EGRESS_MODE", () => {
  test("dns → dns-only", async () => {
    s = await serve(lab, args(policy), { env: { OPENSANDBOX_EGRESS_MODE: "dns" } });
    expect((await status(s)).mode).toBe("dns-only");
    expect(await chains(lab)).toEqual(DNS_ONLY_CHAINS);
  });

  test("dns+nft → dns+nftables", async () => {
    s = await serve(lab, args(policy), { env: { OPENSANDBOX_EGRESS_MODE: "dns+nft" } });
    expect((await status(s)).mode).toBe("dns+nftables");
    expect(await chains(lab)).toEqual(FULL_CHAINS);
  });

  test("the --mode flag wins over the variable", async () => {
    s = await serve(lab, args(policy, LAB.dnsV4, ["--mode", "dns-only"]), { env: { OPENSANDBOX_EGRESS_MODE: "dns+nft" } });
    expect((await status(s)).mode).toBe("dns-only");
  });

  test("an unknown --mode is a usage error (exit 2), nothing loaded", async () => {
    const r = await serveExit(lab, args(policy, undefined, ["--mode", "dns+ebpf"]));
    expect(r.code).toBe(2);
    expect(r.events.find((e) => e.event === "serve.refused")?.reason).toMatch(/unknown mode/);
    expect(await table(lab)).toBeNull();
  });

  test("an OPENSANDBOX_EGRESS_MODE that is no mode: serve starts in auto with a warning (OpenSandbox starts too); its nft+dns form is read", async () => {
    const s = await serve(lab, args(policy), { env: { OPENSANDBOX_EGRESS_MODE: "dns+ebpf" } });
    expect(s.events.find((e) => e.event === "config.warning")?.warning).toMatch(/OPENSANDBOX_EGRESS_MODE 'dns\+ebpf' is not a mode.*using auto/);
    expect((await status(s)).mode).toBe("dns+nftables");
    await s.stop();
    const t = await serve(lab, args(policy), { env: { OPENSANDBOX_EGRESS_MODE: "nft+dns" } });
    expect((await status(t)).mode).toBe("dns+nftables");
    expect(t.events.find((e) => e.event === "config.warning")).toBeUndefined();
  });
});

describe("policy sources, in order", () => {
  const FROM_FILE = () => writePolicy(lab, policyText(["api.example.com"]));
  const FROM_POLICY_FILE = () => writePolicy(lab, policyText(["other.example.com"]));
  const RULES = policyText(["plain.example.net"]);

  /** which of the three names resolve tells which policy is in force */
  async function allowedNames(): Promise<string[]> {
    const out: string[] = [];
    for (const n of ["api.example.com", "other.example.com", "plain.example.net"]) {
      if ((await dig(lab, n)).rcode === "NOERROR") out.push(n);
    }
    return out;
  }

  test("FILE beats OPENSANDBOX_EGRESS_POLICY_FILE and OPENSANDBOX_EGRESS_RULES", async () => {
    const file = FROM_FILE();
    s = await serve(lab, args(file), { env: { OPENSANDBOX_EGRESS_POLICY_FILE: FROM_POLICY_FILE(), OPENSANDBOX_EGRESS_RULES: RULES } });
    expect((await status(s)).policy.source).toBe(`file:${file}`);
    expect(await allowedNames()).toEqual(["api.example.com"]);
  });

  test("a valid OPENSANDBOX_EGRESS_POLICY_FILE beats OPENSANDBOX_EGRESS_RULES", async () => {
    const pf = FROM_POLICY_FILE();
    s = await serve(lab, args(null), { env: { OPENSANDBOX_EGRESS_POLICY_FILE: pf, OPENSANDBOX_EGRESS_RULES: RULES } });
    expect((await status(s)).policy.source).toBe(`env:OPENSANDBOX_EGRESS_POLICY_FILE:${pf}`);
    expect(await allowedNames()).toEqual(["other.example.com"]);
  });

  test("an invalid OPENSANDBOX_EGRESS_POLICY_FILE falls through to OPENSANDBOX_EGRESS_RULES, with a warning", async () => {
    const bad = writePolicy(lab, "egress: [ { action: maybe, target: 'http://x' } ]\n", "bad-persisted.yaml");
    s = await serve(lab, args(null), { env: { OPENSANDBOX_EGRESS_POLICY_FILE: bad, OPENSANDBOX_EGRESS_RULES: RULES } });
    expect((await status(s)).policy.source).toBe("env:OPENSANDBOX_EGRESS_RULES");
    const note = s.events.find((e) => e.event === "policy.note");
    expect(note).toMatchObject({ level: "warn" });
    expect(note!.note).toContain("OPENSANDBOX_EGRESS_POLICY_FILE");
    expect(await allowedNames()).toEqual(["plain.example.net"]);
  });

  test("a missing OPENSANDBOX_EGRESS_POLICY_FILE falls through too", async () => {
    s = await serve(lab, args(null), { env: { OPENSANDBOX_EGRESS_POLICY_FILE: join(lab.dir, "absent.json"), OPENSANDBOX_EGRESS_RULES: RULES } });
    expect((await status(s)).policy.source).toBe("env:OPENSANDBOX_EGRESS_RULES");
    expect(s.events.some((e) => e.event === "policy.note")).toBe(true);
  });

  test("an invalid FILE is exit 3, every problem listed, nothing loaded", async () => {
    // what OpenSandbox's sidecar refuses too: an action other than allow/deny, a rule without a target
    const bad = writePolicy(lab, "defaultAction: deny\negress:\n  - { action: maybe, target: api.example.com }\n  - { action: allow }\n", "bad.yaml");
    const r = await serveExit(lab, args(bad));
    expect(r.code).toBe(3);
    const ev = r.events.find((e) => e.event === "policy.invalid");
    expect(ev).toBeDefined();
    expect(ev!.problems.length).toBeGreaterThanOrEqual(2);
    expect(await table(lab)).toBeNull();
  });

  test("a FILE that is not text (NUL bytes) is exit 3 with the same not-text problem validate gives", async () => {
    const bin = writePolicy(lab, "egress: []\n\u0000\u0001\u0002", "binary.yaml");
    const r = await serveExit(lab, args(bin));
    expect(r.code).toBe(3);
    const ev = r.events.find((e) => e.event === "policy.invalid");
    expect(ev!.problems).toEqual([expect.objectContaining({ code: "not-text", line: 1, col: 1 })]);
    expect(await table(lab)).toBeNull();
  });

  test("an invalid OPENSANDBOX_EGRESS_RULES (nothing better given) is exit 3", async () => {
    const r = await serveExit(lab, args(null), { OPENSANDBOX_EGRESS_RULES: "{ not json" });
    expect(r.code).toBe(3);
    expect(await table(lab)).toBeNull();
  });

  test("nothing at all: deny-all", async () => {
    s = await serve(lab, args(null), { env: { OPENSANDBOX_EGRESS_RULES: "" } });
    const st = await status(s);
    expect(st.policy).toMatchObject({ source: "default:deny-all", mode: "deny_all", rules: 0 });
    expect(await allowedNames()).toEqual([]);
    expect(await curl(lab, "198.51.100.10")).toBe(7);
  });
});

describe("host network", () => {
  test("in the machine's own namespace serve refuses with exit 4 (nothing it could touch: no nftables, no iptables, disabled)", async () => {
    // SAFETY: the backends are switched off and the mode is disabled, so even a serve
    // that did not refuse could not change the host's firewall.
    const dir = mkdtempSync(join(tmpdir(), "egressctl-hostns-"));
    const env: Record<string, string> = { ...(process.env as Record<string, string>), EGRESSCTL_NFT_BACKEND: "none", EGRESSCTL_IPTABLES: "none" };
    delete env.EGRESSCTL_ASSUME_SANDBOX;
    delete env.OPENSANDBOX_EGRESS_MODE;
    try {
      const probe = Bun.spawnSync([BIN, "probe", "--json"], { env, stdout: "pipe", stderr: "pipe" });
      const report = JSON.parse(probe.stdout.toString());
      // this test is about the refusal: it needs a machine whose namespace looks like a host's
      if (!report.hostNetwork?.suspected) throw new Error(`probe does not suspect the host network here, cannot test the refusal: ${JSON.stringify(report.hostNetwork)}`);
      const proc = Bun.spawn(
        [BIN, "serve", "--mode", "disabled", "--upstream", "127.0.0.1", "--dns-port", "47953", "--status-socket", join(dir, "s.sock"), "--ready-file", join(dir, "ready")],
        { env, stdout: "pipe", stderr: "pipe" },
      );
      const timer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
      const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
      clearTimeout(timer);
      expect(code).toBe(4);
      const refused = jsonLines(err).find((e) => e.event === "serve.refused");
      expect(refused?.reason).toMatch(/host/i);
      expect(existsSync(join(dir, "ready"))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
