// Run inside a lab namespace; prints one JSON line with the socket counts of two cases.
// `start`: the proxy with a good first upstream and a second whose UDP sockets cannot be
// opened (connect to the broadcast address without SO_BROADCAST: EACCES); a start that
// fails must close what it opened. `tcp`: a TCP upstream query whose descriptor Bun
// refuses to adopt (Bun.connect rejects, or throws): the descriptor must be closed.
import { readdirSync, readlinkSync } from "node:fs";
import type { Upstream } from "../../../src/core/dns/upstreams.ts";
import { startDnsProxy } from "../../../src/effects/dns/proxy.ts";
import { tcpQuery } from "../../../src/effects/dns/upstream-tcp.ts";

const inode = (fd: string) => {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return "";
  }
};
/** socket inodes this process holds, apart from those behind stdin/stdout/stderr (and their dups) */
const sockets = () => {
  const stdio = new Set(["0", "1", "2"].map(inode));
  return new Set(readdirSync("/proc/self/fd").map(inode).filter((l) => l.startsWith("socket:") && !stdio.has(l))).size;
};

const up = (address: string): Upstream => ({ family: 4, address, port: 53, label: `${address}:53` });
const before = sockets();
let error = "";
try {
  await startDnsProxy({ listen: [{ host: "127.0.0.1", port: 0 }], upstreams: [up("192.0.2.53"), up("255.255.255.255")], decide: () => ({ allow: true }) as never, learn: null, mark: null });
} catch (e) {
  error = (e as Error).message;
}
// Bun may close a socket on a later turn: wait (up to 2 s) until the count is back, so a
// leak is the count that stays, not one caught mid-close
for (let i = 0; i < 100 && sockets() > before; i++) await Bun.sleep(20);
const start = { before, after: sockets(), error };

const tcp: { how: string; before: number; after: number; ok: boolean }[] = [];
const real = Bun.connect;
for (const how of ["rejects", "throws"]) {
  (Bun as { connect: unknown }).connect = () => {
    if (how === "throws") throw new Error("cannot adopt");
    return Promise.reject(new Error("cannot adopt"));
  };
  const b = sockets();
  const a = await tcpQuery(up("192.0.2.53"), Buffer.alloc(17), { name: "example.com", qtype: 1, qclass: 1 }, 1000, null);
  tcp.push({ how, before: b, after: sockets(), ok: a.ok });
}
(Bun as { connect: unknown }).connect = real;
process.stdout.write(`${JSON.stringify({ start, tcp })}\n`);
