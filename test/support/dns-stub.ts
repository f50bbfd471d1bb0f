// A fault-injecting DNS upstream for tests, beside the real Knot (never instead of it).
// Runs in the lab's world namespace: `bun test/support/dns-stub.ts CONFIG.json`.
// It forwards each UDP query to Knot and then misbehaves as configured:
//   delayMs     answer late (a slow upstream)
//   SIGUSR1/2   go down (drop everything) / come back up (a flapping upstream)
//   static      fixed answers by name (e.g. a full cross-zone CNAME chain, which an
//               authoritative-only Knot does not assemble)
//   hostile     for names whose first label is listed, send bad answers first (wrong ID,
//               wrong question, garbage, a huge datagram, a compression loop), then the
//               real answer unless the label is "allbad"
// Prints {"type":"ready"} and one {"type":"query","name":...} line per query on stdout.
import * as dnsPacket from "dns-packet";
import { readFileSync } from "node:fs";

interface StubConfig {
  listen: string;
  port?: number;
  forward: string;
  delayMs?: number;
  static?: Record<string, dnsPacket.Answer[]>;
  hostile?: boolean;
}

const cfg = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as StubConfig;
let down = false;
process.on("SIGUSR1", () => void (down = true));
process.on("SIGUSR2", () => void (down = false));
const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);

const pending = new Map<number, (b: Buffer) => void>();
const upstream = await Bun.udpSocket({
  connect: { hostname: cfg.forward, port: 53 },
  socket: { data: (_s, buf) => pending.get(buf.readUInt16BE(0))?.(buf), error: () => {} },
});
let nextId = 1;
function ask(query: Buffer): Promise<Buffer | null> {
  const id = (nextId = (nextId + 1) & 0xffff);
  const q = Buffer.from(query);
  q.writeUInt16BE(id, 0);
  return new Promise((resolve) => {
    const t = setTimeout(() => (pending.delete(id), resolve(null)), 2000);
    pending.set(id, (b) => (clearTimeout(t), pending.delete(id), resolve(b)));
    upstream.send(q);
  });
}

function badAnswers(query: Buffer, real: Buffer): Buffer[] {
  const wrongId = Buffer.from(real);
  wrongId.writeUInt16BE(wrongId.readUInt16BE(0) ^ 0x5a5a, 0);
  const d = dnsPacket.decode(query);
  const wrongQ = dnsPacket.encode({
    type: "response", id: d.id, flags: dnsPacket.AUTHORITATIVE_ANSWER,
    questions: [{ type: "A", name: "elsewhere.example.com" }],
    answers: [{ type: "A", name: "elsewhere.example.com", data: "198.51.100.77", ttl: 300 }],
  });
  const garbage = Buffer.concat([real.subarray(0, 2), Buffer.from("\x80\x00garbage garbage garbage")]);
  const huge = Buffer.alloc(60_000, 0xc0);
  real.copy(huge, 0, 0, 12);
  // a well-formed header and question, then an answer whose owner points at itself
  const qEnd = 12 + Buffer.byteLength(d.questions![0]!.name) + 2 + 4;
  const loop = Buffer.concat([real.subarray(0, qEnd), Buffer.from([0xc0, qEnd & 0xff, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 198, 51, 100, 99])]);
  loop.writeUInt16BE(1, 6);
  return [wrongId, wrongQ, garbage, huge, loop];
}

await Bun.udpSocket({
  hostname: cfg.listen,
  port: cfg.port ?? 53,
  socket: {
    async data(sock, buf, port, addr) {
      if (down) return;
      let d: dnsPacket.Packet;
      try {
        d = dnsPacket.decode(buf);
      } catch {
        return;
      }
      const name = (d.questions?.[0]?.name ?? "").toLowerCase();
      out({ type: "query", name });
      const fixed = cfg.static?.[name];
      const real = fixed
        ? dnsPacket.encode({ type: "response", id: d.id, flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED, questions: d.questions, answers: fixed })
        : await ask(buf);
      if (!real) return;
      const reply = Buffer.from(real);
      reply.writeUInt16BE(d.id ?? 0, 0);
      if (cfg.delayMs) await Bun.sleep(cfg.delayMs);
      if (down) return;
      const label = name.split(".")[0]!;
      if (cfg.hostile && ["wrongid", "wrongq", "garbage", "huge", "loop", "allbad"].includes(label)) {
        for (const b of badAnswers(buf, reply)) sock.send(b, port, addr);
        if (label === "allbad") return;
      }
      sock.send(reply, port, addr);
    },
    error: () => {},
  },
});
out({ type: "ready" });
