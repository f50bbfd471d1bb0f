// TCP to an upstream, one connection per query: used when the client asked over TCP and
// to retry an answer that came back truncated over UDP. The socket is marked before it
// connects (marked-tcp.ts), so its SYN already carries the mark. The reply is read with
// 2-byte framing and at most one message (65535 bytes) is buffered.
import { readAnswer } from "../../core/dns/answer.ts";
import type { Upstream } from "../../core/dns/upstreams.ts";
import { exchangeMarkedTcp } from "../sys/marked-tcp.ts";
import type { Attempt, Question } from "./upstream-types.ts";

export async function tcpQuery(up: Upstream, query: Buffer, q: Question, timeoutMs: number, mark: number | null): Promise<Attempt> {
  const id = crypto.getRandomValues(new Uint16Array(1))[0]!;
  const msg = Buffer.alloc(2 + query.length);
  msg.writeUInt16BE(query.length, 0);
  query.copy(msg, 2);
  msg.writeUInt16BE(id, 2);
  const r = await exchangeMarkedTcp(up, mark, msg, (got): Attempt | undefined => {
    if (got.length < 2) return undefined;
    const len = got.readUInt16BE(0);
    if (got.length < 2 + len) return undefined;
    const answer = got.subarray(2, 2 + len);
    const info = readAnswer(answer, { ...q, id });
    return info ? { ok: true, answer: Buffer.from(answer), info } : { ok: false, why: "error" };
  }, { timeoutMs, maxBytes: 2 + 65535 });
  if (r.ok) return r.value;
  return { ok: false, why: r.why === "tls" || r.why === "certificate" ? "error" : r.why }; // no TLS here
}
