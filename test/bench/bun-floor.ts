// Bun's floor for serve's memory and start-up (docs/benchmarks.md "What users feel"):
// a program with nothing of egressctl in it that uses the runtime features serve cannot
// do without, compiled the way egressctl is. make bench compiles it, execs it and reads
// its resident memory beside serve's:
//   - the UDP sockets of the proxy (two listeners, one connected upstream socket);
//   - Bun.serve on a Unix socket (the status API) and on TCP (the policy API);
//   - bun:ffi: libnftables opened and one context made (the ruleset);
//   - fs.watch on a directory (reload, the always lists);
//   - node:crypto's SHA-256 (policy digests);
//   - one JSON line on stderr (the event log) and a timer a second (the watchers);
//   - a Worker thread that answers a message (the kernel I/O thread).
//   bun-floor READY_FILE DIR
import { createHash } from "node:crypto";
import { watch, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dlopen, FFIType } from "bun:ffi";

const [readyFile, dir] = [process.argv[2]!, process.argv[3]!];
const udp = await Promise.all([
  Bun.udpSocket({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }),
  Bun.udpSocket({ hostname: "::1", port: 0, socket: { data() {} } }),
  Bun.udpSocket({ hostname: "0.0.0.0", connect: { hostname: "127.0.0.1", port: 53 }, socket: { data() {}, error() {} } }),
]);
const status = Bun.serve({ unix: join(dir, "floor.sock"), fetch: () => new Response("{}") });
const api = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("{}") });
const nft = dlopen("libnftables.so.1", { nft_ctx_new: { args: [FFIType.u32], returns: FFIType.ptr } });
nft.symbols.nft_ctx_new(0);
const watcher = watch(dir, () => {});
const digest = createHash("sha256").update(readyFile).digest("hex");
process.stderr.write(`${JSON.stringify({ ts: new Date().toISOString(), event: "ready", digest })}\n`);
const timer = setInterval(() => {}, 1000);
const worker = new Worker(URL.createObjectURL(new Blob(["self.onmessage = (e) => postMessage(e.data);"], { type: "application/javascript" })));
await new Promise<void>((resolve) => {
  worker.onmessage = () => resolve();
  worker.postMessage("ready?");
});
writeFileSync(readyFile, `${process.pid}\n`);

const stop = () => {
  clearInterval(timer);
  worker.terminate();
  watcher.close();
  void status.stop(true);
  void api.stop(true);
  for (const s of udp) s.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
