// The raw-netlink learn writer (src/effects/nft/netlink-writer.ts) against the real kernel,
// in a lab namespace: what it writes lists exactly as what nft writes for the same
// elements (addresses, timeouts, expiry, comments); a missing table fails with ENOENT
// and changes nothing; a batch with one bad element commits nothing; a re-add refreshes
// the expiry; large batches and a reused socket work; a write too large for the socket's
// buffers (as in a user-namespace container) is split into batches that fit them.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Errno } from "../../../src/core/errors/errno.ts";
import { renderLearn, type LearnedElement } from "../../../src/core/ruleset/learn.ts";
import type { Lab } from "../../support/lab.ts";
import { useBareLab } from "../../support/lab-hooks.ts";
import { mustApply, nft, requireBinary } from "../apply/support.ts";

const HARNESS = join(import.meta.dir, "netlink-harness.ts");
const POLICY = "defaultAction: deny\negress:\n  - {action: allow, target: 198.51.100.0/24}\n  - {action: deny, target: 2001:db8:200::/64}\n";

type Group = { name: string; elements: LearnedElement[] };
type Result = { ok: true } | { ok: false; error: string; errno: number | null };
interface Elem {
  val: string;
  timeout: number;
  expires: number;
  comment?: string;
}

let lab!: Lab;
useBareLab((l) => void (lab = l), requireBinary);

async function harness(req: object): Promise<Result & { unavailable?: string }> {
  const r = await lab.exec("sandbox", [process.execPath, HARNESS], { stdin: JSON.stringify(req), timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`harness failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const write = (groups: Group[]) => harness({ groups });

async function nftLearn(groups: Group[]): Promise<void> {
  const r = await lab.exec("sandbox", ["nft", "-f", "-"], { stdin: groups.map((g) => renderLearn(g.elements, g.name)).join("") });
  if (r.code !== 0) throw new Error(r.stderr);
}

async function elements(set: "learned4" | "learned6"): Promise<Elem[]> {
  const r = await nft(lab, "-j", "list", "set", "inet", "egressctl", set);
  if (r.code !== 0) throw new Error(r.stderr);
  const s = JSON.parse(r.stdout).nftables.find((o: { set?: unknown }) => o.set).set;
  return (s.elem ?? []).map((e: { elem?: Elem } | string) => (typeof e === "string" ? { val: e } : e.elem!)).sort((a: Elem, b: Elem) => a.val.localeCompare(b.val));
}

/** both sets, with expiry dropped (a clock), for "exactly the same" */
async function learned(): Promise<{ v4: Omit<Elem, "expires">[]; v6: Omit<Elem, "expires">[] }> {
  const drop = (es: Elem[]) => es.map(({ expires: _e, ...rest }) => rest);
  return { v4: drop(await elements("learned4")), v6: drop(await elements("learned6")) };
}

async function flush(): Promise<void> {
  for (const s of ["learned4", "learned6"]) expect((await nft(lab, "flush", "set", "inet", "egressctl", s)).code).toBe(0);
}

const GROUPS: Group[] = [
  { name: "api.example", elements: [{ family: 4, address: "203.0.113.10", timeoutSec: 120 }, { family: 6, address: "2001:db8:300::10", timeoutSec: 120 }] },
  { name: "cdn.example", elements: [{ family: 4, address: "203.0.113.11", timeoutSec: 3600.4 }, { family: 4, address: "203.0.113.12", timeoutSec: 61 }] },
  { name: "x".repeat(129), elements: [{ family: 6, address: "2001:db8:300::11", timeoutSec: 86_400 }] },
];

describe("netlink learn writer", () => {
  test("without the table: ENOENT, and nothing is created", async () => {
    const r = await write([{ name: "a.example", elements: [{ family: 4, address: "203.0.113.20", timeoutSec: 60 }] }]);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toContain("ENOENT");
    expect(!r.ok && r.errno).toBe(Errno.ENOENT); // typed: what callers switch on
    expect((await nft(lab, "list", "table", "inet", "egressctl")).code).not.toBe(0);
    expect((await nft(lab, "list", "ruleset")).stdout.trim()).toBe("");
  });

  test("lists exactly as nft's own add element: addresses, timeouts, expiry, comments", async () => {
    await mustApply(lab, POLICY);
    expect(await write(GROUPS)).toEqual({ ok: true });
    const ours = await learned();
    const expiry = [...(await elements("learned4")), ...(await elements("learned6"))];
    await flush();
    await nftLearn(GROUPS);
    expect(await learned()).toEqual(ours);
    expect(ours.v4).toEqual([
      { val: "203.0.113.10", timeout: 120, comment: "api.example" },
      { val: "203.0.113.11", timeout: 3600, comment: "cdn.example" },
      { val: "203.0.113.12", timeout: 61, comment: "cdn.example" },
    ]);
    expect(ours.v6).toEqual([
      { val: "2001:db8:300::10", timeout: 120, comment: "api.example" },
      { val: "2001:db8:300::11", timeout: 86_400 }, // a name over 128 bytes is left out
    ]);
    for (const e of expiry) expect(e.timeout - e.expires).toBeLessThanOrEqual(5);
  });

  test("removal: the named addresses go, absent ones do not fail it, the others stay", async () => {
    await flush();
    expect(await write(GROUPS)).toEqual({ ok: true });
    const gone = [{ family: 4, address: "203.0.113.11" }, { family: 6, address: "2001:db8:300::10" }, { family: 4, address: "203.0.113.99" }];
    expect(await harness({ remove: gone })).toEqual({ ok: true });
    const left = await learned();
    expect(left.v4.map((e) => e.val)).toEqual(["203.0.113.10", "203.0.113.12"]);
    expect(left.v6.map((e) => e.val)).toEqual(["2001:db8:300::11"]);
    expect(left.v4.find((e) => e.val === "203.0.113.10")).toMatchObject({ timeout: 120, comment: "api.example" });
    // nothing at all to remove is fine too
    expect(await harness({ remove: [{ family: 4, address: "203.0.113.99" }] })).toEqual({ ok: true });
  });

  test("a batch with one bad element commits nothing", async () => {
    await flush();
    const v6 = [0x20, 0x01, 0x0d, 0xb8, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x30];
    const r = await harness({
      messages: [
        { set: "learned4", comment: "good.example", elements: [{ key: [203, 0, 113, 30], timeoutMs: 60_000 }] },
        // IPv4 bytes into the IPv6 set: the kernel rejects the key's length
        { set: "learned6", comment: "bad.example", elements: [{ key: v6, timeoutMs: 60_000 }, { key: [203, 0, 113, 31], timeoutMs: 60_000 }] },
      ],
    });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toContain("EINVAL");
    expect(!r.ok && r.errno).toBe(Errno.EINVAL);
    expect(!r.ok && r.error).toContain("learned6 (bad.example)");
    expect(await learned()).toEqual({ v4: [], v6: [] });
  });

  test("re-adding refreshes the expiry and keeps the first comment, as nft does", async () => {
    await flush();
    const a = "203.0.113.40";
    const b = "203.0.113.41";
    expect(await write([{ name: "first.example", elements: [{ family: 4, address: a, timeoutSec: 5 }] }])).toEqual({ ok: true });
    await nftLearn([{ name: "first.example", elements: [{ family: 4, address: b, timeoutSec: 5 }] }]);
    expect(await write([{ name: "second.example", elements: [{ family: 4, address: a, timeoutSec: 600 }] }])).toEqual({ ok: true });
    await nftLearn([{ name: "second.example", elements: [{ family: 4, address: b, timeoutSec: 600 }] }]);
    const [ea, eb] = await elements("learned4");
    expect(ea!.expires).toBeGreaterThan(590);
    expect({ ...ea, val: b, expires: 0 }).toEqual({ ...eb!, expires: 0 });
  });

  test("a reused socket and a batch larger than one message", async () => {
    await flush();
    const big = Array.from({ length: 3000 }, (_, i) => ({ family: 6 as const, address: `2001:db8:301::${i.toString(16)}`, timeoutSec: 400 }));
    const r = await harness({ groups: [{ name: "big.example", elements: big }, { name: "small.example", elements: [{ family: 4, address: "203.0.113.50", timeoutSec: 300 }] }] });
    expect(r).toEqual({ ok: true });
    const v6 = await elements("learned6");
    expect(v6.length).toBe(3000);
    expect(v6.filter((e) => e.comment !== "big.example" || e.timeout !== 400)).toEqual([]);
    const again: unknown = await harness({ repeat: 50, groups: [{ name: "small.example", elements: [{ family: 4, address: "203.0.113.51", timeoutSec: 300 }] }] });
    expect(again).toEqual(Array.from({ length: 50 }, () => ({ ok: true })));
    expect((await elements("learned4")).map((e) => e.val)).toEqual(["203.0.113.50", "203.0.113.51"]);
  });

  test("a write whose acks overflow a small receive buffer is split into batches that fit", async () => {
    await flush();
    // 400 names, one ack each; a 16 KiB buffer (32 KiB in force) holds about 39 acks
    // (measured), as a container that cannot force larger buffers would have far fewer
    // than a busy turn asks for. One 2000-element name is larger than the send buffer.
    const many: Group[] = Array.from({ length: 400 }, (_, i) => ({
      name: `n${i}.example`,
      elements: [i % 2 ? { family: 6, address: `2001:db8:302::${i.toString(16)}`, timeoutSec: 400 } : { family: 4, address: `203.0.113.${i / 2}`, timeoutSec: 400 }],
    }));
    const wide: Group = { name: "wide.example", elements: Array.from({ length: 2000 }, (_, i) => ({ family: 6 as const, address: `2001:db8:303::${(i + 1).toString(16)}`, timeoutSec: 400 })) };
    type Out = { result: Result; limits: { maxBytes: number; maxMessages: number } };
    const small = { bufferBytes: 16_384 };

    // unbounded, both failures are real. Acks without a bound on their count: lost
    // (ENOBUFS), though the kernel committed the batch
    const acks = (await harness({ options: { ...small, limits: { maxMessages: 1e9 } }, groups: many })) as unknown as Out;
    expect(!acks.result.ok && acks.result.error).toContain("ENOBUFS");
    expect(!acks.result.ok && acks.result.errno).toBe(Errno.ENOBUFS);
    const committed = (await elements("learned4")).length + (await elements("learned6")).length;
    expect(committed).toBeGreaterThan(100); // far more elements than acks that fit
    // bytes without a bound: the kernel refuses a datagram longer than the send buffer
    const bytes = (await harness({ options: { ...small, limits: { maxBytes: 1e9 } }, groups: [wide] })) as unknown as Out;
    expect(!bytes.result.ok && bytes.result.error).toContain("EMSGSIZE");
    expect(!bytes.result.ok && bytes.result.errno).toBe(Errno.EMSGSIZE);
    await flush();

    // split by the buffers in force, read back from the socket
    const split = (await harness({ options: small, groups: [...many, wide] })) as unknown as Out;
    expect(split.result).toEqual({ ok: true });
    expect(split.limits.maxMessages).toBeLessThan(many.length / 10);
    expect(split.limits.maxBytes).toBeLessThanOrEqual(2 * 16_384);
    const v4 = await elements("learned4");
    const v6 = await elements("learned6");
    expect(v4.length).toBe(200);
    expect(v6.length).toBe(200 + 2000);
    const want = new Map([...many.map((g) => [g.elements[0]!.address, g.name] as const), ...wide.elements.map((e) => [e.address, wide.name] as const)]);
    expect([...v4, ...v6].filter((e) => want.get(e.val) !== e.comment || e.timeout !== 400)).toEqual([]);
  });
});
