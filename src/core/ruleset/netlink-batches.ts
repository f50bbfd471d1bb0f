// Splits one learn write into nfnetlink batches small enough for the socket that carries
// them. Why: every message (NEWSETELEM, DELSETELEM) is acked, the kernel queues all acks of a batch on the
// receive buffer inside sendto(), and an ack that does not fit is dropped (the reader
// then sees ENOBUFS). Where a larger buffer cannot be forced (a user-namespace container:
// SO_RCVBUFFORCE needs CAP_NET_ADMIN in the initial namespace) a turn with a few hundred
// names overflowed it. The sender's buffer bounds a batch too: netlink_sendmsg refuses
// (EMSGSIZE) a datagram longer than the send buffer. Pure; the socket and the limits
// read back from it are src/effects/nft/netlink-writer.ts.
//
// What splitting costs: each batch is one kernel transaction, all or nothing, but the
// batches of one write are separate transactions. That is safe for what is split here.
// A learn write is only additions (NEWSETELEM), each element independent of every
// other, each address at most once per write (the learn writer coalesces duplicates),
// so no batch can undo or reorder another's effect; a write that fails after some
// batches committed leaves those elements in the kernel: addresses the policy allowed,
// re-added harmlessly by the retry. A removal is additions with a 1 s timeout followed
// by deletions (forgetMessages), in that order: split anywhere, each address ends up
// deleted or, at worst, expiring within a second. An element REPLACEMENT (delete + add,
// kernels before 6.10) must never be split from its delete; it does not come here at
// all (it goes through libnftables as one transaction, src/app/serve/enforcer.ts).
import type { SetElemMessage } from "./netlink-elements.ts";
import { commentUdata } from "./netlink-elements.ts";
import { TABLE_NAME } from "./names.ts";
import { align4 } from "./netlink-messages.ts";

export interface BatchLimits {
  /** bytes of one batch on the wire, BATCH_BEGIN and BATCH_END included */
  maxBytes: number;
  /** set-element messages (so acks) in one batch */
  maxMessages: number;
}

// Sizes as buildBatch writes them (netlink-elements.ts); the unit test checks that every
// batch built from a chunk is no larger than estimated and holds one message per piece.
const NLMSG = 16 + 4; // nlmsghdr + nfgenmsg
const ATTR = 4;
const enc = new TextEncoder();
const strAttr = (s: string) => ATTR + align4(enc.encode(s).length + 1);
/** BATCH_BEGIN + BATCH_END */
const BATCH_FRAME = 2 * NLMSG;
/** the elements of one message stay below this (a nest's length is 16 bits); as buildBatch */
const MAX_NEST = 60_000;

/**
 * bytes of one element inside the ELEMENTS nest: LIST_ELEM { TIMEOUT, KEY { VALUE }, USERDATA }.
 * A delete carries only the KEY; counting it as an add over-estimates, which is safe, and
 * buildBatch counts it the same way, so each piece still becomes one message.
 */
function elementBytes(keyLength: number, udata: Uint8Array | null): number {
  return ATTR + (ATTR + 8) + (ATTR + ATTR + align4(keyLength)) + (udata ? ATTR + align4(udata.length) : 0);
}

/**
 * `messages` as chunks, in order, each to be sent as one batch: built by buildBatch, a
 * chunk is at most `maxBytes` long and holds at most `maxMessages` set-element messages
 * (a message is cut into pieces where its elements would outgrow one nest or the batch).
 * A single element larger than a whole batch (only with absurd limits) goes alone: the
 * kernel's refusal then says why. Empty messages are dropped; no messages, no chunks.
 */
export function splitBatches(messages: readonly SetElemMessage[], limits: BatchLimits): SetElemMessage[][] {
  const maxMessages = Math.max(1, Math.floor(limits.maxMessages));
  const chunks: SetElemMessage[][] = [];
  let chunk: SetElemMessage[] = [];
  let bytes = BATCH_FRAME;
  const close = () => {
    if (chunk.length) chunks.push(chunk);
    chunk = [];
    bytes = BATCH_FRAME;
  };
  for (const m of messages) {
    const udata = commentUdata(m.comment);
    const header = NLMSG + strAttr(TABLE_NAME) + strAttr(m.set) + ATTR;
    let i = 0;
    while (i < m.elements.length) {
      if (chunk.length >= maxMessages || bytes + header + elementBytes(m.elements[i]!.key.length, udata) > limits.maxBytes) close();
      const from = i;
      let size = 0;
      for (; i < m.elements.length; i++) {
        const e = elementBytes(m.elements[i]!.key.length, udata);
        if (i > from && (size + e > MAX_NEST || bytes + header + size + e > limits.maxBytes)) break;
        size += e;
      }
      chunk.push(from === 0 && i === m.elements.length ? m : { ...m, elements: m.elements.slice(from, i) });
      bytes += header + size;
    }
  }
  close();
  return chunks;
}

/**
 * What one queued ack costs the receive buffer: the kernel charges each ack's skb by
 * its truesize, not by its 36 bytes. Measured on Linux 6.18: about 840 bytes, for an
 * ack and for an error with its text alike (19 acks fit a 16 KiB buffer, 157 fit 128 KiB).
 */
export const ACK_COST = 1024;
/** netlink_sendmsg refuses (EMSGSIZE) a datagram longer than the send buffer less 32 */
const SEND_SLACK = 32;
/** what Linux gives a socket when nothing is asked (net.core.{r,w}mem_default) */
const DEFAULT_BUFFER = 212_992;

/**
 * Limits for a socket whose buffers (as getsockopt reports them; null when it could not
 * be read: the kernel's usual default is assumed) are `rcv` and `snd` bytes. Acks get
 * half the receive buffer: a margin for ACK_COST being a measurement of one kernel, and
 * for anything else queued on the socket.
 */
export function batchLimits(buffers: { rcv: number | null; snd: number | null }): BatchLimits {
  const rcv = buffers.rcv ?? DEFAULT_BUFFER;
  const snd = buffers.snd ?? DEFAULT_BUFFER;
  return { maxBytes: Math.max(1, snd - SEND_SLACK), maxMessages: Math.max(1, Math.floor(rcv / 2 / ACK_COST)) };
}
