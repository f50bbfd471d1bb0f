// serve's parts in their lifecycle, with the real binary and kernel: the kernel enforcer
// part refusing (the kernel rejects the ruleset) ends the start with exit 5 after the
// DNS proxy, started before it, was stopped, and changes nothing in the kernel; and at
// SIGTERM every part stops without an error, the ruleset removed (--cleanup-on-exit), and
// `stopped` is said last. (The order of stopping is the lifecycle's: test/unit/lifecycle.)
import { expect, test } from "bun:test";
import type { Lab } from "../../support/lab.ts";
import { args, policyText, serve, serveExit, useLab, writePolicy } from "./helpers-serve.ts";
import { nft } from "../apply/support.ts";

let lab!: Lab;
useLab((l) => void (lab = l));

test("the kernel refuses the ruleset: exit 5 with policy.rejected, the proxy stopped, nothing changed in the kernel", async () => {
  // a learned4 of the wrong type: `add set` of serve's learned4 cannot land on it
  const pre = await lab.exec("sandbox", ["nft", "-f", "-"], { stdin: "add table inet egressctl\nadd set inet egressctl learned4 { type ipv6_addr; }\n" });
  expect(pre.stderr).toBe("");
  const before = (await nft(lab, "list", "table", "inet", "egressctl")).stdout;
  const policy = writePolicy(lab, policyText(["api.example.com"]));
  const r = await serveExit(lab, args(policy, undefined, ["--mode", "dns+nftables"]));
  expect(r.code).toBe(5);
  const rejected = r.events.find((e) => e.event === "policy.rejected");
  expect(rejected?.level).toBe("error");
  expect(rejected?.error).toBeTruthy();
  // the proxy had started (it listens before the ruleset) and was not left behind: the
  // process ended; nothing after the refused part ran
  expect(r.events.map((e) => e.event)).not.toContain("ready");
  expect(r.events.map((e) => e.event)).not.toContain("policy.applied");
  expect((await nft(lab, "list", "table", "inet", "egressctl")).stdout).toBe(before);
}, 30_000);

test("SIGTERM with --cleanup-on-exit: every part stops cleanly, the ruleset is removed, `stopped` comes last", async () => {
  const policy = writePolicy(lab, policyText(["api.example.com"]));
  const s = await serve(lab, args(policy, undefined, ["--cleanup-on-exit"]));
  expect((await nft(lab, "list", "table", "inet", "egressctl")).code).toBe(0);
  expect(await s.stop("SIGTERM")).toBe(0);
  expect((await nft(lab, "list", "table", "inet", "egressctl")).code).not.toBe(0);
  const last = s.events.at(-1)!;
  expect(last).toMatchObject({ event: "stopped", ruleset: "removed" });
  // no part failed to stop
  expect(s.events.filter((e) => e.event === "serve.error")).toEqual([]);
}, 30_000);
