// A minimal Bun DNS forwarder, the benchmark's reference for "what Bun itself allows":
// no failover, no timeouts, no events, no metrics. One connected upstream socket, query
// IDs rewritten to a counter. Options, each one step closer to what serve must do:
//   --learn    adds every A/AAAA answer to `inet bench set4/set6` through libnftables
//              (one call per answer, as egressctl does) before answering;
//   --judge P  judges every query against the policy file P with egressctl's own pure
//              functions (decideQuery: parse, decide, the upstream query; a denied name
//              gets its NXDOMAIN) and sends an answer back only if readAnswer accepts it
//              (ID and question match: the spoofing guard). This is the least a forwarder
//              that enforces a policy does per query: its speed is the floor for serve.
//   --exempt   marks the upstream socket with serve's exempt mark, so its queries pass
//              egressctl's DNS redirect as serve's own do: with serve's ruleset in the
//              namespace, the forwarder pays the same kernel hooks (conntrack, nat) per
//              datagram as serve.
//   bun test/bench/dns-min-forwarder.ts PORT UPSTREAM [--learn] [--judge POLICY] [--exempt]
import { readFileSync } from "node:fs";
import dnsPacket from "dns-packet";
import { readAnswer } from "../../src/core/dns/answer.ts";
import { decideQuery } from "../../src/core/dns/decide.ts";
import { loadPolicyText } from "../../src/core/policy/load.ts";
import { compilePolicy } from "../../src/app/serve/live-policy.ts";
import { EXEMPT_MARK } from "../../src/core/ruleset/names.ts";
import { openNftBackend, type NftBackend } from "../../src/effects/nft/backend.ts";
import { setMark } from "../../src/effects/sys/ffi-socket.ts";

const port = Number(process.argv[2]);
const upstream = process.argv[3]!;
const learn = process.argv.includes("--learn");
const judgeAt = process.argv.indexOf("--judge");
const decide = judgeAt > 0 ? judgeWith(process.argv[judgeAt + 1]!) : null;
let nft: NftBackend | null = null;
if (learn) {
  const b = openNftBackend({ nftBackend: "library" });
  if ("unavailable" in b) throw new Error(b.unavailable);
  nft = b;
}

function judgeWith(path: string) {
  const loaded = loadPolicyText(readFileSync(path, "utf8"));
  if (!loaded.policy) throw new Error(`${path}: not a valid policy`);
  return compilePolicy(loaded.policy, path, path, Date.now()).decide;
}

interface Pending {
  id: number;
  port: number;
  address: string;
  /** with --judge: what the answer must echo */
  name: string;
  qtype: number;
  qclass: number;
}

const pending = new Map<number, Pending>();
let next = 0;
let failures = 0;

const up = await Bun.udpSocket({
  hostname: "0.0.0.0",
  connect: { hostname: upstream, port: 53 },
  socket: {
    data(_s, buf) {
      const id = buf.readUInt16BE(0);
      const p = pending.get(id);
      if (!p) return;
      if (decide && !readAnswer(buf, { id, name: p.name, qtype: p.qtype, qclass: p.qclass })) return;
      pending.delete(id);
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

if (process.argv.includes("--exempt")) setMark((up as unknown as { fd: number }).fd, EXEMPT_MARK);

const down = await Bun.udpSocket({
  hostname: "127.0.0.1",
  port,
  socket: {
    data(_s, buf, rport, raddr) {
      if (buf.length < 12) return;
      let query = buf;
      let q = { name: "", qtype: 0, qclass: 0 };
      if (decide) {
        const action = decideQuery(buf, decide);
        if (action.kind === "drop") return;
        if (action.kind === "answer") return void down.send(action.response, rport, raddr);
        query = action.query;
        q = action;
      }
      const id = (next = (next + 1) & 0xffff);
      pending.set(id, { id: buf.readUInt16BE(0), port: rport, address: raddr, name: q.name, qtype: q.qtype, qclass: q.qclass });
      query.writeUInt16BE(id, 0);
      up.send(query);
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
