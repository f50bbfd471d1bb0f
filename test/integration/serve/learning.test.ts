// Learning seen from the application: an answer's addresses are reachable the moment the
// answer arrives (no first-connection race), for CNAME chains, answers that need TCP,
// IPv6-only names and names with hundreds of addresses.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Lab } from "../../support/lab.ts";
import { startKnot } from "../../support/knot.ts";
import { startWorld } from "../../support/world.ts";
import { serveArgs, startServe, type Served } from "../../support/serve.ts";
import { hostV4 } from "../../support/zones.ts";
import { curl, dig, learned } from "./clients.ts";

let lab: Lab;
let served: Served;

beforeAll(async () => {
  lab = await Lab.create();
  await startKnot(lab);
  await startWorld(lab);
  const p = lab.file("policy.yaml", `defaultAction: deny
egress:
  - { action: allow, target: "*.fresh.example.com" }
  - { action: allow, target: www.example.com }
  - { action: allow, target: many.example.com }
  - { action: allow, target: v6only.example.com }
  - { action: allow, target: rebind.example.com }
  - { action: deny, target: 203.0.113.96/28 }
`);
  served = await startServe(lab, serveArgs(p), { env: { OPENSANDBOX_EGRESS_DOH_BLOCKLIST: "" } });
});
afterAll(async () => {
  await served?.stop();
  await lab.destroy();
});

test("1000 fresh names, each resolved and connected to at once: zero refusals", async () => {
  // one python process does what a busy application does: resolve, then connect
  // immediately to the address it got (each name's IPv6 address is its own)
  const script = `
import socket
bad = []
for i in range(1000):
    name = f"n{i}.fresh.example.com"
    try:
        addr = socket.getaddrinfo(name, 80, socket.AF_INET6, socket.SOCK_STREAM)[0][4][0]
        s = socket.create_connection((addr, 80), timeout=3); s.close()
    except Exception as e:
        bad.append(f"{name}: {type(e).__name__} {e}")
print(len(bad)); print("\\n".join(bad[:5]))
`;
  const r = await lab.exec("sandbox", ["python3", "-c", script], { timeoutMs: 120_000 });
  expect(r.stdout.split("\n")[0]).toBe("0");
  expect((await learned(lab, 6)).filter((a) => a.startsWith("2001:db8:200::1:")).length).toBe(1000);
}, 150_000);

test("a CNAME chain: every address at its end is learned and reachable", async () => {
  const r = await dig(lab, "www.example.com");
  expect(r.answers).toEqual(["CNAME web.example.com.", "CNAME cdn.example.com.", "A 198.51.100.20"]);
  expect((await curl(lab, "http://www.example.com/", "-4")).body).toBe("ok 198.51.100.20 80");
  expect((await curl(lab, "http://www.example.com/", "-6")).body).toBe("ok 2001:db8:100::20 80");
  // the chain's target names were not asked for and stay denied by name
  expect((await dig(lab, "cdn.example.com")).status).toBe("NXDOMAIN");
});

test("an answer that needs TCP: 300 addresses, all learned", async () => {
  // a client without EDNS gets a truncated UDP answer and retries over TCP through the
  // redirect; serve itself retries upstream over TCP
  const udp = await dig(lab, "many.example.com", "+noedns", "+ignore");
  expect(udp.raw).toMatch(/Flags: qr[^\n]*\btc\b/);
  const tcp = await dig(lab, "many.example.com", "+tcp");
  expect(tcp.answers.length).toBe(300);
  const set = new Set(await learned(lab, 4));
  const missing = Array.from({ length: 300 }, (_, i) => hostV4(i)).filter((a) => !set.has(a));
  expect(missing).toEqual([]);
  expect((await curl(lab, `http://${hostV4(299)}/`)).body).toBe(`ok ${hostV4(299)} 80`);
});

test("an IPv6-only name resolves and connects over IPv6", async () => {
  const r = await dig(lab, "v6only.example.com", "AAAA");
  expect(r.answers).toEqual(["AAAA 2001:db8:100::30"]);
  expect((await curl(lab, "http://v6only.example.com/")).body).toBe("ok 2001:db8:100::30 80");
});

test("rebinding guard: an allowed name answering with a denied address does not open it", async () => {
  const r = await dig(lab, "rebind.example.com");
  expect(r.answers).toEqual(["A 203.0.113.99"]); // the answer is passed on untouched
  expect(await learned(lab, 4)).not.toContain("203.0.113.99");
  expect((await curl(lab, "http://rebind.example.com/")).code).toBe(7);
  await served.waitEvent((e) => e.event === "net.denied" && e.destination === "203.0.113.99" && e.port === 80);
});

test("a learned address used for DNS-over-TLS: net.denied names the name it was learned under", async () => {
  expect((await curl(lab, "http://www.example.com:853/", "-4")).code).toBe(7);
  const ev = await served.waitEvent((e) => e.event === "net.denied" && e.destination === "198.51.100.20" && e.port === 853);
  expect(ev.name).toBe("www.example.com");
});

test("the status socket reports what was learned", async () => {
  const l = JSON.parse((await served.get("/learned")).body);
  expect(l["www.example.com"].map((e: any) => e.address).sort()).toEqual(["198.51.100.20", "2001:db8:100::20"]);
  const s = JSON.parse((await served.get("/status")).body);
  expect(s.kernel.matches).toBe(true);
  expect(s.measuredLevel).toBe("dns+nftables");
  const m = (await served.get("/metrics")).body;
  expect(m).toMatch(/^egressctl_learned_addresses \d+$/m);
  // the rebinding and DoT tests above were refused by the filter: counted per reason
  expect(Number(/^egressctl_denied_packets_total\{reason="cidr"\} (\d+)$/m.exec(m)?.[1])).toBeGreaterThan(0);
  expect(Number(/^egressctl_denied_packets_total\{reason="dot"\} (\d+)$/m.exec(m)?.[1])).toBeGreaterThan(0);
});
