// The walk over the messages of one received netlink datagram, shared by the two readers
// of the kernel's replies: the acks of a learn batch (netlink-elements.ts parseReplies)
// and the replies of a dump (netlink-dump.ts dumpChunk). A datagram holds messages one
// after the other, each led by struct nlmsghdr (length, type, flags, seq, port id) and
// padded to 4 bytes; an NLMSG_ERROR carries its code (0 = ack, else -errno) right after
// the header. What each reader makes of a message stays with it. Pure: bytes in, headers
// out. Constants from the kernel uapi linux/netlink.h.

export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
/** sizeof(struct nlmsghdr) */
export const NLMSG_HDRLEN = 16;
export const align4 = (n: number) => (n + 3) & ~3;

/** One message's header, and where the message lies in the datagram. */
export interface NetlinkMessage {
  type: number;
  flags: number;
  seq: number;
  /** offset of the message (its header) in the datagram */
  at: number;
  /** the message's length, header included, unpadded */
  len: number;
  /** only for an NLMSG_ERROR long enough to hold its code: 0 = ack, else -errno */
  error?: number;
}

/**
 * The messages of a datagram, in order. Stops at a malformed length (shorter than a
 * header, or running past the datagram): what follows it cannot be found.
 */
export function netlinkMessages(buf: Uint8Array): NetlinkMessage[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: NetlinkMessage[] = [];
  let at = 0;
  while (at + NLMSG_HDRLEN <= buf.length) {
    const len = dv.getUint32(at, true);
    if (len < NLMSG_HDRLEN || at + len > buf.length) break;
    const m: NetlinkMessage = { type: dv.getUint16(at + 4, true), flags: dv.getUint16(at + 6, true), seq: dv.getUint32(at + 8, true), at, len };
    if (m.type === NLMSG_ERROR && len >= NLMSG_HDRLEN + 4) m.error = dv.getInt32(at + NLMSG_HDRLEN, true);
    out.push(m);
    at += align4(len);
  }
  return out;
}
