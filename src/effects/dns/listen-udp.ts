// The client-facing UDP listener. Each datagram is handled on its own; nothing is
// buffered between datagrams, so a flood costs CPU but no memory beyond the in-flight
// bound that the forwarder enforces.
import type { udp } from "bun";
import { clientLabel } from "./events.ts";
import type { Reply } from "./forwarder.ts";
import { replyOutbox, type Unsent } from "./udp-outbox.ts";

/** answers one query through `reply` (null: send nothing), at once or later */
export type Handler = (packet: Buffer, transport: "udp" | "tcp", client: string, reply: Reply) => void;

/** DNS over UDP is capped at 65535 by the length field of TCP; anything longer is not DNS */
const MAX_DATAGRAM = 65535;

export async function listenUdp(host: string, port: number, handle: Handler, onError: (e: Error) => void): Promise<udp.Socket<"buffer">> {
  let reply: ReturnType<typeof replyOutbox>;
  const unsent: Unsent = { unsent: () => onError(new Error("answer not sent")) }; // e.g. the client's address went away
  const sock = await Bun.udpSocket({
    hostname: host,
    port,
    socket: {
      data(_sock, buf, rport, raddr) {
        if (buf.length > MAX_DATAGRAM) return;
        try {
          // the proxy's own answers come back at once, forwarded ones when judged
          handle(buf, "udp", clientLabel(raddr, rport), (answer) => {
            if (answer) reply(answer, rport, raddr, unsent);
          });
        } catch (e) {
          onError(e as Error);
        }
      },
      // A client that went away can make a later send fail (ICMP unreachable): harmless.
      error(_sock, err) {
        onError(err);
      },
    },
  });
  reply = replyOutbox(sock);
  return sock;
}
