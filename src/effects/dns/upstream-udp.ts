// UDP to one upstream: a small pool of connected, marked sockets. Connected, so the
// kernel only delivers datagrams from the upstream's address and port, and ICMP port
// unreachable comes back as ECONNREFUSED (a dead upstream fails at once, not after the
// timeout). Each query gets a random ID unused on its socket and a socket of the pool
// chosen at random per turn of the event loop; an answer is accepted only if readAnswer matches ID and question, otherwise it
// is ignored and the attempt keeps waiting (the spoofing guard).
import type { udp } from "bun";
import { readAnswer } from "../../core/dns/answer.ts";
import type { Upstream } from "../../core/dns/upstreams.ts";
import { setMark } from "../sys/ffi-socket.ts";
import { connectedOutbox } from "./udp-outbox.ts";
import type { Attempt, Question } from "./upstream-types.ts";

/** sockets (source ports) per upstream */
export const UDP_POOL = 8;

interface Pending {
  q: Question & { id: number };
  done: (a: Attempt) => void;
}

interface Member {
  sock: udp.ConnectedSocket<"buffer">;
  send: (data: Buffer, failed: () => void) => void;
  pending: Map<number, Pending>;
}

export class UdpUpstream {
  private members: Member[] = [];
  /** answers that failed the ID/question check (hostile or late) */
  ignored = 0;

  private constructor(readonly upstream: Upstream) {}

  /** mark null: the sockets are not marked (no SO_MARK call, so no capability needed) */
  static async open(upstream: Upstream, mark: number | null): Promise<UdpUpstream> {
    const u = new UdpUpstream(upstream);
    try {
      for (let i = 0; i < UDP_POOL; i++) u.members.push(await u.member(mark));
    } catch (err) {
      u.close(); // the members opened before the failure
      throw err;
    }
    return u;
  }

  private async member(mark: number | null): Promise<Member> {
    const pending = new Map<number, Pending>();
    const sock = await Bun.udpSocket({
      hostname: this.upstream.family === 4 ? "0.0.0.0" : "::",
      connect: { hostname: this.upstream.address, port: this.upstream.port },
      socket: {
        data: (_s, buf) => this.receive(pending, buf),
        // ECONNREFUSED after ICMP unreachable: every query on this socket went to the
        // same dead upstream, so fail them all now. Unhandled, it would end the process.
        error: () => this.failAll(pending, "refused"),
      },
    });
    if (mark !== null) {
      try {
        setMark((sock as unknown as { fd: number }).fd, mark);
      } catch (err) {
        sock.close();
        throw err;
      }
    }
    return { sock, send: connectedOutbox(sock), pending };
  }

  private receive(pending: Map<number, Pending>, buf: Buffer): void {
    if (buf.length < 2) return void this.ignored++;
    const p = pending.get(buf.readUInt16BE(0));
    const info = p ? readAnswer(buf, p.q) : null;
    if (!p || !info) return void this.ignored++;
    p.done({ ok: true, answer: buf, info });
  }

  private failAll(pending: Map<number, Pending>, why: "refused" | "closed"): void {
    for (const p of [...pending.values()]) p.done({ ok: false, why });
  }

  /**
   * One attempt: resolves with the first matching answer, or a failure after timeoutMs.
   * The ID is written into `query` itself (no copy per attempt), and the datagram is
   * queued until the end of the event loop's turn (udp-outbox.ts): a caller must not use
   * the same buffer for another query in the same turn, or both leave with the last ID
   * (which is why the proxy's health probe builds a fresh query each time).
   */
  query(query: Buffer, q: Question, timeoutMs: number): Promise<Attempt> {
    const m = this.turnMember();
    let id = randomInt(65536);
    while (m.pending.has(id)) id = randomInt(65536);
    const msg = query;
    msg.writeUInt16BE(id, 0);
    return new Promise<Attempt>((resolve) => {
      const timer = setTimeout(() => done({ ok: false, why: "timeout" }), timeoutMs);
      const done = (a: Attempt) => {
        clearTimeout(timer);
        m.pending.delete(id);
        resolve(a);
      };
      m.pending.set(id, { q: { id, name: q.name, qtype: q.qtype, qclass: q.qclass }, done });
      m.send(msg, () => done({ ok: false, why: "error" }));
    });
  }

  /**
   * The socket of this turn of the event loop, chosen at random at its first query: the
   * turn's queries then leave in one sendmmsg (udp-outbox.ts) and their answers come
   * back on one socket, read in one recvmmsg. An off-path attacker still has to guess
   * the source port (which of the pool) and the ID of each query.
   */
  private turnMember(): Member {
    if (this.current) return this.current;
    const m = (this.current = this.members[randomInt(this.members.length)]!);
    setImmediate(() => (this.current = null));
    return m;
  }

  private current: Member | null = null;

  close(): void {
    for (const m of this.members) {
      this.failAll(m.pending, "closed");
      m.sock.close();
    }
  }
}

const rnd = new Uint32Array(256);
let rndAt = rnd.length;
/** Unpredictable integers for IDs and socket choice (crypto, refilled in batches). */
function randomInt(n: number): number {
  if (rndAt >= rnd.length) {
    crypto.getRandomValues(rnd);
    rndAt = 0;
  }
  return rnd[rndAt++]! % n;
}
