// Datagrams leave at the end of the event loop's turn, all of one socket in one
// sendmmsg. Bun hands every datagram of a read to its own callback and runs the
// promises each one settles before the next, so the answers (and upstream queries) that
// one turn completes would otherwise cost a system call each; on a busy proxy one turn
// completes dozens. setImmediate runs once the turn's I/O callbacks are done and before
// the loop waits again, so a datagram waits for nothing but the rest of its turn.
//
// A socket that takes only part of a batch (its buffer is full) or refuses it (an error
// for one destination) gets the rest one by one, so one bad destination costs only its
// own datagram; each datagram that could not be sent is reported to its `failed`
// (an object rather than a closure: the UDP upstream passes the attempt itself, so a
// query allocates nothing for a failure that almost never happens).
//
// Nothing is allocated per turn: each box fills one pair of arrays while the other pair
// is being sent, and a lone datagram (every turn of a lightly loaded proxy) goes with
// send(). At 5,000 queries a second a per-turn outbox added about a kilobyte of garbage
// per forwarded query to the minimal forwarder; these two took 7% off serve's total
// (docs/benchmarks.md).
import type { udp } from "bun";

/** told that its datagram could not be sent */
export interface Unsent {
  unsent(): void;
}

type Failed = Unsent | null;
type Arg = Buffer | number | string;

interface Box {
  /** sendMany's arguments: [data] for a connected socket, [data, port, address] otherwise */
  args: Arg[];
  failed: Failed[];
  /** the other pair, empty: swapped in while `args`/`failed` are sent */
  spareArgs: Arg[];
  spareFailed: Failed[];
  flushOne: (args: Arg[], at: number) => boolean;
  many: (args: Arg[]) => number;
  stride: number;
}

let waiting: Box[] = [];
let spareWaiting: Box[] = [];
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
  const boxes = waiting;
  waiting = spareWaiting;
  spareWaiting = boxes;
  for (let i = 0; i < boxes.length; i++) flush(boxes[i]!);
  boxes.length = 0;
}

function flush(box: Box): void {
  const { args, failed, stride } = box;
  const count = failed.length;
  // what a failure callback sends meanwhile goes into the other pair, for the next turn
  box.args = box.spareArgs;
  box.failed = box.spareFailed;
  let sent = 0;
  if (count > 1) {
    try {
      sent = box.many(args);
    } catch {
      sent = 0;
    }
  }
  for (let i = Math.max(0, sent); i < count; i++) {
    let ok = false;
    try {
      ok = box.flushOne(args, i * stride);
    } catch {
      ok = false;
    }
    if (!ok) failed[i]?.unsent();
  }
  args.length = 0;
  failed.length = 0;
  box.spareArgs = args;
  box.spareFailed = failed;
}

function newBox(stride: number, many: Box["many"], flushOne: Box["flushOne"]): Box {
  return { args: [], failed: [], spareArgs: [], spareFailed: [], stride, many, flushOne };
}

/** For a client-facing socket: send(data, port, address) queues one answer. */
export function replyOutbox(sock: udp.Socket<"buffer">): (data: Buffer, port: number, address: string, failed?: Unsent) => void {
  const box = newBox(
    3,
    (args) => (sock.closed ? 0 : sock.sendMany(args)),
    (args, at) => !sock.closed && sock.send(args[at] as Buffer, args[at + 1] as number, args[at + 2] as string),
  );
  return (data, port, address, failed) => {
    box.args.push(data, port, address);
    box.failed.push(failed ?? null);
    schedule(box);
  };
}

/** For a connected socket: send(data) queues one datagram to its peer. */
export function connectedOutbox(sock: udp.ConnectedSocket<"buffer">): (data: Buffer, failed?: Unsent) => void {
  const box = newBox(
    1,
    (args) => (sock.closed ? 0 : sock.sendMany(args as Buffer[])),
    (args, at) => !sock.closed && sock.send(args[at] as Buffer),
  );
  return (data, failed) => {
    box.args.push(data);
    box.failed.push(failed ?? null);
    schedule(box);
  };
}
