// Datagrams leave at the end of the event loop's turn, all of one socket in one
// sendmmsg. Bun hands every datagram of a read to its own callback and runs the
// promises each one settles before the next, so the answers (and upstream queries) that
// one turn completes would otherwise cost a system call each; on a busy proxy one turn
// completes dozens. setImmediate runs once the turn's I/O callbacks are done and before
// the loop waits again, so a datagram waits for nothing but the rest of its turn.
//
// A socket that takes only part of a batch (its buffer is full) or refuses it (an error
// for one destination) gets the rest one by one, so one bad destination costs only its
// own datagram; each datagram that could not be sent is reported to its `failed`.
import type { udp } from "bun";

type Failed = (() => void) | null;

interface Box {
  /** sendMany's arguments: [data] for a connected socket, [data, port, address] otherwise */
  args: (Buffer | number | string)[];
  failed: Failed[];
  flushOne: (args: (Buffer | number | string)[], at: number) => boolean;
  many: (args: (Buffer | number | string)[]) => number;
  stride: number;
}

const waiting: Box[] = [];
let scheduled = false;

function schedule(box: Box): void {
  if (box.failed.length === 1) waiting.push(box);
  if (!scheduled) {
    scheduled = true;
    setImmediate(flushAll);
  }
}

function flushAll(): void {
  scheduled = false;
  // boxes added while flushing (a failure callback that sends) wait for the next turn
  const boxes = waiting.splice(0);
  for (const box of boxes) flush(box);
}

function flush(box: Box): void {
  const { args, failed, stride } = box;
  const count = failed.length;
  box.args = [];
  box.failed = [];
  let sent = 0;
  try {
    sent = box.many(args);
  } catch {
    sent = 0;
  }
  for (let i = Math.max(0, sent); i < count; i++) {
    let ok = false;
    try {
      ok = box.flushOne(args, i * stride);
    } catch {
      ok = false;
    }
    if (!ok) failed[i]?.();
  }
}

/** For a client-facing socket: send(data, port, address) queues one answer. */
export function replyOutbox(sock: udp.Socket<"buffer">): (data: Buffer, port: number, address: string, failed?: () => void) => void {
  const box: Box = {
    args: [],
    failed: [],
    stride: 3,
    many: (args) => (sock.closed ? 0 : sock.sendMany(args)),
    flushOne: (args, at) => !sock.closed && sock.send(args[at] as Buffer, args[at + 1] as number, args[at + 2] as string),
  };
  return (data, port, address, failed) => {
    box.args.push(data, port, address);
    box.failed.push(failed ?? null);
    schedule(box);
  };
}

/** For a connected socket: send(data) queues one datagram to its peer. */
export function connectedOutbox(sock: udp.ConnectedSocket<"buffer">): (data: Buffer, failed?: () => void) => void {
  const box: Box = {
    args: [],
    failed: [],
    stride: 1,
    many: (args) => (sock.closed ? 0 : sock.sendMany(args as Buffer[])),
    flushOne: (args, at) => !sock.closed && sock.send(args[at] as Buffer),
  };
  return (data, failed) => {
    box.args.push(data);
    box.failed.push(failed ?? null);
    schedule(box);
  };
}
