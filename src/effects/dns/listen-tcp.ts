// The client-facing TCP listener: 2-byte length framing (RFC 7766), pipelined queries
// answered as they complete. Every query read from a connection is answered before
// serve closes it; a burst meets backpressure instead:
//   - at most MAX_PIPELINE queries of a connection are in flight; the next complete
//     messages wait in its buffer and reading stops (pause) until answers go out;
//   - while more than PAUSE_UNSENT bytes of answers wait for the client to read them, no
//     new query is started either (a client that does not read stops being read);
//   - a client's FIN (it sent all it will send) ends the connection only once every
//     query read before it has been answered and written (half-open until then).
// Bounds, so no client grows memory without limit: at most MAX_CONNECTIONS connections;
// per connection the buffered input stays below MAX_INBUF (reading pauses long before;
// only what one read of the socket layer brought can still arrive, and a peer that
// pushes past it despite the pause is cut off) and the unsent answers below
// PAUSE_UNSENT plus MAX_PIPELINE answers of at most 65,535 bytes each; an idle
// connection (nothing in flight, nothing unsent) is closed after IDLE_SECONDS, and so is
// one whose client reads none of its waiting answers for that long.
import type { Socket, TCPSocketListener } from "bun";
import type { DnsStats } from "./events.ts";
import { clientLabel } from "./events.ts";
import type { Handler } from "./listen-udp.ts";

export const MAX_CONNECTIONS = 256;
const MAX_PIPELINE = 16;
/** answers waiting to be written above which no new query of the connection starts */
const PAUSE_UNSENT = 64 * 1024;
/**
 * Input buffered per connection. Reading pauses at 16 queries in flight, but Bun's socket
 * layer reads up to 512 KiB at a time (checked: one callback after a resume brought
 * 346 KB), all of which must be kept: twice that, so a burst is never cut off.
 */
const MAX_INBUF = 1024 * 1024;
const IDLE_SECONDS = 10;

interface Conn {
  client: string;
  inbuf: Buffer;
  inFlight: number;
  unsent: Buffer[];
  unsentBytes: number;
  /** reading is paused (a bound is reached) */
  paused: boolean;
  /** some answer bytes were written since the last idle check */
  progressed: boolean;
  /** the client sent FIN: end once everything read is answered and written */
  ending: boolean;
  closed: boolean;
}

export function listenTcp(host: string, port: number, handle: Handler, stats: DnsStats, onError: (e: Error) => void): TCPSocketListener<Conn> {
  const conns = new Set<Socket<Conn>>();
  /** writes what the socket takes; true when nothing is left unsent */
  const flush = (s: Socket<Conn>): boolean => {
    const c = s.data;
    while (c.unsent.length > 0) {
      const head = c.unsent[0]!;
      const n = Math.max(0, s.write(head));
      c.unsentBytes -= n;
      if (n > 0) c.progressed = true;
      if (n >= head.length) c.unsent.shift();
      else {
        c.unsent[0] = head.subarray(n);
        return false;
      }
    }
    return true;
  };
  /** starts the complete messages the bounds allow, pauses or resumes reading, ends when done */
  const pump = (s: Socket<Conn>) => {
    const c = s.data;
    if (c.closed) return;
    while (c.inFlight < MAX_PIPELINE && c.unsentBytes <= PAUSE_UNSENT && c.inbuf.length >= 2) {
      const len = c.inbuf.readUInt16BE(0);
      if (c.inbuf.length < 2 + len) break;
      const msg = Buffer.from(c.inbuf.subarray(2, 2 + len));
      c.inbuf = c.inbuf.subarray(2 + len);
      c.inFlight++;
      // always settled on a later turn, even an answer the proxy had at once: this loop
      // reads the connection's buffer and must finish before any answer is written
      new Promise<Buffer | null>((resolve) => handle(msg, "tcp", c.client, resolve)).then(
        (out) => answered(s, out),
        (e) => {
          onError(e);
          answered(s, null);
        },
      );
    }
    // What is not yet started stays as a view of the buffer it came in: copying it here,
    // once per answer, would copy a large burst's rest over and over. The next chunk
    // that arrives makes a buffer of its own (concat), so at most one is held.
    if (c.inbuf.length === 0) c.inbuf = EMPTY;
    const full = c.inFlight >= MAX_PIPELINE || c.unsentBytes > PAUSE_UNSENT;
    if (full !== c.paused) {
      c.paused = full;
      if (full) {
        s.pause();
        stats.tcpPaused++;
      } else s.resume();
    }
    if (c.ending && c.inFlight === 0 && c.unsent.length === 0) s.end();
  };
  const answered = (s: Socket<Conn>, msg: Buffer | null) => {
    const c = s.data;
    c.inFlight--;
    if (c.closed) return;
    if (msg) {
      const framed = Buffer.allocUnsafe(2 + msg.length);
      framed.writeUInt16BE(msg.length, 0);
      msg.copy(framed, 2);
      c.unsent.push(framed);
      c.unsentBytes += framed.length;
      flush(s);
    }
    pump(s);
  };
  const gone = (s: Socket<Conn>) => {
    if (s.data.closed) return;
    s.data.closed = true;
    conns.delete(s);
  };
  return Bun.listen<Conn>({
    hostname: host,
    port,
    allowHalfOpen: true,
    socket: {
      open(s) {
        s.data = { client: clientLabel(s.remoteAddress, (s as unknown as { remotePort: number }).remotePort ?? 0), inbuf: EMPTY, inFlight: 0, unsent: [], unsentBytes: 0, paused: false, progressed: false, ending: false, closed: false };
        if (conns.size >= MAX_CONNECTIONS) {
          stats.tcpRejected++;
          s.data.closed = true;
          return void s.end();
        }
        conns.add(s);
        stats.tcpConnections++;
        s.timeout(IDLE_SECONDS);
      },
      data(s, chunk) {
        const c = s.data;
        if (c.closed || c.ending) return;
        c.inbuf = c.inbuf.length === 0 ? Buffer.from(chunk) : Buffer.concat([c.inbuf, chunk]);
        if (c.inbuf.length > MAX_INBUF) {
          // reading was paused long before this: the peer ignores flow control
          stats.tcpOverrun++;
          gone(s);
          return void s.terminate();
        }
        pump(s);
      },
      drain(s) {
        if (flush(s)) pump(s);
      },
      end(s) {
        // the client sent everything it will send; answer what was read, then close
        s.data.ending = true;
        pump(s);
      },
      timeout(s) {
        const c = s.data;
        // Not idle while answers are owed: the upstream attempts are bounded, so wait.
        // Answers waiting unread are waited for as long as the client reads some of them
        // each period; one that reads nothing for a whole period holds a connection
        // slot for nothing and is cut off.
        const stalled = c.unsent.length > 0 && !c.progressed;
        c.progressed = false;
        if (!stalled && (c.inFlight > 0 || c.unsent.length > 0)) return void s.timeout(IDLE_SECONDS);
        if (stalled) stats.tcpStalled++;
        s.end();
      },
      close(s) {
        gone(s);
      },
      error(s, err) {
        gone(s);
        onError(err);
      },
    },
  });
}

const EMPTY = Buffer.alloc(0);
