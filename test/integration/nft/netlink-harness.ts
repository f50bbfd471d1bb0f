// Runs inside a lab namespace (lab.exec): reads one request as JSON on stdin, writes it
// through the netlink writer, prints the result as JSON. bun:ffi acts on the namespace of
// this process, which is why this is a separate script.
//   {"groups": [{name, elements: [{family, address, timeoutSec}]}]}            -> write()
//   {"messages": [{set, comment?, elements: [{key: [bytes], timeoutMs}]}]}     -> send()
//   {"remove": [{family, address}]}                                             -> remove()
//   {"repeat": N, ...}: the same write N times on the one socket (reuse)
//   {"options": {bufferBytes?, limits?}, ...}: openNetlinkWriter's options; the output
//     is then {result, limits} (the limits the writer split by)
import { openNetlinkWriter } from "../../../src/effects/nft/netlink-writer.ts";

const req = JSON.parse(await Bun.stdin.text());
const w = openNetlinkWriter(req.options);
if ("unavailable" in w) {
  console.log(JSON.stringify({ unavailable: w.unavailable }));
  process.exit(0);
}
const results = [];
for (let i = 0; i < (req.repeat ?? 1); i++) {
  if (req.remove) results.push(w.remove(req.remove));
  else if (req.groups) results.push(w.write(req.groups));
  else results.push(w.send(req.messages.map((m: { set: string; comment?: string; elements: { key: number[]; timeoutMs: number }[] }) => ({ ...m, elements: m.elements.map((e) => ({ key: Uint8Array.from(e.key), timeoutMs: e.timeoutMs })) }))));
}
w.close();
const result = results.length === 1 ? results[0] : results;
console.log(JSON.stringify(req.options ? { result, limits: w.limits } : result));
