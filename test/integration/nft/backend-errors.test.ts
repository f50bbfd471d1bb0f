// The kernel's refusals reach callers typed, through both nft backends (libnftables in
// process, the nft binary): each is provoked for real in a lab namespace and must come
// back with its errno, which is what serve and apply switch on (a missing table is
// "absent", EPERM is "no capability", EBUSY is retried). nft's own errors (syntax) carry
// no errno.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Errno } from "../../../src/core/errors/errno.ts";
import type { NftResult } from "../../../src/effects/nft/result.ts";
import type { Lab } from "../../support/lab.ts";
import { useBareLab } from "../../support/lab-hooks.ts";

const HARNESS = join(import.meta.dir, "backend-harness.ts");
/** root without CAP_NET_ADMIN, as an application beside serve runs */
const NO_NET_ADMIN = ["setpriv", "--inh-caps=-net_admin", "--bounding-set=-net_admin"];

let lab!: Lab;
useBareLab((l) => void (lab = l));

type Out = { kind: string; results: NftResult[]; listing: { value?: unknown; threw?: string } };

async function run(kind: string, scripts: string[], prefix: string[] = []): Promise<Out> {
  const r = await lab.exec("sandbox", [...prefix, process.execPath, HARNESS, kind], { stdin: JSON.stringify(scripts), timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`harness failed (${r.code}): ${r.stderr}`);
  const out = JSON.parse(r.stdout);
  if (out.unavailable) throw new Error(`backend ${kind} unavailable: ${out.unavailable}`);
  return out;
}

const errnos = (o: Out) => o.results.map((r) => (r.ok ? "ok" : r.errno));

describe.each(["library", "binary"])("the %s backend", (kind) => {
  test("a missing table is ENOENT, so a listing reads it as absent", async () => {
    const o = await run(kind, ["list table inet egressctl", "delete table inet egressctl"]);
    expect(o.kind).toBe(kind);
    expect(errnos(o)).toEqual([Errno.ENOENT, Errno.ENOENT]);
    expect(o.listing).toEqual({ value: null });
  });

  test("EBUSY (a chain still referenced), EEXIST (create of what exists); syntax errors carry none", async () => {
    const o = await run(kind, [
      "add table inet egressctl_t\nadd chain inet egressctl_t a\nadd chain inet egressctl_t b\nadd rule inet egressctl_t b jump a",
      "delete chain inet egressctl_t a",
      "create table inet egressctl_t",
      "add rule inet egressctl_t b frobnicate",
      "delete table inet egressctl_t",
    ]);
    expect(errnos(o)).toEqual(["ok", Errno.EBUSY, Errno.EEXIST, null, "ok"]);
  });

  test("without CAP_NET_ADMIN every change is EPERM, and a listing fails loudly rather than reading as absent", async () => {
    const o = await run(kind, ["add table inet egressctl_t"], NO_NET_ADMIN);
    expect(errnos(o)).toEqual([Errno.EPERM]);
    expect(o.listing.threw).toMatch(/cannot list table inet egressctl/);
  });
});
