// The bench's upstream (stall.bench.ts), run in the sandbox's own namespace on a
// loopback address: answers c<i>.stall.example with 198.51.100.(100+i) and
// f<i>.stall.example with an IPv6 address of its own, NXDOMAIN otherwise. Over loopback
// the answers never cross the veth, whose traffic the kernel itself holds up while a
// huge nftables transaction commits in the namespace (measured: ~0.7 s, with or without
// egressctl), so what the bench sees is serve's own waiting. argv: listen address.
import * as dnsPacket from "dns-packet";

const sock = await Bun.udpSocket({
  hostname: process.argv[2]!,
  port: 53,
  socket: {
    data(s, buf, port, addr) {
      let q: dnsPacket.Packet;
      try {
        q = dnsPacket.decode(buf);
      } catch {
        return;
      }
      const question = q.questions?.[0];
      if (!question) return;
      const m = /^([cf])(\d+)\.stall\.example$/.exec(question.name.toLowerCase());
      const answers: dnsPacket.Answer[] = [];
      if (m && m[1] === "c" && question.type === "A") answers.push({ type: "A", name: question.name, ttl: 300, data: `198.51.100.${100 + (Number(m[2]) % 100)}` });
      if (m && m[1] === "f" && question.type === "AAAA") answers.push({ type: "AAAA", name: question.name, ttl: 300, data: `2001:db8:f00::${(Number(m[2]) + 1).toString(16)}` });
      // rcode in the flags' low bits: 0 NOERROR, 3 NXDOMAIN
      const flags = dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (m ? 0 : 3);
      s.send(dnsPacket.encode({ type: "response", id: q.id, flags, questions: q.questions, answers }), port, addr);
    },
  },
});
console.log(JSON.stringify({ ready: sock.port }));
