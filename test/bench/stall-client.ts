// Runs in the lab's sandbox (stall.bench.ts): sends queries through the redirect at a
// fixed pace, one of each kind in turn, and prints every answer's latency by kind:
//   denied:  a name the policy denies (answered by the proxy itself, no kernel write);
//   covered: an allowed name whose address the kernel already holds (no kernel write);
//   learn:   an allowed name with an address of its own, which must be written into
//            the kernel before its answer leaves.
// argv: upstream address, seconds to run, milliseconds between rounds, first fresh
// index, and the kinds to send (comma-separated; default all three).
import dnsPacket from "dns-packet";

const [upstream, seconds, pace, first] = [process.argv[2]!, Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5] ?? 0)];
const kinds = new Set((process.argv[6] ?? "denied,covered,learn").split(","));
type Kind = "denied" | "covered" | "learn";
const sent = new Map<number, { kind: Kind; at: number }>();
const lat: Record<Kind, number[]> = { denied: [], covered: [], learn: [] };
const failed: Record<Kind, number> = { denied: 0, covered: 0, learn: 0 };
const sock = await Bun.udpSocket({
  socket: {
    data(_s, buf) {
      const id = buf.readUInt16BE(0);
      const q = sent.get(id);
      if (!q) return;
      sent.delete(id);
      const rcode = buf[3]! & 0x0f;
      const ok = q.kind === "denied" ? rcode === 3 : rcode === 0;
      if (ok) lat[q.kind].push(performance.now() - q.at);
      else failed[q.kind]++;
    },
  },
});
let id = 1;
let fresh = first;
const ask = (kind: Kind, name: string, type: "A" | "AAAA") => {
  id = (id % 65535) + 1;
  sent.set(id, { kind, at: performance.now() });
  sock.send(dnsPacket.encode({ type: "query", id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] }), 53, upstream);
};
const end = performance.now() + seconds * 1000;
let round = 0;
while (performance.now() < end) {
  if (kinds.has("denied")) ask("denied", `d${round}.blocked.example`, "A");
  if (kinds.has("covered")) ask("covered", `c${round % 10}.stall.example`, "A");
  if (kinds.has("learn")) ask("learn", `f${fresh++}.stall.example`, "AAAA");
  round++;
  await Bun.sleep(pace);
}
await Bun.sleep(3000); // the last answers (a learn may wait out a stall)
for (const q of sent.values()) failed[q.kind]++;
sock.close();
console.log(JSON.stringify({ lat, failed, fresh }));
