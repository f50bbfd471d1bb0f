// A learned address answered again must live longer, whatever the kernel: on Linux >= 6.10
// a re-add refreshes the element's timeout (measured at start-up), before that serve
// replaces the element in one transaction. Both ways are run here; the replace path is
// forced with EGRESSCTL_ELEMENT_REFRESH=replace, since this kernel refreshes by itself.
import { expect, test } from "bun:test";
import { Lab } from "../../support/lab.ts";
import { serveArgs, type Served } from "../../support/serve.ts";
import { serve, useLab } from "./helpers-serve.ts";
import { curl, dig } from "./clients.ts";

// one lab per file: Knot and the world's hosts; serves and the table removed after each test
let lab!: Lab;
let served: Served | null = null;
useLab((l) => void (lab = l));

/** seconds left on a learned4 element, from the kernel */
async function expires(address: string): Promise<number> {
  return (await element(address)).expires;
}

async function element(address: string): Promise<{ expires: number; comment?: string }> {
  const r = await lab.exec("sandbox", ["nft", "-j", "list", "set", "inet", "egressctl", "learned4"]);
  const el = JSON.parse(r.stdout).nftables.find((x: any) => x.set).set.elem?.find((e: any) => e.elem?.val === address);
  if (!el) throw new Error(`${address} is not in learned4`);
  return el.elem;
}

async function refreshedAfterWait(env: Record<string, string>): Promise<{ first: number; second: number; method: any }> {
  const p = lab.file(`p-${Math.random().toString(36).slice(2)}.yaml`, "egress:\n  - { action: allow, target: short.example.com }\n  - { action: allow, target: twin.example.com }\n");
  served = await serve(lab, serveArgs(p), { env: { OPENSANDBOX_EGRESS_DOH_BLOCKLIST: "", ...env } });
  const method = await served.waitEvent((e) => e.event === "learn.refresh");
  expect((await dig(lab, "short.example.com")).answers).toEqual(["A 198.51.100.12"]);
  const first = await expires("198.51.100.12");
  await Bun.sleep(2500);
  expect((await dig(lab, "short.example.com")).answers).toEqual(["A 198.51.100.12"]);
  const second = await expires("198.51.100.12");
  expect((await curl(lab, "http://short.example.com/")).body).toBe("ok 198.51.100.12 80");
  // the sentinel used to measure is gone
  const all = await lab.exec("sandbox", ["nft", "list", "set", "inet", "egressctl", "learned4"]);
  expect(all.stdout).not.toContain("0.0.0.1");
  return { first, second, method };
}

test("this kernel: measured as refreshing; an answer 2.5 s later does not shorten the element's life", async () => {
  const { first, second, method } = await refreshedAfterWait({});
  expect(method.method).toBe("refresh");
  expect(method.how).toMatch(/^measured/);
  expect(method.writer).toBe("netlink");
  // TTL 1 s is clamped to 60 s and written with headroom; within the headroom nothing is
  // rewritten, so the second look may be lower, but never below what the answer needs
  expect(first).toBeGreaterThanOrEqual(60);
  expect(second).toBeGreaterThanOrEqual(60 - 1);
  // another name answering with the same address changes nothing in the kernel
  expect((await dig(lab, "twin.example.com")).answers).toEqual(["A 198.51.100.12"]);
  expect((await element("198.51.100.12")).comment).toBe("short.example.com");
}, 30_000);

test("replace path: every answer replaces the element, so its life starts again", async () => {
  const { first, second, method } = await refreshedAfterWait({ EGRESSCTL_ELEMENT_REFRESH: "replace" });
  expect(method).toMatchObject({ method: "replace", how: "EGRESSCTL_ELEMENT_REFRESH", writer: "libnftables (not used with replace)" });
  expect(first).toBeGreaterThanOrEqual(55);
  // replaced 2.5 s later: as much life as the first had when it was new (the listing is in
  // whole seconds), where an element left alone would have 2-3 s less
  expect(second).toBeGreaterThanOrEqual(first);
  // and it really is a new element, not a re-add: it carries the name of the last answer
  // (a re-add keeps an element's first comment)
  expect((await element("198.51.100.12")).comment).toBe("short.example.com");
  expect((await dig(lab, "twin.example.com")).answers).toEqual(["A 198.51.100.12"]);
  expect((await element("198.51.100.12")).comment).toBe("twin.example.com");
}, 30_000);
