// Learned elements straight to the kernel over a NETLINK_NETFILTER socket, added and
// removed, bypassing libnftables: nft 1.0.6 re-reads every interval set of the table
// before each command, which makes one learn write cost milliseconds under a large static policy
// (docs/ruleset.md "Learning cost"). The messages are built in
// src/core/ruleset/netlink-elements.ts and the socket is netlink-socket.ts; this file
// sends batches and reads their acks.
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
import { batchLimits, splitBatches, type BatchLimits } from "../../core/ruleset/netlink-batches.ts";
import { buildBatch, forgetMessages, learnMessages, parseReplies, type SetElemMessage } from "../../core/ruleset/netlink-elements.ts";
import { NLMSG_ERROR } from "../../core/ruleset/netlink-messages.ts";
import { Errno, errnoText } from "../../core/errors/errno.ts";
import { MSG_DONTWAIT, openNetlinkSocket, recvFailure } from "./netlink-socket.ts";
import type { LearnedElement } from "../../core/ruleset/learn.ts";
import { isSetFull } from "../../core/learn/bounds.ts";

const { EAGAIN } = Errno;

/**
 * A failure carries the errno callers switch on: the kernel's refusal of a message (a
 * set-full one when any message got it, else the first), the errno of sendto or recv,
 * or ETIMEDOUT when an ack did not come within RECV_TIMEOUT_MS; null for what has none
 * (a short write, a closed writer, an address that cannot be encoded).
 */
export type NetlinkWriteResult = { ok: true } | { ok: false; error: string; errno: number | null };

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

export interface NetlinkWriterOptions {
  /** socket buffer size to ask for (tests: a small one, as a user-namespace container gets) */
  bufferBytes?: number;
  /** overrides of the limits read from the socket (tests: one unsplit batch, to overflow) */
  limits?: Partial<BatchLimits>;
}

/** Opens the socket; `unavailable` when this process cannot (no libc, no netlink, ...). */
export function openNetlinkWriter(options: NetlinkWriterOptions = {}): NetlinkWriter | { unavailable: string } {
  const sock = openNetlinkSocket(options.bufferBytes);
  if ("unavailable" in sock) return sock;
  const limits = { ...batchLimits(sock.buffers), ...options.limits };
  let seq = (Date.now() & 0x7fffffff) >>> 0;
  const rx = sock.rx;
  const recv = (flags: number) => sock.recv(flags);

  const send = (messages: readonly SetElemMessage[]): NetlinkWriteResult => {
    if (!sock.open) return { ok: false, error: "netlink writer is closed", errno: null };
    const chunks = splitBatches(messages, limits);
    for (const [i, chunk] of chunks.entries()) {
      const r = sendBatch(chunk);
      if (!r.ok) return chunks.length === 1 ? r : { ...r, error: `batch ${i + 1} of ${chunks.length}: ${r.error}` };
    }
    return { ok: true };
  };

  /** a wrong address (a bug) fails the write instead of throwing */
  const sendBuilt = (build: () => SetElemMessage[]): NetlinkWriteResult => {
    let messages: SetElemMessage[];
    try {
      messages = build();
    } catch (e) {
      return { ok: false, error: e instanceof Error ? e.message : String(e), errno: null };
    }
    return send(messages);
  };

  /** one batch, one transaction: sent, then every ack read */
  const sendBatch = (messages: readonly SetElemMessage[]): NetlinkWriteResult => {
    sock.drain(); // anything left over from an earlier batch (a timed-out one) goes first
    const batch = buildBatch(messages, seq);
    seq = (batch.end + 1) >>> 0;
    const sent = sock.send(batch.bytes);
    if (sent) return { ok: false, ...sent };
    const pending = new Set(batch.parts.map((p) => p.seq));
    const inBatch = (s: number) => (batch.begin <= batch.end ? s >= batch.begin && s <= batch.end : s >= batch.begin || s <= batch.end);
    const errors: string[] = [];
    let errno: number | null = null;
    // Until every message is answered; after the first error, only what is already queued
    // (the kernel reports the whole batch inside sendto()).
    while (pending.size > 0) {
      const n = recv(errors.length ? MSG_DONTWAIT : 0);
      if (n < 0) {
        if (errors.length && -n === EAGAIN) break;
        const f = recvFailure(n, `${pending.size} message(s) unanswered`);
        errno ??= f.errno;
        errors.push(f.error);
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
        const e = r.error ? Math.abs(r.error) : null;
        if (errno === null || (isSetFull(e) && !isSetFull(errno))) errno = e;
        if (r.seq === batch.begin) pending.clear(); // the batch as a whole failed
      }
    }
    return errors.length ? { ok: false, error: errors.join("; "), errno } : { ok: true };
  };

  return {
    kind: "netlink",
    limits,
    send,
    write: (groups) => sendBuilt(() => learnMessages(groups)),
    remove: (addresses) => sendBuilt(() => forgetMessages(addresses)),
    close: () => sock.close(),
  };
}
