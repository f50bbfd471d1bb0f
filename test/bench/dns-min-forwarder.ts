// A minimal Bun DNS forwarder, the benchmark's reference for "what Bun itself allows":
// no policy, no failover, no spoofing guard, no timeouts. One connected upstream socket,
// query IDs rewritten to a counter, answers decoded with dns-packet. With --learn it
// adds every A/AAAA answer to `inet bench set4/set6` through libnftables (one call per
// answer, as egressctl does) before answering.
//   bun test/bench/dns-min-forwarder.ts PORT UPSTREAM [--learn]
import dnsPacket from "dns-packet";
import { openNftBackend, type NftBackend } from "../../src/effects/nft/backend.ts";

const port = Number(process.argv[2]);
const upstream = process.argv[3]!;
const learn = process.argv.includes("--learn");
let nft: NftBackend | null = null;
if (learn) {
  const b = openNftBackend({ nftBackend: "library" });
  if ("unavailable" in b) throw new Error(b.unavailable);
  nft = b;
}

const pending = new Map<number, { id: number; port: number; address: string }>();
let next = 0;
let failures = 0;

const up = await Bun.udpSocket({
  hostname: "0.0.0.0",
  connect: { hostname: upstream, port: 53 },
  socket: {
    data(_s, buf) {
      const p = pending.get(buf.readUInt16BE(0));
      if (!p) return;
      pending.delete(buf.readUInt16BE(0));
      if (nft) {
        const v4: string[] = [];
        const v6: string[] = [];
        for (const a of dnsPacket.decode(buf).answers ?? []) {
          if (a.type === "A") v4.push(`${a.data} timeout 300s`);
          else if (a.type === "AAAA") v6.push(`${a.data} timeout 300s`);
        }
        let script = "";
        if (v4.length) script += `add element inet bench set4 { ${v4.join(", ")} }\n`;
        if (v6.length) script += `add element inet bench set6 { ${v6.join(", ")} }\n`;
        if (script && !nft.run(script).ok) failures++;
      }
      buf.writeUInt16BE(p.id, 0);
      down.send(buf, p.port, p.address);
    },
    error() {},
  },
});

const down = await Bun.udpSocket({
  hostname: "127.0.0.1",
  port,
  socket: {
    data(_s, buf, rport, raddr) {
      if (buf.length < 12) return;
      const id = (next = (next + 1) & 0xffff);
      pending.set(id, { id: buf.readUInt16BE(0), port: rport, address: raddr });
      buf.writeUInt16BE(id, 0);
      up.send(buf);
    },
    error() {},
  },
});

process.on("SIGTERM", () => {
  if (failures) process.stderr.write(`learn failures: ${failures}\n`);
  up.close();
  down.close();
  process.exit(0);
});
process.stderr.write(`listening on 127.0.0.1:${port}\n`);
