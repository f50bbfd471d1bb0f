// The walk over a netlink datagram's messages (src/core/ruleset/netlink-messages.ts) that
// the ack reader (parseReplies) and the dump reader (dumpChunk) share, and what each of
// them makes of it.
import { describe, expect, test } from "bun:test";
import { dumpChunk } from "../../../src/core/ruleset/netlink-dump.ts";
import { parseReplies } from "../../../src/core/ruleset/netlink-elements.ts";
import { NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, netlinkMessages } from "../../../src/core/ruleset/netlink-messages.ts";

const NEWSETELEM = (10 << 8) | 12;

/** one message: nlmsghdr (length unpadded), the payload, padding to 4 bytes */
function msg(type: number, flags: number, seq: number, payload: number[] = []): number[] {
  const len = NLMSG_HDRLEN + payload.length;
  const b = new Uint8Array((len + 3) & ~3);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, len, true);
  dv.setUint16(4, type, true);
  dv.setUint16(6, flags, true);
  dv.setUint32(8, seq, true);
  dv.setUint32(12, 4242, true); // port id: not read
  b.set(payload, NLMSG_HDRLEN);
  return [...b];
}
/** an NLMSG_ERROR with its code (and, as with NETLINK_CAP_ACK, the request's header) */
const err = (seq: number, code: number) => {
  const p = new Uint8Array(4 + NLMSG_HDRLEN);
  new DataView(p.buffer).setInt32(0, code, true);
  return msg(NLMSG_ERROR, 0x100, seq, [...p]);
};
const dgram = (...parts: number[][]) => new Uint8Array(parts.flat());

describe("netlinkMessages", () => {
  test("each message's header and place, padding skipped; an error's code", () => {
    const b = dgram(msg(NEWSETELEM, 0x2, 7, [1, 2, 3, 4, 5]), err(7, -2), msg(NLMSG_DONE, 0x2, 7, [0, 0, 0, 0]));
    expect(netlinkMessages(b)).toEqual([
      { type: NEWSETELEM, flags: 0x2, seq: 7, at: 0, len: 21 },
      { type: NLMSG_ERROR, flags: 0x100, seq: 7, at: 24, len: 36, error: -2 },
      { type: NLMSG_DONE, flags: 0x2, seq: 7, at: 60, len: 20 },
    ]);
  });

  test("an ack is error 0; an error message too short for its code has none", () => {
    expect(netlinkMessages(dgram(err(1, 0)))[0]!.error).toBe(0);
    expect(netlinkMessages(dgram(msg(NLMSG_ERROR, 0, 1)))).toEqual([{ type: NLMSG_ERROR, flags: 0, seq: 1, at: 0, len: 16 }]);
  });

  test("stops at a length shorter than a header or running past the datagram", () => {
    const short = msg(NEWSETELEM, 0, 2);
    short[0] = 8; // shorter than nlmsghdr
    expect(netlinkMessages(dgram(msg(NEWSETELEM, 0, 1), short, msg(NEWSETELEM, 0, 3))).map((m) => m.seq)).toEqual([1]);
    expect(netlinkMessages(dgram(msg(NEWSETELEM, 0, 1), err(2, 0).slice(0, 20))).map((m) => m.seq)).toEqual([1]);
    expect(netlinkMessages(new Uint8Array(0))).toEqual([]);
  });

  test("reads a view into a larger buffer from the view's start", () => {
    const whole = new Uint8Array([9, 9, 9, 9, ...err(5, -16)]);
    expect(netlinkMessages(whole.subarray(4))).toEqual([{ type: NLMSG_ERROR, flags: 0x100, seq: 5, at: 0, len: 36, error: -16 }]);
  });
});

describe("dumpChunk", () => {
  test("the dump's messages, then done at NLMSG_DONE; replies of another sequence number skipped", () => {
    const c = dumpChunk(dgram(msg(NEWSETELEM, 0x2, 8, [1, 2, 3, 4]), msg(NEWSETELEM, 0x2, 9, [1, 2, 3, 4]), err(8, -2)), 9);
    expect(c).toEqual({ messages: [{ type: NEWSETELEM, flags: 0x2, seq: 9, at: 20, len: 20 }], done: false, error: null });
    expect(dumpChunk(dgram(msg(NLMSG_DONE, 0x2, 9, [0, 0, 0, 0])), 9)).toEqual({ messages: [], done: true, error: null });
  });

  test("an error ends the dump with -errno; an ack ends it without one; a code-less error is EIO", () => {
    expect(dumpChunk(dgram(err(3, -2)), 3)).toEqual({ messages: [], done: true, error: -2 });
    expect(dumpChunk(dgram(err(3, 0)), 3)).toEqual({ messages: [], done: true, error: null });
    expect(dumpChunk(dgram(msg(NLMSG_ERROR, 0, 3)), 3)).toEqual({ messages: [], done: true, error: -5 });
  });
});

describe("parseReplies over the same walk", () => {
  test("every message, whatever its sequence number; error only on error messages", () => {
    expect(parseReplies(dgram(msg(NEWSETELEM, 0, 1, [1]), err(2, -16), msg(NLMSG_ERROR, 0, 3)))).toEqual([
      { type: NEWSETELEM, flags: 0, seq: 1 },
      { type: NLMSG_ERROR, flags: 0x100, seq: 2, error: -16 },
      { type: NLMSG_ERROR, flags: 0, seq: 3 },
    ]);
  });
});
