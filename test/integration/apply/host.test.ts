// apply in the machine's own network namespace (not a lab): it must refuse, as serve
// does, before anything reaches the kernel. Every run here has EGRESSCTL_NFT_BACKEND=none
// and EGRESSCTL_IPTABLES=none, so even a broken refusal could change nothing: the exit
// code alone cannot tell the two refusals apart, the message does.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, requireBinary } from "./support.ts";

const dir = mkdtempSync(join(tmpdir(), "egressctl-apply-host-"));
const policy = join(dir, "policy.yaml");
writeFileSync(policy, "defaultAction: deny\negress:\n  - {action: allow, target: 192.0.2.0/24}\n");
beforeAll(requireBinary);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SAFE = { EGRESSCTL_NFT_BACKEND: "none", EGRESSCTL_IPTABLES: "none", EGRESSCTL_ASSUME_SANDBOX: "" };
async function run(args: string[], env: Record<string, string> = {}) {
  const p = Bun.spawn([BIN, ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, ...SAFE, ...env } });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}
const ruleset = () => Bun.spawnSync(["nft", "list", "ruleset"]).stdout.toString();
const HOST = /host's network namespace/;
const NO_NFT = /nftables disabled by EGRESSCTL_NFT_BACKEND=none/;

test("this test runs where probe suspects the host", async () => {
  const r = await run(["probe", "--json"]);
  expect(JSON.parse(r.stdout).hostNetwork.suspected).toBe(true);
});

for (const args of [[policy], [policy, "--check"], ["--delete"]]) {
  test(`apply ${args.map((a) => (a === policy ? "FILE" : a)).join(" ")} on the host: exit 4 for the host, not for the missing nftables`, async () => {
    const before = ruleset();
    const r = await run(["apply", ...args]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(HOST);
    expect(r.stderr).toContain("--allow-host-network");
    expect(r.stderr).not.toMatch(NO_NFT);
    expect(ruleset()).toBe(before);
  });
}

test("--allow-host-network and EGRESSCTL_ASSUME_SANDBOX=1 pass the host check (then meet the disabled backend)", async () => {
  for (const [args, env] of [[["--allow-host-network"], {}], [[], { EGRESSCTL_ASSUME_SANDBOX: "1" }]] as const) {
    const r = await run(["apply", policy, ...args], env);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(NO_NFT);
    expect(r.stderr).not.toMatch(HOST);
  }
});

test("--dry-run on the host prints the ruleset (it touches nothing)", async () => {
  const r = await run(["apply", policy, "--dry-run"]);
  expect(r.code).toBe(0);
  expect(r.stdout).toStartWith("# egressctl ruleset: policy sha256:");
});

test("OPENSANDBOX_EGRESS_NAMESERVER_EXEMPT: honoured by --dry-run; a bad entry is a usage error, nothing printed", async () => {
  const ok = await run(["apply", policy, "--dry-run"], { OPENSANDBOX_EGRESS_NAMESERVER_EXEMPT: "198.51.100.54" });
  expect(ok.code).toBe(0);
  expect(ok.stdout).toContain("add rule inet egressctl dns_redirect ip daddr { 198.51.100.54 } meta l4proto { tcp, udp } th dport 53 return");
  const bad = await run(["apply", policy, "--dry-run"], { OPENSANDBOX_EGRESS_NAMESERVER_EXEMPT: "198.51.100.54,ns.example" });
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain("OPENSANDBOX_EGRESS_NAMESERVER_EXEMPT entry 'ns.example' is not an IP address");
  expect(bad.stdout).toBe("");
});
