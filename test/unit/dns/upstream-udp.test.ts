// The UDP upstream on loopback (no marks): an attempt nobody answers fails with "timeout"
// by the sweep, within SWEEP_MS of its timeout; an answered one resolves; the queries of
// one ROTATE_MS window leave from one socket of the pool, and a later window may pick another.
import { afterEach, expect, test } from "bun:test";
import dnsPacket from "dns-packet";
import { parseUpstreamList } from "../../../src/core/dns/upstreams.ts";
import { ROTATE_MS, SWEEP_MS, UdpUpstream } from "../../../src/effects/dns/upstream-udp.ts";
import type { Attempt } from "../../../src/effects/dns/upstream-types.ts";

const opened: { close(): void }[] = [];
afterEach(() => {
  for (const s of opened.splice(0)) s.close();
});

/** a resolver on loopback: answers `api.example.com A` unless silent; records source ports */
async function resolver(silent: boolean) {
  const ports: number[] = [];
  const s = await Bun.udpSocket({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(sock, buf, port, address) {
        ports.push(port);
        if (silent) return;
        const q = dnsPacket.decode(buf);
        const answer = dnsPacket.encode({ type: "response", id: q.id, questions: q.questions, answers: [{ type: "A", name: "api.example.com", ttl: 60, data: "198.51.100.10" }] });
        sock.send(answer, port, address);
      },
    },
  });
  opened.push(s);
  const up = await UdpUpstream.open(parseUpstreamList(`127.0.0.1:${s.port}`).upstreams[0]!, null);
  opened.push(up);
  return { up, ports };
}

const question = { name: "api.example.com", qtype: 1, qclass: 1 };

/** one attempt's outcome, as the upstream tells its waiter */
function attempt(up: UdpUpstream, timeoutMs: number): Promise<Attempt> {
  return new Promise((resolve) => up.query(query(), question, timeoutMs, { settled: resolve }));
}
const query = () => dnsPacket.encode({ type: "query", id: 0, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: "A", name: "api.example.com" }] });

test("an attempt nobody answers fails with timeout, between its timeout and one sweep later", async () => {
  const { up } = await resolver(true);
  const started = performance.now();
  const a = await attempt(up, 100);
  const ms = performance.now() - started;
  expect(a).toEqual({ ok: false, why: "timeout" });
  expect(ms).toBeGreaterThanOrEqual(100);
  expect(ms).toBeLessThan(100 + SWEEP_MS + 80); // 80: the event loop's own slack on a busy machine
});

test("answered attempts resolve with the answer; many at once, each by its own ID", async () => {
  const { up } = await resolver(false);
  const all = await Promise.all(Array.from({ length: 20 }, () => attempt(up, 2000)));
  for (const a of all) {
    expect(a.ok).toBe(true);
    if (a.ok) expect(a.info.addresses).toEqual([{ family: 4, address: "198.51.100.10" }]);
  }
  expect(up.ignored).toBe(0);
});

test("queries of one window leave from one socket; over many windows, from several", async () => {
  const { up, ports } = await resolver(false);
  await Promise.all(Array.from({ length: 10 }, () => attempt(up, 2000)));
  expect(new Set(ports).size).toBe(1);
  // eight windows: the chance that all pick the same one of 8 sockets is 8^-7
  for (let w = 0; w < 8; w++) {
    await Bun.sleep(ROTATE_MS + 5);
    await attempt(up, 2000);
  }
  expect(new Set(ports).size).toBeGreaterThan(1);
});
