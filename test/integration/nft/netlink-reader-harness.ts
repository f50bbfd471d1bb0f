// Runs inside a lab namespace (lab.exec): the netlink reader's reads, printed as JSON.
//   {"learned": true} -> learned();  {"counters": true} -> counters();
//   {"has": [{family, address}]} -> hasLearned() for each; {"upstreams": true} -> upstreams()
//   {"denied": true} -> deniedFlows()
import { openNetlinkReader } from "../../../src/effects/nft/netlink-reader.ts";

const req = JSON.parse(await Bun.stdin.text());
const r = openNetlinkReader();
if ("unavailable" in r) {
  console.log(JSON.stringify({ unavailable: r.unavailable }));
  process.exit(0);
}
const out: Record<string, unknown> = {};
if (req.learned) out.learned = r.learned();
if (req.counters) out.counters = r.counters();
if (req.upstreams) out.upstreams = r.upstreams();
if (req.denied) out.denied = r.deniedFlows();
if (req.has) out.has = req.has.map((a: { family: 4 | 6; address: string }) => r.hasLearned(a.family, a.address));
r.close();
console.log(JSON.stringify(out));
