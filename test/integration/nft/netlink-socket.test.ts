// The netlink socket's shared steps (src/effects/nft/netlink-socket.ts) against the real
// kernel, in a lab namespace: drain() drops every reply already queued without waiting,
// so an exchange never reads an abandoned one's replies, and the socket works on after
// it; recvFailure turns a recv's -errno into the result the reader and writer give.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { Errno } from "../../../src/core/errors/errno.ts";
import type { Lab } from "../../support/lab.ts";
import { useBareLab } from "../../support/lab-hooks.ts";

const HARNESS = join(import.meta.dir, "netlink-socket-harness.ts");

let lab!: Lab;
useBareLab((l) => void (lab = l));

test("drain drops what earlier requests left queued, then the socket answers the next one; recv failures as results", async () => {
  const r = await lab.exec("sandbox", [process.execPath, HARNESS], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`harness failed (${r.code}): ${r.stderr}`);
  const out = JSON.parse(r.stdout);
  expect(out.unavailable).toBeUndefined();
  expect(out.queued).toBeGreaterThan(0); // a reply was waiting before any drain
  expect(out.drained).toBe(out.eagain); // after drain: nothing, and recv did not wait
  // the next request's own reply, to its end (no table here: an empty dump), none of the drained ones
  expect(out.reused).toEqual({ done: true, error: null, otherSeq: false });
  expect(out.failure).toEqual([
    { error: "netlink recv: no answer within 2000 ms", errno: Errno.ETIMEDOUT },
    { error: "netlink recv: no answer within 2000 ms (2 message(s) unanswered)", errno: Errno.ETIMEDOUT },
    { error: "netlink recv: EBADF (Bad file descriptor)", errno: Errno.EBADF },
  ]);
});
