// TCP to an upstream, one connection per query: used when the client asked over TCP and
// to retry an answer that came back truncated over UDP. The socket is created and
// marked through libc before it connects, so its SYN already carries the mark (mark
// null: not marked at all). The reply is read with 2-byte framing and at most one
// message (65535 bytes) is buffered.
import { readAnswer } from "../../core/dns/answer.ts";
import type { Upstream } from "../../core/dns/upstreams.ts";
import { closeFd, connectMarkedTcp } from "../sys/ffi-socket.ts";
import type { Attempt, Question } from "./upstream-types.ts";

export async function tcpQuery(up: Upstream, query: Buffer, q: Question, timeoutMs: number, mark: number | null): Promise<Attempt> {
  let fd: number;
  try {
    fd = connectMarkedTcp(up.family, up.address, up.port, mark);
  } catch {
    return { ok: false, why: "refused" };
  }
  const id = crypto.getRandomValues(new Uint16Array(1))[0]!;
  const msg = Buffer.alloc(2 + query.length);
  msg.writeUInt16BE(query.length, 0);
  query.copy(msg, 2);
  msg.writeUInt16BE(id, 2);
  return new Promise<Attempt>((resolve) => {
    let settled = false;
    let sock: { end(): void } | null = null;
    let chunks: Buffer = Buffer.alloc(0);
    const finish = (a: Attempt) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock?.end();
      resolve(a);
    };
    const timer = setTimeout(() => finish({ ok: false, why: "timeout" }), timeoutMs);
    const opts = {
      fd,
      socket: {
        open(s: { write(b: Buffer): number; end(): void }) {
          sock = s;
          if (settled) return void s.end();
          if (s.write(msg) !== msg.length) finish({ ok: false, why: "error" }); // < 1 KB: fits the send buffer
        },
        data(_s: unknown, buf: Buffer) {
          chunks = chunks.length === 0 ? Buffer.from(buf) : Buffer.concat([chunks, buf]);
          if (chunks.length < 2) return;
          const len = chunks.readUInt16BE(0);
          if (chunks.length < 2 + len) return;
          const answer = chunks.subarray(2, 2 + len);
          const info = readAnswer(answer, { ...q, id });
          finish(info ? { ok: true, answer: Buffer.from(answer), info } : { ok: false, why: "error" });
        },
        close: () => finish({ ok: false, why: "closed" }),
        error: () => finish({ ok: false, why: "error" }),
        connectError: () => finish({ ok: false, why: "refused" }),
      },
    };
    // Bun owns the descriptor once it has adopted it (a failed connect then ends in
    // connectError/close, and Bun closes it). When it cannot adopt it, the promise
    // rejects (or the call throws) and the descriptor is still ours to close.
    let connecting: Promise<unknown>;
    try {
      connecting = Promise.resolve((Bun.connect as unknown as (o: typeof opts) => Promise<unknown>)(opts));
    } catch (err) {
      connecting = Promise.reject(err);
    }
    connecting.catch(() => {
      closeFd(fd);
      finish({ ok: false, why: "error" });
    });
  });
}
