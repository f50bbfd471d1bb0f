// Sends malformed and mutated DNS packets at the proxy (argv: host port count seed),
// over UDP and then a batch over TCP, and prints a JSON summary. Deterministic per seed.
// Categories: truncations of valid queries, compression loops, absurd counts, oversized
// datagrams, random bytes, bit flips of valid queries, and hostile TCP framing.
import * as dnsPacket from "dns-packet";

const [host = "127.0.0.1", portText = "15353", countText = "10000", seedText = "1"] = process.argv.slice(2);
const port = Number(portText);
let seed = Number(seedText);
const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;

const valid = () =>
  dnsPacket.encode({
    type: "query", id: rnd(65536), flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: (["A", "AAAA", "TXT", "MX"] as const)[rnd(4)]!, name: `${["api", "evil", "many", "x"][rnd(4)]}.example.com` }],
    additionals: rnd(2) ? [{ type: "OPT", name: ".", udpPayloadSize: 4096, flags: 0, options: [] } as unknown as dnsPacket.Answer] : [],
  });

function mutant(i: number): Buffer {
  const v = valid();
  switch (i % 7) {
    case 0: return v.subarray(0, rnd(v.length)); // truncation
    case 1: { // compression loop in the question or an added answer
      const b = Buffer.concat([v.subarray(0, 12), Buffer.from([0xc0, 12 + rnd(4), 0, 1, 0, 1])]);
      b.writeUInt16BE(1, 4);
      return b;
    }
    case 2: { // absurd counts
      const b = Buffer.from(v);
      for (const off of [4, 6, 8, 10]) if (rnd(2)) b.writeUInt16BE(rnd(65536), off);
      return b;
    }
    case 3: return Buffer.concat([v, Buffer.alloc(rnd(2) ? 60_000 : 4000, rnd(256))]); // oversized
    case 4: { const b = Buffer.alloc(rnd(600)); for (let k = 0; k < b.length; k++) b[k] = rnd(256); return b; }
    case 5: { const b = Buffer.from(v); for (let k = 0; k < 1 + rnd(4); k++) b[rnd(b.length)]! ^= 1 << rnd(8); return b; }
    default: { // label lengths pointing past the end, and 0x40/0x80 label types
      const b = Buffer.from(v);
      b[12] = [0x3f, 0x40, 0x80, 0xff][rnd(4)]!;
      return b;
    }
  }
}

let answered = 0;
const sock = await Bun.udpSocket({ socket: { data: () => void answered++, error: () => {} } });
const count = Number(countText);
for (let i = 0; i < count; i++) {
  sock.send(mutant(i), port, host);
  if (i % 200 === 199) await Bun.sleep(5); // do not overflow the proxy's receive buffer
}

// TCP: every connection gets a hostile framing, then is left to the proxy's limits.
let tcpClosed = 0;
const tcpCases: Buffer[] = [
  Buffer.from([0xff, 0xff, 1, 2, 3]), // promises 65535 bytes, sends 3, then idles
  Buffer.from([0, 0, 0, 0, 0, 0]), // zero-length messages
  Buffer.concat(Array.from({ length: 50 }, () => { const m = mutant(rnd(7)).subarray(0, 500); const l = Buffer.alloc(2); l.writeUInt16BE(m.length); return Buffer.concat([l, m]); })),
  Buffer.alloc(200_000, 0x41), // a flood of bytes without sensible framing
  Buffer.from([0]), // half a length
];
await Promise.all(
  Array.from({ length: 40 }, (_, i) =>
    Bun.connect({
      hostname: host, port,
      socket: {
        open: (s) => void s.write(tcpCases[i % tcpCases.length]!),
        data: () => {},
        close: () => void tcpClosed++,
        error: () => {},
      },
    }).then((s) => Bun.sleep(300).then(() => s.end()), () => {}),
  ),
);
await Bun.sleep(300);
sock.close();
console.log(JSON.stringify({ sent: count, answered, tcpConnections: 40, tcpClosed }));
