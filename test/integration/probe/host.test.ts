// probe in the machine's own network namespace (not a lab): it must suspect the host.
// probe only reads here; its one kernel conversation is a check-mode nftables batch the
// kernel aborts, which the ruleset comparison below confirms.
import { beforeAll, expect, test } from "bun:test";
import { existsSync, readlinkSync } from "node:fs";
import { BIN, json, requireBinary } from "./binary.ts";

beforeAll(requireBinary);

async function run(args: string[], env: Record<string, string> = {}) {
  const p = Bun.spawn([BIN, "probe", ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}
const ruleset = () => Bun.spawnSync(["nft", "list", "ruleset"]).stdout.toString();

test("suspects the host's network, for the signals this machine really shows", async () => {
  const before = ruleset();
  const r = await run(["--json"]);
  expect(r.code).toBe(0);
  const j = json(r);
  expect(j.hostNetwork.suspected).toBe(true);
  const fired = new Set(j.hostNetwork.signals.filter((s: any) => s.fired).map((s: any) => s.id));
  expect(fired.size).toBeGreaterThan(0);
  // each signal agrees with what the test reads for itself
  expect(fired.has("init-netns")).toBe(readlinkSync("/proc/self/ns/net") === "net:[4026531833]");
  const physical = j.hostNetwork.interfaces.filter((i: any) => i.physical).map((i: any) => i.name);
  for (const name of physical) expect(existsSync(`/sys/class/net/${name}/device`)).toBe(true);
  expect(fired.has("physical-nic")).toBe(physical.length > 0);
  expect(j.refusal.message).toMatch(/host's network namespace/);
  expect(ruleset()).toBe(before);
});

test("--require exits 4 on the host unless host network is allowed or overridden", async () => {
  expect((await run(["--require", "dns-only"])).code).toBe(4);
  expect((await run(["--require", "dns-only", "--allow-host-network"])).code).toBe(0);
  const assumed = await run(["--json", "--require", "dns-only"], { EGRESSCTL_ASSUME_SANDBOX: "1" });
  expect(assumed.code).toBe(0);
  expect(json(assumed).hostNetwork).toMatchObject({ suspected: false, assumeSandbox: true });
});
