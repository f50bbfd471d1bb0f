// Learned elements straight to the kernel over a NETLINK_NETFILTER socket, added and
// removed, bypassing libnftables: nft 1.0.6 re-reads every interval set of the table
// before each command, which makes one learn write cost milliseconds under a large static policy
// (docs/ruleset.md "Learning cost"). The messages are built in
// src/core/ruleset/netlink-elements.ts; this file only owns the socket.
//
// One socket for the life of the process, opened in the network namespace of the caller.
// One batch = one transaction: the kernel handles the batch inside sendto() and queues
// one NLMSG_ERROR per message (0 = ack) before sendto() returns, so the acks are read
// with a blocking recv bounded by SO_RCVTIMEO (a missing ack cannot hang serve). Replies
// carry the sequence numbers of their batch; anything else (a late reply of an earlier
// batch) is skipped.
//
// One write is as many batches as the socket's buffers need (src/core/ruleset/
// netlink-batches.ts says why, and why splitting is safe for what is sent here): the buffers
// actually in force are read back after asking for large ones, since the kernel may
// grant less (no CAP_NET_ADMIN in the initial user namespace, net.core.rmem_max). The
// batches go one after the other; the first that fails ends the write with its error.
import { dlopen, FFIType, ptr, read } from "bun:ffi";
import { batchLimits, splitBatches, type BatchLimits } from "../../core/ruleset/netlink-batches.ts";
import { buildBatch, errnoText, forgetMessages, learnMessages, NLMSG_ERROR, parseReplies, type SetElemMessage } from "../../core/ruleset/netlink-elements.ts";
import type { LearnedElement } from "../../core/ruleset/learn.ts";

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_NETFILTER = 12;
const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
const SO_RCVTIMEO = 20;
const SO_SNDBUFFORCE = 32;
const SO_RCVBUFFORCE = 33;
const SOL_NETLINK = 270;
const NETLINK_CAP_ACK = 10;
const NETLINK_EXT_ACK = 11;
const MSG_DONTWAIT = 0x40;
const EINTR = 4;
const EIO = 5;
const EAGAIN = 11;
/** socket buffers asked for: room for a large batch and for an ack per message of it */
const BUFFER = 4 << 20;
const RECV_TIMEOUT_MS = 2000;

export type NetlinkWriteResult = { ok: true } | { ok: false; error: string };

export interface NetlinkWriter {
  readonly kind: "netlink";
  /** how large one batch may be on this socket (from the buffers in force) */
  readonly limits: BatchLimits;
  /**
   * adds every group's elements, each group's name as their comment: one transaction per
   * batch, as many batches as `limits` need (most writes: one)
   */
  write(groups: readonly { name: string; elements: readonly LearnedElement[] }[]): NetlinkWriteResult;
  /** removes learned addresses (forgetMessages: add with 1 s, then delete) */
  remove(addresses: readonly { family: 4 | 6; address: string }[]): NetlinkWriteResult;
  /** the same for prepared messages (tests: elements a group could not express) */
  send(messages: readonly SetElemMessage[]): NetlinkWriteResult;
  close(): void;
}

function load() {
  return dlopen("libc.so.6", {
    socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    bind: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    setsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    getsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    sendto: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i64_fast },
    recv: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64_fast },
    close: { args: [FFIType.i32], returns: FFIType.i32 },
    __errno_location: { args: [], returns: FFIType.ptr },
  }).symbols;
}

/** sockaddr_nl of the kernel (and, for bind, of "any port id"): family, pad, pid 0, groups 0 */
function sockaddrNl(): Uint8Array {
  const sa = new Uint8Array(12);
  new DataView(sa.buffer).setUint16(0, AF_NETLINK, true);
  return sa;
}

export interface NetlinkWriterOptions {
  /** socket buffer size to ask for (tests: a small one, as a user-namespace container gets) */
  bufferBytes?: number;
  /** overrides of the limits read from the socket (tests: one unsplit batch, to overflow) */
  limits?: Partial<BatchLimits>;
}

/** Opens the socket; `unavailable` when this process cannot (no libc, no netlink, ...). */
export function openNetlinkWriter(options: NetlinkWriterOptions = {}): NetlinkWriter | { unavailable: string } {
  let c: ReturnType<typeof load>;
  try {
    c = load();
  } catch (e) {
    return { unavailable: `cannot load libc: ${e instanceof Error ? e.message : String(e)}` };
  }
  const errno = () => {
    const p = c.__errno_location();
    return p ? read.i32(p, 0) : 0;
  };
  const fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0) return { unavailable: `netlink socket: ${errnoText(errno())}` };
  const opt = (level: number, name: number, value: Uint8Array) => c.setsockopt(fd, level, name, ptr(value), value.length) === 0;
  const int = (v: number) => new Uint8Array(new Int32Array([v]).buffer);
  const sa = sockaddrNl();
  if (c.bind(fd, ptr(sa), sa.length) !== 0) {
    const e = errno();
    c.close(fd);
    return { unavailable: `netlink bind: ${errnoText(e)}` };
  }
  const tv = new BigInt64Array([BigInt(Math.floor(RECV_TIMEOUT_MS / 1000)), BigInt((RECV_TIMEOUT_MS % 1000) * 1000)]);
  if (!opt(SOL_SOCKET, SO_RCVTIMEO, new Uint8Array(tv.buffer))) {
    const e = errno();
    c.close(fd);
    return { unavailable: `netlink SO_RCVTIMEO: ${errnoText(e)}` };
  }
  // Larger buffers need CAP_NET_ADMIN (FORCE) or are capped by sysctl; best effort both,
  // then read back what is in force: that, not what was asked, bounds a batch.
  const want = options.bufferBytes ?? BUFFER;
  if (!opt(SOL_SOCKET, SO_SNDBUFFORCE, int(want))) opt(SOL_SOCKET, SO_SNDBUF, int(want));
  if (!opt(SOL_SOCKET, SO_RCVBUFFORCE, int(want))) opt(SOL_SOCKET, SO_RCVBUF, int(want));
  const got = (name: number): number | null => {
    const v = new Int32Array(1);
    const len = new Uint32Array([4]);
    return c.getsockopt(fd, SOL_SOCKET, name, ptr(v), ptr(len)) === 0 ? v[0]! : null;
  };
  const limits = { ...batchLimits({ rcv: got(SO_RCVBUF), snd: got(SO_SNDBUF) }), ...options.limits };
  // acks without the echoed request; error texts when the kernel has one (best effort)
  opt(SOL_NETLINK, NETLINK_CAP_ACK, int(1));
  opt(SOL_NETLINK, NETLINK_EXT_ACK, int(1));

  const rx = new Uint8Array(64 << 10);
  const rxp = ptr(rx);
  let seq = (Date.now() & 0x7fffffff) >>> 0;
  let open = true;

  /** recv one datagram; its length, or -errno */
  const recv = (flags: number): number => {
    for (;;) {
      const n = Number(c.recv(fd, rxp, rx.length, flags));
      if (n >= 0) return n;
      // errno read after another FFI call may have been cleared: never report 0 (which
      // would read as an empty datagram and wait again)
      const e = errno() || EIO;
      if (e !== EINTR) return -e;
    }
  };

  const send = (messages: readonly SetElemMessage[]): NetlinkWriteResult => {
    if (!open) return { ok: false, error: "netlink writer is closed" };
    const chunks = splitBatches(messages, limits);
    for (const [i, chunk] of chunks.entries()) {
      const r = sendBatch(chunk);
      if (!r.ok) return chunks.length === 1 ? r : { ok: false, error: `batch ${i + 1} of ${chunks.length}: ${r.error}` };
    }
    return { ok: true };
  };

  /** a wrong address (a bug) fails the write instead of throwing */
  const sendBuilt = (build: () => SetElemMessage[]): NetlinkWriteResult => {
    let messages: SetElemMessage[];
    try {
      messages = build();
    } catch (e) {
      return { ok: false, error: e instanceof Error ? e.message : String(e) };
    }
    return send(messages);
  };

  /** one batch, one transaction: sent, then every ack read */
  const sendBatch = (messages: readonly SetElemMessage[]): NetlinkWriteResult => {
    // anything left over from an earlier batch (a timed-out one) goes first
    while (recv(MSG_DONTWAIT) > 0);
    const batch = buildBatch(messages, seq);
    seq = (batch.end + 1) >>> 0;
    const dest = sockaddrNl();
    for (;;) {
      const n = Number(c.sendto(fd, ptr(batch.bytes), batch.bytes.length, 0, ptr(dest), dest.length));
      if (n === batch.bytes.length) break;
      const e = n < 0 ? errno() || EIO : 0;
      if (e === EINTR) continue;
      return { ok: false, error: n < 0 ? `netlink sendto: ${errnoText(e)}` : `netlink sendto: short write (${n} of ${batch.bytes.length} bytes)` };
    }
    const pending = new Set(batch.parts.map((p) => p.seq));
    const inBatch = (s: number) => (batch.begin <= batch.end ? s >= batch.begin && s <= batch.end : s >= batch.begin || s <= batch.end);
    const errors: string[] = [];
    // Until every message is answered; after the first error, only what is already queued
    // (the kernel reports the whole batch inside sendto()).
    while (pending.size > 0) {
      const n = recv(errors.length ? MSG_DONTWAIT : 0);
      if (n < 0) {
        if (errors.length && -n === EAGAIN) break;
        const why = -n === EAGAIN ? `no answer within ${RECV_TIMEOUT_MS} ms (${pending.size} message(s) unanswered)` : errnoText(-n);
        errors.push(`netlink recv: ${why}`);
        break;
      }
      for (const r of parseReplies(rx.subarray(0, n))) {
        if (!inBatch(r.seq) || r.type !== NLMSG_ERROR) continue;
        pending.delete(r.seq);
        if (r.error === 0) continue;
        const part = batch.parts.find((p) => p.seq === r.seq);
        const what = part
          ? `${part.remove ? "removing" : "adding"} ${part.count} element(s) ${part.remove ? "from" : "to"} ${part.set}${part.comment ? ` (${part.comment})` : ""}`
          : "the batch";
        errors.push(`netlink: ${what}: ${errnoText(r.error ?? 0)}${r.message ? `: ${r.message}` : ""}`);
        if (r.seq === batch.begin) pending.clear(); // the batch as a whole failed
      }
    }
    return errors.length ? { ok: false, error: errors.join("; ") } : { ok: true };
  };

  return {
    kind: "netlink",
    limits,
    send,
    write: (groups) => sendBuilt(() => learnMessages(groups)),
    remove: (addresses) => sendBuilt(() => forgetMessages(addresses)),
    close() {
      if (open) c.close(fd);
      open = false;
    },
  };
}
