// Attack: a burst of pipelined DNS queries on one TCP connection. Before, the 17th query
// in one burst closed the connection without answering the first 16. Now every query
// read is answered before the connection closes: beyond 16 in flight the proxy stops
// reading (backpressure, counted as tcpPaused) and reads on as answers go out; the
// client's FIN ends the connection only once everything is answered. Denied names in
// the burst are still denied, each with its dns.denied event.
import { expect, test } from "bun:test";
import { IDENTITIES } from "../../support/attacker.ts";
import { LAB, type Lab } from "../../support/lab.ts";
import { args, policyText, serve, status, useLab, writePolicy } from "../serve/helpers-serve.ts";
import { pipelineAs } from "./support.ts";

let lab: Lab;
let policy: string;

// every allowed query of a burst goes upstream over a TCP connection of its own: on a
// loaded machine the lab's 1 s attempt timeout can turn one into SERVFAIL, which is not
// what this file is about
const ENV = { OPENSANDBOX_EGRESS_DNS_UPSTREAM_TIMEOUT: "5" };

useLab((l) => {
  lab = l;
  policy = writePolicy(lab, policyText(["api.example.com"]));
});

for (const who of IDENTITIES) {
  test(`${who}: 200 pipelined queries in one write, then FIN: all 200 answered, right answers, then closed`, async () => {
    const s = await serve(lab, args(policy, LAB.dnsV4), { env: ENV });
    const r = await pipelineAs(lab, who, 200, ["api.example.com", "evil.example.com"]);
    expect(r.closed).toBe("fin");
    expect(r.leftover).toBe(0);
    expect(r.answers.map((a) => a.id).sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    // odd ids asked for api.example.com (allowed), even ones evil.example.com (denied)
    for (const a of r.answers) expect({ id: a.id, rcode: a.rcode }).toEqual({ id: a.id, rcode: a.id % 2 ? 0 : 3 });
    const ev = await s.waitEvent((e) => e.event === "dns.denied" && e.name === "evil.example.com");
    expect(ev.client).toMatch(new RegExp(`^${LAB.sandboxV4.replace(/\./g, "\\.")}:\\d+$`)); // the application's own socket
    const st = await status(s);
    expect(st.dns.tcpQueries).toBe(200);
    expect(st.dns.tcpPaused).toBeGreaterThan(0); // the burst met backpressure
    expect(st.dns).toMatchObject({ tcpOverrun: 0, tcpStalled: 0 });
  });
}

test("20,000 queries (about 700 KB) in one write: every one answered, none cut off", async () => {
  const s = await serve(lab, args(policy, LAB.dnsV4), { env: ENV });
  // a denied name: answered by the proxy itself, so the burst is about the listener
  const r = await pipelineAs(lab, "nobody", 20_000, ["evil.example.com"]);
  const st = await status(s);
  // one comparison, so a failure shows how the connection ended and what serve counted
  const { tcpQueries, tcpOverrun, tcpStalled } = st.dns;
  expect({ answers: r.answers.length, closed: r.closed, tcpQueries, tcpOverrun, tcpStalled }).toEqual({ answers: 20_000, closed: "fin", tcpQueries: 20_000, tcpOverrun: 0, tcpStalled: 0 });
  expect(r.answers.every((a) => a.rcode === 3)).toBe(true);
  expect(st.dns.tcpPaused).toBeGreaterThan(0);
});

test("several bursts on several connections at once: every query answered", async () => {
  const s = await serve(lab, args(policy, LAB.dnsV4), { env: ENV });
  const runs = await Promise.all(IDENTITIES.flatMap((who) => [pipelineAs(lab, who, 64, ["api.example.com"]), pipelineAs(lab, who, 64, ["evil.example.com", "api.example.com"])]));
  for (const r of runs) {
    expect(r.answers.length).toBe(64);
    expect(r.closed).toBe("fin");
  }
  expect((await status(s)).dns.tcpQueries).toBe(256);
});
