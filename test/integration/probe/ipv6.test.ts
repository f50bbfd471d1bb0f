// probe with IPv6 switched off by sysctl, inside a lab namespace of its own (the sysctl
// is per namespace; the machine's own setting is never touched).
import { expect, test } from "bun:test";
import type { Lab } from "../../support/lab.ts";
import { useBareLab } from "../../support/lab-hooks.ts";
import { BIN, json, requireBinary } from "./binary.ts";

let lab!: Lab;
useBareLab((l) => void (lab = l), requireBinary);

test("disable_ipv6=1 in the namespace: ipv6 false, mode unchanged", async () => {
  const set = await lab.exec("sandbox", ["sysctl", "-w", "net.ipv6.conf.all.disable_ipv6=1"]);
  expect(set.code).toBe(0);
  const j = json(await lab.exec("sandbox", [BIN, "probe", "--json"]));
  expect(j.ipv6).toMatchObject({ enabled: false, disableIpv6: 1, loopback: false });
  expect(j.mode).toBe("dns+nftables");
  expect(j.reasons.join("\n")).toMatch(/IPv6 is off/);
});
