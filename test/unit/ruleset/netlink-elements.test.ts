// The raw-netlink learn batch (src/core/ruleset/netlink-elements.ts): the bytes nft itself
// sends for the same element, alignment, IPv6, the comment as libnftnl encodes it, and
// the reading of the kernel's replies.
import { describe, expect, test } from "bun:test";
import {
  addressKey, buildBatch, buildLearnBatch, commentUdata, forgetMessages, NLA_F_NESTED, NLM_F_ACK, NLM_F_CREATE, NLM_F_REQUEST, parseReplies,
} from "../../../src/core/ruleset/netlink-elements.ts";
import { NLMSG_ERROR } from "../../../src/core/ruleset/netlink-messages.ts";

const hex = (s: string) => Uint8Array.from(s.replace(/\s+/g, "").match(/../g)!.map((h) => parseInt(h, 16)));
const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex");

// What nft 1.0.6 sent (strace -xx, Linux 6.18) for
//   add element inet egressctl learned4 { 203.0.113.7 timeout 90s comment "example.com" }
// BATCH_BEGIN (seq 0), NEWSETELEM (seq 1), BATCH_END (seq 2). Ours differs in two ways
// only: NLM_F_ACK on the NEWSETELEM (every message is answered), and no
// NFTA_SET_ELEM_LIST_SET_ID (which names a set created in the same batch; ours exist).
const NFT_BEGIN = "14000000 1000 0100 00000000 00000000 00 00 000a";
const NFT_ELEM_HDR = "70000000 0c0a 0104 01000000 00000000 01 00 0000";
const NFT_TABLE = "0e00 0100 65677265737363746c00 0000"; // "egressctl\0", padded
const NFT_SET = "0d00 0200 6c6561726e65643400 000000"; // "learned4\0", padded
const NFT_SET_ID = "0800 0400 00000001";
const NFT_ELEMENTS =
  "3400 0380" + // NFTA_SET_ELEM_LIST_ELEMENTS, nested
  "3000 0180" + // NFTA_LIST_ELEM, nested
  "0c00 0400 0000000000015f90" + // NFTA_SET_ELEM_TIMEOUT: 90000 ms, big-endian u64
  "0c00 0180 0800 0100 cb007107" + // NFTA_SET_ELEM_KEY { NFTA_DATA_VALUE 203.0.113.7 }
  "1200 0600 000c 6578616d706c652e636f6d00 0000"; // NFTA_SET_ELEM_USERDATA: comment udata
const NFT_END = "14000000 1100 0100 02000000 00000000 00 00 000a";

describe("buildLearnBatch", () => {
  test("one element: nft's own bytes, plus NLM_F_ACK, minus the set id", () => {
    const nft = hex(NFT_BEGIN + NFT_ELEM_HDR + NFT_TABLE + NFT_SET + NFT_SET_ID + NFT_ELEMENTS + NFT_END);
    expect(nft.length).toBe(152); // what sendmsg returned
    const ours = hex(NFT_BEGIN + NFT_ELEM_HDR.replace("70000000 0c0a 0104", "68000000 0c0a 0504") + NFT_TABLE + NFT_SET + NFT_ELEMENTS + NFT_END);
    const b = buildLearnBatch([{ name: "example.com", elements: [{ family: 4, address: "203.0.113.7", timeoutSec: 90 }] }], 0);
    expect(toHex(b.bytes)).toBe(toHex(ours));
    expect(b).toMatchObject({ begin: 0, end: 2, parts: [{ seq: 1, set: "learned4", comment: "example.com", count: 1 }] });
  });

  test("header fields: flags, type, family, big-endian res_id on begin/end", () => {
    const b = buildLearnBatch([{ name: "a.example", elements: [{ family: 6, address: "2001:db8::1", timeoutSec: 60 }] }], 7);
    const dv = new DataView(b.bytes.buffer);
    expect(dv.getUint16(4, true)).toBe(0x10);
    expect(dv.getUint16(18, false)).toBe(10); // NFNL_SUBSYS_NFTABLES, network order
    expect(dv.getUint32(8, true)).toBe(7);
    expect(dv.getUint16(20 + 4, true)).toBe((10 << 8) | 12);
    expect(dv.getUint16(20 + 6, true)).toBe(NLM_F_REQUEST | NLM_F_CREATE | NLM_F_ACK);
    expect(b.bytes[20 + 16]).toBe(1); // NFPROTO_INET
    expect(dv.getUint32(20 + 8, true)).toBe(8);
    expect(b.end).toBe(9);
    const end = b.bytes.length - 20;
    expect(dv.getUint16(end + 4, true)).toBe(0x11);
    expect(dv.getUint16(end + 18, false)).toBe(10);
  });

  test("IPv6 key and timeouts in whole seconds (as renderLearn), at least 1 s", () => {
    const b = buildLearnBatch([{ name: "x", elements: [{ family: 6, address: "2001:db8::ab", timeoutSec: 0.2 }, { family: 6, address: "2001:db8::cd", timeoutSec: 61.6 }] }], 0);
    const h = toHex(b.bytes);
    expect(h).toContain("14000100" + "20010db8000000000000000000000" + "0ab"); // NFTA_DATA_VALUE, 16 bytes
    expect(h).toContain("0c000400" + "00000000000003e8"); // 1000 ms
    expect(h).toContain("0c000400" + "000000000000f230"); // 62000 ms
    expect(b.parts).toEqual([{ seq: 1, set: "learned6", comment: "x", count: 2 }]);
  });

  test("groups split per set; every message and attribute is 4-byte aligned and lengths add up", () => {
    const b = buildLearnBatch(
      [
        { name: "abc.example", elements: [{ family: 4, address: "192.0.2.1", timeoutSec: 60 }, { family: 6, address: "2001:db8::1", timeoutSec: 60 }] },
        { name: "de.example", elements: [{ family: 4, address: "192.0.2.2", timeoutSec: 60 }] },
      ],
      100,
    );
    expect(b.parts.map((p) => [p.seq, p.set, p.comment])).toEqual([[101, "learned4", "abc.example"], [102, "learned6", "abc.example"], [103, "learned4", "de.example"]]);
    expect(b.end).toBe(104);
    const dv = new DataView(b.bytes.buffer);
    // walk: messages tile the buffer; inside each NEWSETELEM, attributes tile the payload
    let at = 0;
    let n = 0;
    const walk = (from: number, to: number, depth: number) => {
      let a = from;
      while (a < to) {
        expect(a % 4).toBe(0);
        const len = dv.getUint16(a, true);
        const type = dv.getUint16(a + 2, true);
        expect(len).toBeGreaterThanOrEqual(4);
        if (type & NLA_F_NESTED) walk(a + 4, a + len, depth + 1);
        a += (len + 3) & ~3;
      }
      expect(a).toBe(to);
    };
    while (at < b.bytes.length) {
      const len = dv.getUint32(at, true);
      expect(len % 4).toBe(0);
      if (dv.getUint16(at + 4, true) === ((10 << 8) | 12)) walk(at + 20, at + len, 0);
      at += len;
      n++;
    }
    expect(at).toBe(b.bytes.length);
    expect(n).toBe(5);
  });

  test("the comment is libnftnl's udata; a name over 128 bytes is left out, as renderLearn does", () => {
    expect(toHex(commentUdata("ab")!)).toBe("0003616200");
    expect(commentUdata("a".repeat(128))!.length).toBe(131);
    expect(commentUdata("a".repeat(129))).toBeNull();
    expect(commentUdata(undefined)).toBeNull();
    const long = buildLearnBatch([{ name: "a".repeat(129), elements: [{ family: 4, address: "192.0.2.1", timeoutSec: 60 }] }], 0);
    const none = buildLearnBatch([{ elements: [{ family: 4, address: "192.0.2.1", timeoutSec: 60 }] }], 0);
    expect(toHex(long.bytes)).toBe(toHex(none.bytes));
    expect(toHex(long.bytes)).not.toContain("0600"); // no NFTA_SET_ELEM_USERDATA
  });

  test("a large group is split into messages whose element nest fits 16 bits", () => {
    const elements = Array.from({ length: 3000 }, (_, i) => ({ family: 6 as const, address: `2001:db8::${i.toString(16)}`, timeoutSec: 60 }));
    const b = buildLearnBatch([{ name: "big.example", elements }], 0);
    expect(b.parts.length).toBeGreaterThan(1);
    expect(b.parts.reduce((s, p) => s + p.count, 0)).toBe(3000);
    const dv = new DataView(b.bytes.buffer);
    let at = 20;
    for (let i = 0; i < b.parts.length; i++) {
      const len = dv.getUint32(at, true);
      expect(len).toBeLessThan(65536);
      at += len;
    }
  });

  test("a wrong address throws (the writer reports it as a failed write)", () => {
    expect(() => buildLearnBatch([{ name: "x", elements: [{ family: 6, address: "192.0.2.1", timeoutSec: 60 }] }], 0)).toThrow("not an IPv6 address");
    expect(toHex(addressKey(4, "198.51.100.255"))).toBe("c63364ff");
  });

  test("an empty message list is just begin and end", () => {
    expect(buildBatch([], 5).bytes.length).toBe(40);
  });
});

/** an NLMSG_ERROR as the kernel sends it with NETLINK_CAP_ACK: error, then the request's header */
function ack(seq: number, error: number, text?: string): Uint8Array {
  const tlv = text ? new TextEncoder().encode(text + "\0") : null;
  const tlvLen = tlv ? (4 + tlv.length + 3) & ~3 : 0;
  const len = 16 + 4 + 16 + tlvLen;
  const b = new Uint8Array(len);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, len, true);
  dv.setUint16(4, NLMSG_ERROR, true);
  dv.setUint16(6, 0x100 | (tlv ? 0x200 : 0), true); // NLM_F_CAPPED, NLM_F_ACK_TLVS
  dv.setUint32(8, seq, true);
  dv.setInt32(16, error, true);
  dv.setUint32(20, 16, true);
  dv.setUint32(28, seq, true);
  if (tlv) {
    dv.setUint16(36, 4 + tlv.length, true);
    dv.setUint16(38, 1, true); // NLMSGERR_ATTR_MSG
    b.set(tlv, 40);
  }
  return b;
}

describe("removal (DELSETELEM)", () => {
  // What nft 1.0.6 sent for `delete element inet egressctl learned4 { 203.0.113.7 }`
  // (strace -xx, Linux 6.18): keys only. Ours adds NLM_F_ACK, as for every message.
  const NFT_DEL_HDR = "48000000 0e0a 0100 01000000 00000000 01 00 0000";
  const NFT_DEL_ELEMENTS = "1400 0380" + "1000 0180" + "0c00 0180 0800 0100 cb007107";

  test("one element: nft's own bytes, plus NLM_F_ACK", () => {
    const ours = hex(NFT_BEGIN + NFT_DEL_HDR.replace("0e0a 0100", "0e0a 0500") + NFT_TABLE + NFT_SET + NFT_DEL_ELEMENTS + NFT_END);
    const b = buildBatch([{ set: "learned4", comment: "ignored.example", elements: [{ key: addressKey(4, "203.0.113.7"), timeoutMs: 0 }], remove: true }], 0);
    expect(toHex(b.bytes)).toBe(toHex(ours));
  });

  test("forgetMessages: per family, an add with 1 s, then the delete of the same keys", () => {
    const m = forgetMessages([{ family: 4, address: "203.0.113.7" }, { family: 6, address: "2001:db8::1" }, { family: 4, address: "203.0.113.8" }]);
    expect(m.map((x) => [x.set, x.remove ?? false, x.elements.length, x.comment])).toEqual([
      ["learned4", false, 2, undefined], ["learned4", true, 2, undefined], ["learned6", false, 1, undefined], ["learned6", true, 1, undefined],
    ]);
    expect(m[0]!.elements.map((e) => e.timeoutMs)).toEqual([1000, 1000]);
    expect(toHex(m[1]!.elements[1]!.key)).toBe("cb007108");
    expect(forgetMessages([])).toEqual([]);
  });
});

describe("parseReplies", () => {
  test("an ack", () => {
    expect(parseReplies(ack(5, 0))).toEqual([{ type: NLMSG_ERROR, flags: 0x100, seq: 5, error: 0 }]);
  });

  test("an error, with the extended-ack text when there is one", () => {
    expect(parseReplies(ack(6, -2))[0]).toMatchObject({ seq: 6, error: -2 });
    expect(parseReplies(ack(6, -22, "bad key"))[0]).toMatchObject({ seq: 6, error: -22, message: "bad key" });
  });

  test("several messages in one datagram; a truncated tail is ignored", () => {
    const two = new Uint8Array([...ack(1, 0), ...ack(2, -16), ...ack(3, 0).slice(0, 20)]);
    expect(parseReplies(two).map((r) => [r.seq, r.error])).toEqual([[1, 0], [2, -16]]);
  });
});

describe("timeouts on the wire", () => {
  // a timeout attribute of 0 makes the kernel keep the element forever: never sent
  const timeoutOf = (timeoutMs: number) => {
    const b = buildBatch([{ set: "learned4", elements: [{ key: addressKey(4, "198.51.100.10"), timeoutMs }] }], 1).bytes;
    // NFTA_SET_ELEM_TIMEOUT (type 4, length 12): its 8 value bytes follow the header
    const i = toHex(b).indexOf("0c000400") / 2;
    return new DataView(b.buffer, b.byteOffset + i + 4, 8).getBigUint64(0, false);
  };
  test("at least one second, whatever is asked", () => {
    expect(timeoutOf(90_000)).toBe(90_000n);
    expect(timeoutOf(0)).toBe(1000n);
    expect(timeoutOf(-5)).toBe(1000n);
    expect(timeoutOf(Number.NaN)).toBe(1000n);
    expect(timeoutOf(Number.POSITIVE_INFINITY)).toBe(1000n);
  });
});
