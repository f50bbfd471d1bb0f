// `egressctl apply` against the real kernel in a lab namespace: goldens load, the
// transaction keeps learned elements, re-applying changes nothing, other tables and
// iptables rules are never touched, and a transaction the kernel rejects halfway leaves
// the previous ruleset exactly as it was.
import { describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Lab } from "../../support/lab.ts";
import { useBareLab } from "../../support/lab-hooks.ts";
import { goldenCases } from "../../golden/cases.ts";
import { apply, BIN, LAB_ENV, mustApply, nft, rawTable, requireBinary, tableState } from "./support.ts";

let lab!: Lab;
useBareLab((l) => void (lab = l), requireBinary);

const P1 = "defaultAction: deny\negress:\n  - {action: allow, target: 198.51.100.0/24}\n  - {action: deny, target: 2001:db8:200::/64}\n";
const P2 = "defaultAction: allow\negress:\n  - {action: deny, target: 203.0.113.0/24}\n";
const learn = "add element inet egressctl learned4 { 203.0.113.77 timeout 600s }; add element inet egressctl learned6 { 2001:db8:200::77 timeout 600s }";

describe("goldens in the kernel", () => {
  for (const c of goldenCases()) {
    test(`${c.name}: the kernel accepts it (check mode, then for real)`, async () => {
      const check = await lab.exec("sandbox", ["nft", "-c", "-f", c.goldenFile]);
      expect(check.stderr).toBe("");
      expect(check.code).toBe(0);
      // applied one after another, so every fixture is also a transition from the previous one
      const real = await lab.exec("sandbox", ["nft", "-f", c.goldenFile]);
      expect(real.stderr).toBe("");
    });
  }
});

describe("apply", () => {
  test("--delete removes only our table and is quiet when it is absent", async () => {
    await nft(lab, "add", "table", "ip", "foreign");
    for (let i = 0; i < 2; i++) {
      const r = await lab.exec("sandbox", [BIN, "apply", "--delete"], { env: LAB_ENV });
      expect(r.code).toBe(0);
      expect(await tableState(lab)).toBeNull();
    }
    expect((await nft(lab, "list", "table", "ip", "foreign")).code).toBe(0);
  });

  test("--check commits nothing", async () => {
    const r = await apply(lab, P1, ["--check"]);
    expect(r.code).toBe(0);
    expect(await tableState(lab)).toBeNull();
  });

  test("re-applying the same policy changes nothing; a new policy keeps learned elements", async () => {
    await mustApply(lab, P1);
    expect((await nft(lab, learn)).code).toBe(0);
    const first = await tableState(lab);
    await mustApply(lab, P1);
    expect(await tableState(lab)).toEqual(first);
    await mustApply(lab, P2);
    const learned = await nft(lab, "list", "set", "inet", "egressctl", "learned4");
    expect(learned.stdout).toContain("203.0.113.77");
    expect((await nft(lab, "list", "set", "inet", "egressctl", "learned6")).stdout).toContain("2001:db8:200::77");
    // and the static sets really changed
    expect((await nft(lab, "list", "set", "inet", "egressctl", "deny4")).stdout).toContain("203.0.113.0/24");
  });

  test("other tables and iptables rules are left as they are", async () => {
    // the foreign counter matches an address nothing sends to, so stray packets (IPv6
    // neighbour discovery, say) cannot change the listing; iptables-save's chain
    // counters are masked for the same reason
    await nft(lab, "add table inet other; add chain inet other c { type filter hook output priority 10; }; add rule inet other c ip daddr 192.0.2.98 counter");
    expect((await lab.exec("sandbox", ["iptables", "-w", "-A", "OUTPUT", "-d", "192.0.2.99", "-j", "ACCEPT"])).code).toBe(0);
    const other = (await nft(lab, "-j", "list", "table", "inet", "other")).stdout;
    const iptSave = async () => (await lab.exec("sandbox", ["iptables-save", "-t", "filter"])).stdout.replace(/^#.*\n/gm, "").replace(/\[\d+:\d+\]/g, "[n:n]");
    const ipt = await iptSave();
    await mustApply(lab, P1);
    await mustApply(lab, P2, ["--mode", "dns-only"]);
    await lab.exec("sandbox", [BIN, "apply", "--delete"], { env: LAB_ENV });
    expect((await nft(lab, "-j", "list", "table", "inet", "other")).stdout).toBe(other);
    expect(await iptSave()).toBe(ipt);
    await nft(lab, "delete", "table", "inet", "other");
  });

  test("dns-only: only the redirect and the DNS guard; static sets go away", async () => {
    await mustApply(lab, P1);
    await mustApply(lab, P1, ["--mode", "dns-only"]);
    const t = (await nft(lab, "list", "table", "inet", "egressctl")).stdout;
    expect(t).toContain("chain dns_redirect");
    expect(t).toContain("chain dns_guard");
    expect(t).not.toContain("chain output");
    expect(t).not.toContain("set allow4");
  });

  test("a table of an earlier version (denied-flow sets without the reason) is upgraded in the same transaction", async () => {
    await nft(lab, "add table inet egressctl; add set inet egressctl denied4 { type ipv4_addr . inet_proto . inet_service; flags dynamic,timeout; timeout 60s; size 4096; }; add set inet egressctl denied6 { type ipv6_addr . inet_proto . inet_service; flags dynamic,timeout; timeout 60s; size 4096; }; add chain inet egressctl deny; add rule inet egressctl deny meta nfproto ipv4 meta l4proto { tcp, udp } add @denied4 { ip daddr . meta l4proto . th dport }");
    await mustApply(lab, P1);
    const t = (await nft(lab, "list", "table", "inet", "egressctl")).stdout;
    expect(t).not.toMatch(/set denied[46] /);
    expect(t).toContain("set denials4");
    expect(t).toContain("chain dns_guard");
  });

  test("--inbound-from: the sources become a set and the rules use it; a bad entry is a usage error", async () => {
    await mustApply(lab, P1, ["--inbound-from", "198.51.100.0/25, 2001:db8:100::/64"]);
    expect((await nft(lab, "list", "set", "inet", "egressctl", "inbound4")).stdout).toContain("198.51.100.0/25");
    expect((await nft(lab, "list", "chain", "inet", "egressctl", "output")).stdout).toContain("ct direction reply ct original ip saddr != @inbound4 goto deny_inbound");
    const bad = await apply(lab, P1, ["--inbound-from", "any,none"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--inbound-from");
  });

  test("both backends load the same state", async () => {
    await mustApply(lab, P1, [], { EGRESSCTL_NFT_BACKEND: "library" });
    const viaLib = await tableState(lab);
    await mustApply(lab, P1, [], { EGRESSCTL_NFT_BACKEND: "binary" });
    expect(await tableState(lab)).toEqual(viaLib);
  });
});

describe("failures", () => {
  test("invalid policy: exit 3 with every problem, nothing loaded", async () => {
    await mustApply(lab, P1);
    const before = await rawTable(lab);
    const r = await apply(lab, "defaultAction: maybe\negress:\n  - {action: allow, target: 'http://x'}\n");
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("defaultAction");
    expect(r.stderr).toContain("egress[0].target");
    expect(await rawTable(lab)).toBe(before);
  });

  test("require_full_isolation with --mode dns-only: exit 4, nothing loaded; --dry-run still prints", async () => {
    await mustApply(lab, P1);
    const before = await rawTable(lab);
    const isolated = "require_full_isolation: true\negress:\n  - {action: allow, target: 198.51.100.0/24}\n";
    for (const flags of [["--mode", "dns-only"], ["--mode", "dns", "--check"]]) {
      const r = await apply(lab, isolated, flags);
      expect(r.code).toBe(4);
      expect(r.stderr).toContain("require_full_isolation");
    }
    expect(await rawTable(lab)).toBe(before);
    expect((await apply(lab, isolated, ["--mode", "dns-only", "--dry-run"])).code).toBe(0);
    await mustApply(lab, isolated);
  });

  test("no nftables: exit 4; --dry-run still prints", async () => {
    expect((await apply(lab, P1, [], { EGRESSCTL_NFT_BACKEND: "none" })).code).toBe(4);
    const dry = await apply(lab, P1, ["--dry-run"], { EGRESSCTL_NFT_BACKEND: "none" });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toStartWith("# egressctl ruleset: policy sha256:");
  });

  for (const backend of ["library", "binary"]) {
    test(`kernel rejects halfway (${backend}): exit 5 names the line, previous ruleset intact`, async () => {
      await mustApply(lab, P1);
      await nft(lab, learn);
      // Someone put a rule into our table that uses our static set. The kernel accepts
      // the transaction's first commands (table, learned sets, counters, deleting the
      // chains) and refuses `delete set` (EBUSY) in the middle: all of it is undone.
      await nft(lab, "add chain inet egressctl intruder; add rule inet egressctl intruder ip daddr @allow4 accept");
      const before = await rawTable(lab);
      const r = await apply(lab, P2, [], { EGRESSCTL_NFT_BACKEND: backend });
      expect(r.code).toBe(5);
      expect(r.stderr).toMatch(/at ruleset line \d+: delete set inet egressctl allow4/);
      expect(r.stderr).toContain("Device or resource busy");
      expect(await rawTable(lab)).toBe(before);
      await nft(lab, "delete chain inet egressctl intruder");
    });
  }

  test("kernel rejects with a read-only temporary directory (library): still exit 5 with the kernel's message", async () => {
    // The library backend re-checks a failed script from a temporary file to find the
    // line. On a read-only /tmp (common for sidecars) that file cannot be made: the
    // kernel's refusal must still be reported, not an exception. The read-only directory
    // is a tmpfs mounted read-only in a private mount namespace of this one command.
    await mustApply(lab, P1);
    await nft(lab, "add chain inet egressctl intruder; add rule inet egressctl intruder ip daddr @allow4 accept");
    const before = await rawTable(lab);
    const ro = join(lab.dir, "ro-tmp");
    mkdirSync(ro);
    const file = lab.file("policy-ro.yaml", P2);
    const r = await lab.exec(
      "sandbox",
      ["unshare", "--mount", "--propagation", "private", "sh", "-c", 'mount -t tmpfs -o ro tmpfs "$0" && touch "$0/x" 2>/dev/null && exit 99; TMPDIR="$0" exec "$@"', ro, BIN, "apply", file],
      { env: { ...LAB_ENV, EGRESSCTL_NFT_BACKEND: "library" } },
    );
    expect(r.code).toBe(5);
    expect(r.stderr).toContain("the kernel rejected the ruleset");
    expect(r.stderr).toContain("Device or resource busy");
    expect(r.stderr).not.toMatch(/EROFS|read-only file system/i);
    expect(await rawTable(lab)).toBe(before);
    await nft(lab, "delete chain inet egressctl intruder");
  });
});
