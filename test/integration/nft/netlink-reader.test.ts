// The netlink reader (src/effects/nft/netlink-reader.ts) against the real kernel, in a lab
// namespace: it reads back exactly what nft wrote (addresses, comments, expiry), one
// element is asked for without reading the set, counters match nft's, an absent table
// is "absent", not an error; and a learned set at its size refuses a new element with
// ENFILE, which the writer reports as full (by errno) while a re-add still lands.
import { Errno } from "../../../src/core/errors/errno.ts";
import { isSetFull } from "../../../src/core/learn/bounds.ts";
import { readDeniedFlows } from "../../../src/core/events/net-denied.ts";
import { expect, test } from "bun:test";
import { join } from "node:path";
import type { Lab } from "../../support/lab.ts";
import { useBareLab } from "../../support/lab-hooks.ts";
import { mustApply, nft, requireBinary } from "../apply/support.ts";

const READER = join(import.meta.dir, "netlink-reader-harness.ts");
const WRITER = join(import.meta.dir, "netlink-harness.ts");
const POLICY = "defaultAction: deny\negress:\n  - {action: allow, target: \"*.example.com\"}\n";

let lab!: Lab;
useBareLab((l) => void (lab = l), requireBinary);

/** nft script lines loaded in one go in the sandbox; nft must say nothing */
async function nftLines(...lines: string[]): Promise<void> {
  const r = await lab.exec("sandbox", ["nft", "-f", "-"], { stdin: `${lines.join("\n")}\n` });
  expect(r.stderr).toBe("");
}

async function run(script: string, req: object): Promise<any> {
  const r = await lab.exec("sandbox", [process.execPath, script], { stdin: JSON.stringify(req), timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`harness failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

test("no table: the learned sets read as absent and empty, a lookup as not held", async () => {
  await nft(lab, "delete", "table", "inet", "egressctl");
  const out = await run(READER, { learned: true, has: [{ family: 4, address: "198.51.100.10" }] });
  expect(out.learned).toEqual({ ok: true, value: [], absent: true });
  expect(out.has[0]).toMatchObject({ ok: true, value: false });
});

test("reads back what nft wrote: addresses of both families, comments, expiry", async () => {
  await mustApply(lab, POLICY);
  await nftLines(
    'add element inet egressctl learned4 { 198.51.100.10 timeout 300s comment "api.example.com", 198.51.100.11 timeout 60s }',
    'add element inet egressctl learned6 { 2001:db8:100::10 timeout 3600s comment "api.example.com" }',
  );
  const out = await run(READER, { learned: true, has: [{ family: 4, address: "198.51.100.10" }, { family: 4, address: "198.51.100.99" }, { family: 6, address: "2001:db8:100::10" }] });
  const got = [...out.learned.value].sort((a: any, b: any) => a.address.localeCompare(b.address));
  expect(got.map((e: any) => [e.family, e.address, e.name])).toEqual([
    [4, "198.51.100.10", "api.example.com"],
    [4, "198.51.100.11", null],
    [6, "2001:db8:100::10", "api.example.com"],
  ]);
  // seconds left, as the kernel counts them down
  expect(got[0].expiresSec).toBeGreaterThan(250);
  expect(got[0].expiresSec).toBeLessThanOrEqual(300);
  expect(got[2].expiresSec).toBeGreaterThan(3500);
  expect(out.has.map((h: any) => h.value)).toEqual([true, false, true]);
});

test("the recorded upstreams (address . port keys, both families), in their recorded order; none recorded is null", async () => {
  await mustApply(lab, POLICY);
  expect((await run(READER, { upstreams: true })).upstreams).toEqual({ ok: true, value: null, absent: false });
  await nftLines(
    'add element inet egressctl upstreams4 { 198.51.100.53 . 5353 comment "2 resolv.conf" }',
    'add element inet egressctl upstreams6 { 2001:db8:100::53 . 53 comment "1 resolv.conf" }',
  );
  expect((await run(READER, { upstreams: true })).upstreams.value).toEqual({
    origin: "resolv.conf",
    upstreams: [{ family: 6, address: "2001:db8:100::53", port: 53 }, { family: 4, address: "198.51.100.53", port: 5353 }],
  });
});

test("the denied flows read over netlink are the flows nft lists, reason codes and all (net.denied's source)", async () => {
  await mustApply(lab, POLICY);
  await nftLines(
    "add element inet egressctl denials4 { 198.51.100.66 . tcp . 443 . 0x00000004, 203.0.113.153 . tcp . 853 . 0x00000002, 198.51.100.7 . udp . 53 . 0x00000005 }",
    "add element inet egressctl denials6 { 2001:db8:100::66 . tcp . 80 . 0x00000001 }",
  );
  const listed: { family: number; destination: string; protocol: string; port: number; reason: string | null }[] = [];
  for (const [family, set] of [[4, "denials4"], [6, "denials6"]] as const) {
    const l = JSON.parse((await nft(lab, "-j", "list", "set", "inet", "egressctl", set)).stdout);
    listed.push(...readDeniedFlows(l, family).map(({ expiresSec: _e, ...f }) => f));
  }
  const out = await run(READER, { denied: true });
  const key = (f: { destination: string; port: number }) => `${f.destination} ${f.port}`;
  const read = out.denied.value.map(({ expiresSec, ...f }: any) => (expect(expiresSec).toBeGreaterThan(50), f));
  expect(read.sort((a: any, b: any) => key(a).localeCompare(key(b)))).toEqual(listed.sort((a, b) => key(a).localeCompare(key(b))));
  expect(read.map((f: any) => `${f.destination} ${f.protocol} ${f.port} ${f.reason}`).sort()).toEqual([
    "198.51.100.66 tcp 443 default",
    "198.51.100.7 udp 53 dns",
    "2001:db8:100::66 tcp 80 cidr",
    "203.0.113.153 tcp 853 dot",
  ]);
});

test("named counters match nft's", async () => {
  await mustApply(lab, POLICY);
  const out = await run(READER, { counters: true });
  const listed = JSON.parse((await nft(lab, "-j", "list", "counters", "table", "inet", "egressctl")).stdout).nftables.filter((o: any) => o.counter);
  const read = (list: { name: string; packets: number; bytes: number }[]) => list.map((c) => `${c.name} ${c.packets} ${c.bytes}`).sort();
  expect(read(out.counters.value)).toEqual(read(listed.map((o: any) => o.counter)));
  expect(out.counters.value.map((c: any) => c.name)).toContain("denied_default");
});

test("a learned set at its size: a new element is refused as full (ENFILE), a re-add still lands", async () => {
  await nft(lab, "delete", "table", "inet", "egressctl");
  await mustApply(lab, POLICY);
  // the same table with a small bound: `add set` takes the new size and keeps the elements
  expect((await nft(lab, "add", "set", "inet", "egressctl", "learned4", "{ type ipv4_addr; flags timeout; timeout 300s; size 2; }")).code).toBe(0);
  const el = (address: string, timeoutSec = 300) => ({ family: 4, address, timeoutSec });
  expect(await run(WRITER, { groups: [{ name: "a.example.com", elements: [el("198.51.100.1"), el("198.51.100.2")] }] })).toEqual({ ok: true });
  const full = await run(WRITER, { groups: [{ name: "b.example.com", elements: [el("198.51.100.3")] }] });
  // typed: the errno is what the writer decides "full" by (isSetFull), not the message
  expect(full).toMatchObject({ ok: false, errno: Errno.ENFILE });
  expect(isSetFull(full.errno)).toBe(true);
  expect(full.error).toContain("ENFILE");
  expect(await run(WRITER, { groups: [{ name: "a.example.com", elements: [el("198.51.100.1", 600)] }] })).toEqual({ ok: true });
  const out = await run(READER, { learned: true });
  expect(out.learned.value.map((e: any) => e.address).sort()).toEqual(["198.51.100.1", "198.51.100.2"]);
});
