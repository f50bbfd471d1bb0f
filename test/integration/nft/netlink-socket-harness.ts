// Runs inside a lab namespace (lab.exec): what the netlink reader and writer share around
// an exchange (src/effects/nft/netlink-socket.ts), on a real NETLINK_NETFILTER socket,
// printed as JSON:
//   queued:  recv without waiting after one request (its reply is queued at sendto)
//   drained: the same after two more requests and drain()
//   reused:  a request after the drain, read to its end (the socket still works)
//   failure: recvFailure of that empty recv (a timeout), with and without what waited
import { Errno } from "../../../src/core/errors/errno.ts";
import { counterDumpRequest, dumpChunk } from "../../../src/core/ruleset/netlink-dump.ts";
import { MSG_DONTWAIT, openNetlinkSocket, recvFailure } from "../../../src/effects/nft/netlink-socket.ts";

const sock = openNetlinkSocket();
if ("unavailable" in sock) {
  console.log(JSON.stringify({ unavailable: sock.unavailable }));
  process.exit(0);
}
const sendOk = (seq: number) => {
  const e = sock.send(counterDumpRequest(seq));
  if (e) throw new Error(e.error);
};
sendOk(1);
const queued = sock.recv(MSG_DONTWAIT);
sendOk(2);
sendOk(3);
sock.drain();
const drained = sock.recv(MSG_DONTWAIT);
sendOk(4);
const reused = { done: false, error: null as number | null, otherSeq: false };
for (let i = 0; i < 100 && !reused.done; i++) {
  const n = sock.recv();
  if (n < 0) break;
  const c = dumpChunk(sock.rx.subarray(0, n), 4);
  reused.done = c.done;
  reused.error = c.error;
  for (const s of [1, 2, 3]) if (dumpChunk(sock.rx.subarray(0, n), s).done) reused.otherSeq = true;
}
sock.close();
console.log(JSON.stringify({ queued, drained, eagain: -Errno.EAGAIN, reused, failure: [recvFailure(drained), recvFailure(drained, "2 message(s) unanswered"), recvFailure(-Errno.EBADF)] }));
