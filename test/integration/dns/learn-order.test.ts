// "Learned before answered", observed from the client side against the real kernel: the
// harness's sink waits 300 ms and then adds the elements to a timed set of a test table
// in the sandbox; the client lists the set the moment its answer arrives. Had the proxy
// answered before the sink finished, the element would still be missing.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startKnot } from "../../support/knot.ts";
import { LAB, Lab } from "../../support/lab.ts";
import { kdig, startHarness } from "./support.ts";

const POLICY = JSON.stringify({ defaultAction: "deny", egress: [{ action: "deny", target: "evil.example.com" }, { action: "allow", target: "*.example.com" }] });
const TABLE = "egldnslearn";
let lab: Lab;

beforeAll(async () => {
  lab = await Lab.create();
  await startKnot(lab);
  const nft = `table inet ${TABLE} {\n set learned4 { type ipv4_addr; flags timeout; }\n set learned6 { type ipv6_addr; flags timeout; }\n}\n`;
  const r = await lab.exec("sandbox", ["nft", "-f", "-"], { stdin: nft });
  if (r.code !== 0) throw new Error(r.stderr);
  await startHarness(lab, { policy: POLICY, upstreams: LAB.dnsV4, learn: { mode: "nft", table: TABLE, delayMs: 300 } });
  await startHarness(lab, { policy: POLICY, upstreams: LAB.dnsV4, learn: { mode: "fail" }, listen: [{ host: "127.0.0.1", port: 15355 }] });
});
afterAll(async () => {
  await lab?.destroy();
});

/** Queries, then lists the set at once, in one shell in the sandbox. */
async function queryThenList(name: string, type: string, set: string, extra = ""): Promise<{ answer: string; set: string }> {
  const sh = `kdig +timeout=5 +retry=0 +short ${extra} @127.0.0.1 -p 15353 ${name} ${type}; echo ---; nft list set inet ${TABLE} ${set}`;
  const r = await lab.exec("sandbox", ["sh", "-c", sh]);
  const [answer, listing] = r.stdout.split("---\n") as [string, string];
  return { answer, set: listing };
}

test("A: the element is in the kernel set when the answer arrives", async () => {
  const before = await lab.exec("sandbox", ["nft", "list", "set", "inet", TABLE, "learned4"]);
  expect(before.stdout).not.toContain("198.51.100.10");
  const r = await queryThenList("api.example.com", "A", "learned4");
  expect(r.answer.trim()).toBe("198.51.100.10");
  expect(r.set).toContain("198.51.100.10");
});

test("AAAA over TCP: the same", async () => {
  const r = await queryThenList("v6only.example.com", "AAAA", "learned6", "+tcp");
  expect(r.answer.trim()).toBe("2001:db8:100::30");
  expect(r.set).toContain("2001:db8:100::30");
});

test("300 addresses: all in the set when the (TCP) answer arrives", async () => {
  const r = await queryThenList("many.example.com", "A", "learned4");
  const want = r.answer.trim().split("\n");
  expect(want.length).toBe(300);
  for (const a of want) expect(r.set).toContain(a);
});

test("a failing sink: SERVFAIL, never the unenforced answer; denials unaffected", async () => {
  const out = await kdig(lab, ["@127.0.0.1", "-p", "15355", "other.example.com", "A"]);
  expect(out).toContain("status: SERVFAIL");
  expect(out).not.toContain("198.51.100.11");
  const denied = await kdig(lab, ["@127.0.0.1", "-p", "15355", "+edns", "evil.example.com", "A"]);
  expect(denied).toContain("status: NXDOMAIN");
});
