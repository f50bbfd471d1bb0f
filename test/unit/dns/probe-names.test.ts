// Where the self-test and doctor send their probe: never to an exempt nameserver.
import { expect, test } from "bun:test";
import { FALLBACK_PROBE_TARGET, isProbeName, probeTarget } from "../../../src/core/dns/probe-names.ts";

const ups = [{ family: 4 as const, address: "198.51.100.54" }, { family: 6 as const, address: "2001:db8:100::53" }];

test("the first upstream that is not exempt; a documentation address of its family when all are", () => {
  expect(probeTarget(ups, () => false)).toBe(ups[0]!);
  expect(probeTarget(ups, (a) => a === "198.51.100.54")).toBe(ups[1]!);
  expect(probeTarget(ups, () => true)).toEqual(FALLBACK_PROBE_TARGET[4]);
  expect(probeTarget([ups[1]!], () => true)).toEqual({ family: 6, address: "2001:db8::53" });
  expect(probeTarget([], () => false)).toEqual({ family: 4, address: "192.0.2.53" });
});

test("probe names are exactly those under egressctl.invalid", () => {
  expect([isProbeName("selftest-1.egressctl.invalid"), isProbeName("egressctl.invalid"), isProbeName("x.egressctl.invalid.example")]).toEqual([true, false, false]);
});
