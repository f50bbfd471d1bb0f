// UDP to one upstream: a small pool of connected, marked sockets. Connected, so the
// kernel only delivers datagrams from the upstream's address and port, and ICMP port
// unreachable comes back as ECONNREFUSED (a dead upstream fails at once, not after the
// timeout). Each query gets a random ID unused on its socket and the socket of the pool
// chosen at random for the current ROTATE_MS; an answer is accepted only if readAnswer
// matches ID and question, otherwise it is ignored and the attempt keeps waiting (the
// spoofing guard).
//
// Timeouts: one sweep every SWEEP_MS while attempts are waiting, not a timer per attempt.
// A timer per attempt (created, cancelled, and a closure to call) measured 0.1 us in a
// tight loop but about 1 us per query on the loaded DNS thread (timers are objects for
// the collector and entries in Bun's timer heap); the sweep costs nothing per query, and
// an attempt fails at most SWEEP_MS after its timeout (docs/dns.md "Upstreams").
import type { udp } from "bun";
import { readAnswer, type Expect } from "../../core/dns/answer.ts";
import type { Upstream } from "../../core/dns/upstreams.ts";
import { setMark } from "../sys/ffi-socket.ts";
import { connectedOutbox, type Unsent } from "./udp-outbox.ts";
import type { Attempt, AttemptWaiter, Question } from "./upstream-types.ts";

/** sockets (source ports) per upstream */
export const UDP_POOL = 8;
/** how often waiting attempts are checked for their timeout */
export const SWEEP_MS = 20;
/** how long the pool's socket chosen for sending stays the one */
export const ROTATE_MS = 100;

/**
 * An attempt waiting for its answer: what the answer must match (the ID and question),
 * who is told the outcome, and its end. It is also what the outbox tells when the query
 * could not be sent, so an attempt costs this one object.
 */
class Pending implements Expect, Unsent {
  constructor(
    readonly id: number,
    readonly name: string,
    readonly qtype: number,
    readonly qclass: number,
    readonly waiter: AttemptWaiter,
    /** performance.now() after which the attempt fails with "timeout" */
    readonly deadline: number,
    private readonly pending: Map<number, Pending>,
  ) {}

  /** the outbox could not send the query: fail now, unless an answer or the sweep settled it */
  unsent(): void {
    if (this.pending.get(this.id) !== this) return;
    this.pending.delete(this.id);
    this.waiter.settled({ ok: false, why: "error" });
  }
}

interface Member {
  sock: udp.ConnectedSocket<"buffer">;
  send: (data: Buffer, failed: Unsent) => void;
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
    const info = p ? readAnswer(buf, p) : null;
    if (!p || !info) return void this.ignored++;
    pending.delete(p.id);
    p.waiter.settled({ ok: true, answer: buf, info });
  }

  private failAll(pending: Map<number, Pending>, why: "refused" | "closed"): void {
    const all = [...pending.values()];
    pending.clear();
    for (const p of all) p.waiter.settled({ ok: false, why });
  }

  /** fails every attempt past its deadline; stops itself once nothing waits */
  private sweep(): void {
    const now = performance.now();
    let waiting = 0;
    for (const m of this.members) {
      for (const [id, p] of m.pending) {
        if (p.deadline > now) continue;
        m.pending.delete(id);
        p.waiter.settled({ ok: false, why: "timeout" });
      }
      waiting += m.pending.size;
    }
    if (waiting === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }

  private sweeper: ReturnType<typeof setInterval> | null = null;

  /**
   * One attempt: tells `w` the first matching answer, or a failure after timeoutMs (never
   * before this returns).
   * The ID is written into `query` itself (no copy per attempt), and the datagram is
   * queued until the end of the event loop's turn (udp-outbox.ts): a caller must not use
   * the same buffer for another query in the same turn, or both leave with the last ID
   * (which is why the proxy's health probe builds a fresh query each time).
   */
  query(query: Buffer, q: Question, timeoutMs: number, w: AttemptWaiter): void {
    const now = performance.now();
    const m = this.sendingMember(now);
    let id = randomInt(65536);
    while (m.pending.has(id)) id = randomInt(65536);
    query.writeUInt16BE(id, 0);
    this.sweeper ??= setInterval(() => this.sweep(), SWEEP_MS);
    const p = new Pending(id, q.name, q.qtype, q.qclass, w, now + timeoutMs, m.pending);
    m.pending.set(id, p);
    m.send(query, p);
  }

  /**
   * The socket queries leave from, chosen at random from the pool and kept for ROTATE_MS:
   * the queries of a turn then leave in one sendmmsg (udp-outbox.ts) and their answers
   * come back on one socket, read in one recvmmsg. An off-path attacker still has to
   * guess the source port (which of the pool) and the ID of each query. Choosing anew
   * each turn of the event loop (as before) spread the answers in flight over all eight
   * sockets, and the DNS thread sat idle a fifth of the time under load (docs/benchmarks.md,
   * "The DNS path, second round").
   */
  private sendingMember(now: number): Member {
    if (this.current === null || now >= this.rotateAt) {
      this.current = this.members[randomInt(this.members.length)]!;
      this.rotateAt = now + ROTATE_MS;
    }
    return this.current;
  }

  private current: Member | null = null;
  private rotateAt = 0;

  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
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
