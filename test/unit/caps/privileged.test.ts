// The scan for processes that hold NET_RAW or NET_ADMIN beside serve, on canned /proc data.
import { expect, test } from "bun:test";
import { describePrivileged, findPrivileged, parseProcStatus, withAncestors, type ProcEntry } from "../../../src/core/caps/privileged.ts";

const status = (o: { name?: string; ppid?: number; uid?: number; state?: string; eff?: string; bnd?: string }) =>
  `Name:\t${o.name ?? "app"}\nState:\t${o.state ?? "S (sleeping)"}\nPPid:\t${o.ppid ?? 1}\nUid:\t${o.uid ?? 0}\t${o.uid ?? 0}\t${o.uid ?? 0}\t${o.uid ?? 0}\nCapInh:\t0000000000000000\nCapEff:\t${o.eff ?? "0"}\nCapBnd:\t${o.bnd ?? "0"}\n`;
const NS = "net:[4026532001]";
const p = (pid: number, o: Parameters<typeof status>[0] = {}, netns: string | null = NS) => parseProcStatus(pid, status(o), netns)!;

test("parses the fields a scan needs; not a status text is null", () => {
  expect(p(7, { name: "curl", ppid: 3, uid: 65534, eff: "0000000000002000", bnd: "000001ffffffffff" })).toEqual({
    pid: 7, ppid: 3, name: "curl", uid: 65534, state: "S", capEff: 0x2000n, capBnd: 0x1ffffffffffn, netns: NS,
  });
  expect(parseProcStatus(7, "garbage", NS)).toBeNull();
});

test("NET_RAW or NET_ADMIN, effective or only in the bounding set; other namespaces, trusted, zombies and kernel threads are skipped", () => {
  const procs: ProcEntry[] = [
    p(10, { name: "raw", eff: "2000", bnd: "3000" }),          // NET_RAW effective, NET_ADMIN bounding only
    p(11, { name: "bnd", eff: "0", bnd: "1000" }),              // NET_ADMIN in the bounding set only
    p(12, { name: "plain", eff: "0", bnd: "0" }),               // nothing
    p(13, { name: "elsewhere", eff: "3000", bnd: "3000" }, "net:[1]"), // another namespace
    p(14, { name: "unknown", eff: "2000", bnd: "2000" }, null), // namespace unreadable: reported
    p(15, { name: "serve", eff: "1000", bnd: "3000" }),         // trusted
    p(16, { name: "zombie", eff: "3000", bnd: "3000", state: "Z (zombie)" }),
    p(17, { name: "kworker", eff: "3000", bnd: "3000", ppid: 2 }),
  ];
  const s = findPrivileged(procs, NS, new Set([15]));
  expect(s.examined).toBe(4);
  expect(s.found).toEqual([
    { pid: 10, name: "raw", uid: 0, effective: ["NET_RAW"], bounding: ["NET_ADMIN"], netnsKnown: true },
    { pid: 11, name: "bnd", uid: 0, effective: [], bounding: ["NET_ADMIN"], netnsKnown: true },
    { pid: 14, name: "unknown", uid: 0, effective: ["NET_RAW"], bounding: [], netnsKnown: false },
  ]);
  expect(describePrivileged(s.found[0]!)).toBe("pid 10 (raw, uid 0) holds NET_RAW (effective), NET_ADMIN (bounding set: regained by exec)");
});

test("ancestors: up the parent chain, stopping at loops and unknown parents", () => {
  const m = new Map([p(5, { ppid: 4 }), p(4, { ppid: 1 }), p(1, { ppid: 0 }), p(9, { ppid: 9 })].map((e) => [e.pid, e]));
  expect([...withAncestors(m, 5)]).toEqual([5, 4, 1]);
  expect([...withAncestors(m, 9)]).toEqual([9]);
});
