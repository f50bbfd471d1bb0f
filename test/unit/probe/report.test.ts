// The --json shape is a contract (docs/probe.md); the text is for people.
import { expect, test } from "bun:test";
import { assess } from "../../../src/core/probe/assess.ts";
import { toJson, toText } from "../../../src/core/probe/report.ts";
import { facts, hostNs, noCap } from "./fixtures.ts";

test("JSON carries every documented top-level field", () => {
  const f = facts();
  const j = toJson(f, assess(f), "1.2.3") as Record<string, unknown>;
  expect(Object.keys(j)).toEqual([
    "schemaVersion", "egressctl", "kernel", "capabilities", "nftables", "iptables", "ipv6",
    "hostNetwork", "mode", "redirect", "available", "reasons", "downgrades", "refusal",
  ]);
  expect(j.schemaVersion).toBe(1);
  expect(j.refusal).toBeNull();
  expect(Object.keys(j.hostNetwork as object)).toEqual(["suspected", "assumeSandbox", "signals", "netns", "interfaces", "defaultRouteInterfaces", "errors"]);
  expect(JSON.parse(JSON.stringify(j))).toEqual(j);
});

test("text: a table, then mode and reasons, then any refusal", () => {
  const f = facts(noCap, hostNs);
  const t = toText(f, assess(f));
  expect(t).toMatch(/^kernel\s+6\.18\.0$/m);
  expect(t).toMatch(/^CAP_NET_ADMIN\s+NO$/m);
  expect(t).toMatch(/^host network\s+SUSPECTED: init-netns, pid1-netns, physical-nic, default-route-physical$/m);
  expect(t).toMatch(/^mode: disabled$/m);
  expect(t).toMatch(/^ {2}- dns\+nftables -> disabled: no CAP_NET_ADMIN/m);
  expect(t).toMatch(/serve would refuse to run \(exit 4\)/);
});
