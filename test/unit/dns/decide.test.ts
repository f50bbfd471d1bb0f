import { describe, expect, test } from "bun:test";
import { decideQuery } from "../../../src/core/dns/decide.ts";
import { decider, dnsPacket, ede, query, rule } from "./helpers.ts";

/** the packet with ARCOUNT 1 (for an OPT record appended by hand) */
const withAr = (b: Buffer) => (b.writeUInt16BE(1, 10), b);
const decide = decider([rule(0, "allow", "api.example.com"), rule(2, "deny", "evil.example.com")]);

describe("decideQuery", () => {
  test("allowed name is forwarded with the first question and the client's OPT", () => {
    const a = decideQuery(query("API.Example.com", "AAAA", { edns: true }), decide);
    expect(a.kind).toBe("forward");
    if (a.kind !== "forward") return;
    expect(a.name).toBe("api.example.com");
    expect(a.qtype).toBe(28);
    expect(a.q.edns?.udpSize).toBe(4096);
    const fwd = dnsPacket.decode(a.query);
    expect(fwd.questions).toEqual([{ name: "API.Example.com", type: "AAAA", class: "IN" }]);
    expect(fwd.additionals?.[0]?.type).toBe("OPT");
    expect(fwd.flags! & dnsPacket.RECURSION_DESIRED).toBeTruthy();
  });

  test.each([
    ["evil.example.com", true, "blocked by egressctl rule egress[2] deny evil.example.com"],
    ["nothing.example.com", true, "blocked by egressctl default deny"],
    ["evil.example.com", false, null],
  ])("denied %s (edns %p) is NXDOMAIN with EDE %p", (name, edns, text) => {
    const a = decideQuery(query(name, "TXT", { edns, id: 777 }), decide);
    expect(a.kind).toBe("answer");
    if (a.kind !== "answer") return;
    const r = dnsPacket.decode(a.response);
    expect(r.id).toBe(777);
    expect((r as unknown as { rcode: string }).rcode).toBe("NXDOMAIN");
    expect(r.questions?.[0]?.name).toBe(name);
    expect(r.answers).toEqual([]);
    expect(ede(a.response)).toEqual(text === null ? null : { code: 15, text });
    expect(r.additionals?.length ?? 0).toBe(edns ? 1 : 0);
  });

  test("audit: what would be denied is forwarded, with the rule that would have denied it", () => {
    const a = decideQuery(query("evil.example.com", "A"), decide, true);
    expect(a.kind === "forward" && a.audited).toBe("rule egress[2] deny evil.example.com");
    const d = decideQuery(query("nothing.example.com", "A"), decide, true);
    expect(d.kind === "forward" && d.audited).toBe("default deny");
    const ok = decideQuery(query("api.example.com", "A"), decide, true);
    expect(ok.kind === "forward" && ok.audited).toBeUndefined();
  });

  test("audit: egressctl's own probe names are still answered locally, with the EDE that proves the redirect", () => {
    const a = decideQuery(query("selftest-1a2b.egressctl.invalid", "A", { edns: true }), decide, true);
    expect(a.kind).toBe("answer");
    if (a.kind === "answer") expect(ede(a.response)).toEqual({ code: 15, text: "blocked by egressctl default deny" });
  });

  test("only the first question decides, and only it goes upstream", () => {
    const two = dnsPacket.encode({ type: "query", id: 1, questions: [{ type: "A", name: "api.example.com" }, { type: "A", name: "secret.evil.example.com" }] });
    const a = decideQuery(two, decide);
    expect(a.kind).toBe("forward");
    if (a.kind === "forward") expect(dnsPacket.decode(a.query).questions?.length).toBe(1);
    const rev = dnsPacket.encode({ type: "query", id: 1, questions: [{ type: "A", name: "evil.example.com" }, { type: "A", name: "api.example.com" }] });
    expect(decideQuery(rev, decide).kind).toBe("answer");
  });

  test("a query that already is the upstream query goes as it came, its flags masked; any other is rebuilt", () => {
    const plain = query("api.example.com", "A", { edns: true });
    plain[2]! |= 0x04; // AA: a client has no business setting it, and it is not forwarded
    const a = decideQuery(plain, decide);
    expect(a.kind === "forward" && a.query).toBe(plain); // the same buffer, no copy
    expect(dnsPacket.decode(plain).flags! & dnsPacket.AUTHORITATIVE_ANSWER).toBe(0);
    expect(dnsPacket.decode(plain).flags! & dnsPacket.RECURSION_DESIRED).toBeTruthy();
    // an extra record after the OPT (a TSIG, say): rebuilt without it, the packet untouched
    const extra = Buffer.concat([query("api.example.com", "A", { edns: true }), Buffer.from([0, 0, 16, 0, 1, 0, 0, 0, 0, 0, 0])]);
    extra.writeUInt16BE(2, 10);
    const before = Buffer.from(extra);
    const b = decideQuery(extra, decide);
    if (b.kind !== "forward") throw new Error(`not forwarded: ${b.kind}`);
    expect(b.query).not.toBe(extra);
    expect(extra.equals(before)).toBe(true);
    expect(dnsPacket.decode(b.query).additionals?.map((r) => r.type)).toEqual(["OPT"]);
  });

  test("a label holding a dot or odd bytes can never match a policy name", () => {
    const q = Buffer.from(query("x.example.com"));
    // turn label "x" into "." : wire name \.example.com
    q[13] = 0x2e;
    const a = decideQuery(q, decider([], "allow"));
    expect(a.kind === "answer" && a.reason).toBe("denied");
  });

  test.each([
    ["empty", Buffer.alloc(0), "drop"],
    ["short header", Buffer.alloc(11), "drop"],
    ["a response", Buffer.from(dnsPacket.encode({ type: "response", id: 1, questions: [{ type: "A", name: "a.b" }] })), "drop"],
    ["no question", Buffer.from([0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]), "formerr"],
    ["truncated name", query("api.example.com").subarray(0, 20), "formerr"],
    ["pointer in the first question", Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]), "formerr"],
    ["absurd counts", Buffer.concat([Buffer.from([0, 1, 1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), query("a.b").subarray(12)]), "formerr"],
    ["trailing bytes", Buffer.concat([query("api.example.com"), Buffer.from([1, 2, 3])]), "formerr"],
    // a.b's name ends with its root byte at offset 16: an OPT owner pointing there is not the root itself (RFC 6891)
    ["OPT owned by a pointer to the root", withAr(Buffer.concat([query("a.b"), Buffer.from([0xc0, 16, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0])])), "formerr"],
    ["OPT cut short", withAr(Buffer.concat([query("a.b"), Buffer.from([0, 0, 41, 0x10, 0, 0, 0, 0])])), "formerr"],
    ["OPT data longer than the packet", withAr(Buffer.concat([query("a.b"), Buffer.from([0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 9])])), "formerr"],
  ])("malformed: %s -> %s", (_n, pkt, want) => {
    const a = decideQuery(pkt, decide);
    if (want === "drop") expect(a.kind).toBe("drop");
    else {
      expect(a.kind === "answer" ? (a.reason as string) : a.kind).toBe(want);
      if (a.kind === "answer") {
        expect(a.response.length).toBe(12);
        expect(a.response[3]! & 0xf).toBe(1);
      }
    }
  });

  test("opcode other than QUERY is NOTIMP", () => {
    const q = Buffer.from(query("api.example.com"));
    q[2] = (q[2]! & 0x87) | (5 << 3); // UPDATE
    const a = decideQuery(q, decide);
    expect(a.kind === "answer" && a.reason).toBe("notimp");
  });

  test("random bytes never throw", () => {
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 256);
    const base = query("api.example.com", "A", { edns: true });
    for (let i = 0; i < 20000; i++) {
      const b = i % 2 ? Buffer.from(base) : Buffer.alloc(rnd() + rnd(), 0);
      if (i % 2) for (let k = 0; k < 3; k++) b[rnd() % b.length] = rnd();
      else for (let k = 0; k < b.length; k++) b[k] = rnd();
      expect(() => decideQuery(b, decide)).not.toThrow();
    }
  });
});
