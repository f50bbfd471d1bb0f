// The client-facing TCP listener: 2-byte length framing (RFC 7766), pipelined queries
// answered as they complete. Bounds, so no client can grow memory without limit: at most
// MAX_CONNECTIONS connections, one message (plus a length) buffered per connection,
// MAX_PIPELINE queries in flight per connection, a cap on unsent answer bytes, and an
// idle timeout. Exceeding any of them closes that connection, nothing else.
import type { Socket, TCPSocketListener } from "bun";
import type { DnsStats } from "./events.ts";
import { clientLabel } from "./events.ts";
import type { Handler } from "./listen-udp.ts";

export const MAX_CONNECTIONS = 256;
const MAX_PIPELINE = 16;
const MAX_UNSENT = 256 * 1024;
const IDLE_SECONDS = 10;

interface Conn {
  client: string;
  inbuf: Buffer;
  inFlight: number;
  unsent: Buffer[];
  unsentBytes: number;
  closed: boolean;
}

export function listenTcp(host: string, port: number, handle: Handler, stats: DnsStats, onError: (e: Error) => void): TCPSocketListener<Conn> {
  const conns = new Set<Socket<Conn>>();
  const flush = (s: Socket<Conn>) => {
    const c = s.data;
    while (c.unsent.length > 0) {
      const head = c.unsent[0]!;
      const n = s.write(head);
      c.unsentBytes -= Math.max(0, n);
      if (n >= head.length) c.unsent.shift();
      else {
        c.unsent[0] = head.subarray(Math.max(0, n));
        return;
      }
    }
  };
  const send = (s: Socket<Conn>, msg: Buffer) => {
    const c = s.data;
    if (c.closed) return;
    const framed = Buffer.allocUnsafe(2 + msg.length);
    framed.writeUInt16BE(msg.length, 0);
    msg.copy(framed, 2);
    c.unsent.push(framed);
    c.unsentBytes += framed.length;
    if (c.unsentBytes > MAX_UNSENT) return void s.end(); // a client that does not read
    flush(s);
  };
  return Bun.listen<Conn>({
    hostname: host,
    port,
    socket: {
      open(s) {
        s.data = { client: clientLabel(s.remoteAddress, (s as unknown as { remotePort: number }).remotePort ?? 0), inbuf: Buffer.alloc(0), inFlight: 0, unsent: [], unsentBytes: 0, closed: false };
        if (conns.size >= MAX_CONNECTIONS) {
          stats.tcpRejected++;
          return void s.end();
        }
        conns.add(s);
        stats.tcpConnections++;
        s.timeout(IDLE_SECONDS);
      },
      data(s, chunk) {
        const c = s.data;
        c.inbuf = c.inbuf.length === 0 ? Buffer.from(chunk) : Buffer.concat([c.inbuf, chunk]);
        while (c.inbuf.length >= 2) {
          const len = c.inbuf.readUInt16BE(0);
          if (c.inbuf.length < 2 + len) break;
          const msg = c.inbuf.subarray(2, 2 + len);
          c.inbuf = c.inbuf.subarray(2 + len);
          if (++c.inFlight > MAX_PIPELINE) return void s.end();
          handle(Buffer.from(msg), "tcp", c.client).then((out) => {
            c.inFlight--;
            if (out) send(s, out);
          }, onError);
        }
        // at most one incomplete message (<= 65537 bytes) stays buffered
        if (c.inbuf.length === 0) c.inbuf = Buffer.alloc(0);
        else c.inbuf = Buffer.from(c.inbuf);
      },
      drain(s) {
        flush(s);
      },
      timeout(s) {
        s.end();
      },
      close(s) {
        s.data.closed = true;
        conns.delete(s);
      },
      error(s, err) {
        s.data.closed = true;
        conns.delete(s);
        onError(err);
      },
    },
  });
}
