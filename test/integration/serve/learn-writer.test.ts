// Which path serve's learn writes take: by default (this kernel refreshes re-added
// elements) the raw-netlink writer, with EGRESSCTL_LEARN_WRITER=nft libnftables. Told
// apart under strace: the netlink writer asks for an ack on its NEWSETELEM messages,
// nft 1.0.6 never does. Both leave the same element behind.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Lab, waitForText } from "../../support/lab.ts";
import { serveArgs, type Served } from "../../support/serve.ts";
import { serve, useLab } from "./helpers-serve.ts";
import { curl, dig } from "./clients.ts";

// one lab per file: Knot and the world's hosts; serves and the table removed after each test
let lab!: Lab;
let served: Served | null = null;
useLab((l) => void (lab = l));

async function learnUnderStrace(env: Record<string, string>): Promise<{ acked: number; plain: number; element: Record<string, unknown> }> {
  const trace = join(lab.dir, `strace-${Math.random().toString(36).slice(2)}.txt`);
  const p = lab.file(`p-${Math.random().toString(36).slice(2)}.yaml`, "egress:\n  - { action: allow, target: short.example.com }\n");
  served = await serve(lab, serveArgs(p), { env: { OPENSANDBOX_EGRESS_DOH_BLOCKLIST: "", ...env } });
  await served.waitEvent((e) => e.event === "learn.refresh");
  // attached to the running serve (not its parent: stopping a tracer that started serve
  // would leave serve running); detached again before serve is stopped
  const tracer = Bun.spawn(["strace", "-f", "-p", String(served.proc.pid), "-e", "trace=sendto,sendmsg", "-e", "signal=none", "-o", trace], { stdout: "ignore", stderr: "pipe" });
  try {
    // strace says so on stderr once it has attached to every thread of serve
    await waitForText(tracer.stderr, "attached", "strace attached", () => "strace exited before it attached");
    expect((await dig(lab, "short.example.com")).answers).toEqual(["A 198.51.100.12"]);
  } finally {
    tracer.kill("SIGTERM");
    await tracer.exited;
  }
  expect((await curl(lab, "http://short.example.com/")).body).toBe("ok 198.51.100.12 80");
  const r = await lab.exec("sandbox", ["nft", "-j", "list", "set", "inet", "egressctl", "learned4"]);
  const el = JSON.parse(r.stdout).nftables.find((x: any) => x.set).set.elem?.find((e: any) => e.elem?.val === "198.51.100.12");
  // strace names the type only when it knows the socket's protocol: 0xa0c is
  // NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWSETELEM
  const writes = [...readFileSync(trace, "utf8").matchAll(/nlmsg_type=(?:NFNL_SUBSYS_NFTABLES<<8\|NFT_MSG_NEWSETELEM|0xa0c[^,]*), nlmsg_flags=([^,]*),/g)].map((m) => m[1]!);
  return { acked: writes.filter((f) => f.includes("NLM_F_ACK")).length, plain: writes.filter((f) => !f.includes("NLM_F_ACK")).length, element: el?.elem };
}

test("by default, learned addresses go to the kernel over netlink", async () => {
  const { acked, plain, element } = await learnUnderStrace({});
  expect(acked).toBeGreaterThanOrEqual(1);
  expect(plain).toBe(0);
  expect(element).toMatchObject({ comment: "short.example.com" });
}, 30_000);

test("EGRESSCTL_LEARN_WRITER=nft: through libnftables, the same element", async () => {
  const { acked, plain, element } = await learnUnderStrace({ EGRESSCTL_LEARN_WRITER: "nft" });
  expect(acked).toBe(0);
  expect(plain).toBeGreaterThanOrEqual(1);
  expect(element).toMatchObject({ comment: "short.example.com" });
}, 30_000);
