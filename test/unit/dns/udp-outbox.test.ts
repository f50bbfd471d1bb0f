import { afterEach, expect, test } from "bun:test";
import type { udp } from "bun";
import { connectedOutbox, replyOutbox } from "../../../src/effects/dns/udp-outbox.ts";

const opened: { close(): void }[] = [];
afterEach(() => {
  for (const s of opened.splice(0)) s.close();
});

/** a receiving socket on loopback and the datagrams it got, first byte each */
async function receiver(): Promise<{ port: number; got: number[]; waitFor(n: number): Promise<void> }> {
  const got: number[] = [];
  const s = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0, socket: { data: (_s, buf) => void got.push(buf[0]!) } });
  opened.push(s);
  return {
    port: s.port,
    got,
    async waitFor(n) {
      for (let i = 0; i < 200 && got.length < n; i++) await Bun.sleep(5);
    },
  };
}

async function sender(): Promise<udp.Socket<"buffer">> {
  const s = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
  opened.push(s);
  return s;
}

test("answers queued in one turn all arrive, in order, after the turn", async () => {
  const r = await receiver();
  const reply = replyOutbox(await sender());
  for (let i = 0; i < 50; i++) reply(Buffer.from([i]), r.port, "127.0.0.1");
  expect(r.got).toEqual([]); // nothing left before the end of the turn
  await r.waitFor(50);
  expect(r.got).toEqual(Array.from({ length: 50 }, (_, i) => i));
});

test("a destination the kernel refuses fails alone; the rest of the batch is sent", async () => {
  const r = await receiver();
  const reply = replyOutbox(await sender());
  const failed: number[] = [];
  reply(Buffer.from([1]), r.port, "127.0.0.1", { unsent: () => failed.push(1) });
  reply(Buffer.from([2]), 0, "127.0.0.1", { unsent: () => failed.push(2) }); // port 0: EINVAL
  reply(Buffer.from([3]), r.port, "127.0.0.1", { unsent: () => failed.push(3) });
  await r.waitFor(2);
  for (let i = 0; i < 100 && failed.length === 0; i++) await Bun.sleep(5);
  expect(r.got.sort()).toEqual([1, 3]);
  expect(failed).toEqual([2]);
});

test("a closed socket sends nothing and reports every queued datagram", async () => {
  const r = await receiver();
  const s = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0, connect: { hostname: "127.0.0.1", port: r.port } });
  const send = connectedOutbox(s);
  const failed: number[] = [];
  send(Buffer.from([1]), { unsent: () => failed.push(1) });
  send(Buffer.from([2]), { unsent: () => failed.push(2) });
  s.close();
  for (let i = 0; i < 100 && failed.length < 2; i++) await Bun.sleep(5);
  expect(failed).toEqual([1, 2]);
  expect(r.got).toEqual([]);
});

test("a connected socket's batch reaches its peer", async () => {
  const r = await receiver();
  const s = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0, connect: { hostname: "127.0.0.1", port: r.port } });
  opened.push(s);
  const send = connectedOutbox(s);
  for (let i = 0; i < 20; i++) send(Buffer.from([i]));
  await r.waitFor(20);
  expect(r.got).toEqual(Array.from({ length: 20 }, (_, i) => i));
});

test("a failure callback that sends again: its datagram leaves on the next turn, and the boxes keep working", async () => {
  const r = await receiver();
  const reply = replyOutbox(await sender());
  // port 0 is refused (EINVAL); its callback sends to the receiver instead
  reply(Buffer.from([1]), 0, "127.0.0.1", { unsent: () => reply(Buffer.from([2]), r.port, "127.0.0.1") });
  reply(Buffer.from([3]), r.port, "127.0.0.1");
  await r.waitFor(2);
  expect(r.got.sort()).toEqual([2, 3]);
  // many turns later, one datagram alone and then a batch still arrive whole
  reply(Buffer.from([4]), r.port, "127.0.0.1");
  await r.waitFor(3);
  for (let i = 5; i < 25; i++) reply(Buffer.from([i]), r.port, "127.0.0.1");
  await r.waitFor(23);
  expect(r.got.sort((a, b) => a - b)).toEqual([2, 3, ...Array.from({ length: 21 }, (_, i) => i + 4)]);
});
