// Upstream faults (dead, silent, slow, flapping, all down) and the exemption mark on the
// proxy's upstream packets, seen by an nft counter in the lab sandbox.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { EXEMPT_MARK } from "../../../src/core/ruleset/names.ts";
import { startKnot } from "../../support/knot.ts";
import { LAB, Lab, waitFor } from "../../support/lab.ts";
import { answers, kdig, startHarness, startStub } from "./support.ts";

const POLICY = JSON.stringify({ defaultAction: "deny", egress: [{ action: "allow", target: "*.example.com" }, { action: "allow", target: "many.example.com" }] });
let lab: Lab;
let port = 15400;

beforeAll(async () => {
  lab = await Lab.create();
  await startKnot(lab);
});
afterAll(async () => {
  await lab?.destroy();
});

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t = Date.now();
  const v = await f();
  return [v, Date.now() - t];
}

describe("upstream faults", () => {
  test("dead first upstream (ICMP unreachable): answered via the second, down reported", async () => {
    const p = ++port;
    const h = await startHarness(lab, { policy: POLICY, upstreams: `${LAB.dns2V4}, ${LAB.dnsV4}`, listen: [{ host: "127.0.0.1", port: p }], timeoutMs: 2000 });
    const [got, ms] = await timed(() => answers(lab, "127.0.0.1", p, "api.example.com", "A"));
    expect(got).toEqual(["198.51.100.10"]);
    expect(ms).toBeLessThan(2000); // refused at once, no timeout spent
    await h.waitEvent("down", (e) => e.type === "upstream.down" && e.upstream === `${LAB.dns2V4}:53`);
    await h.stop();
  });

  test("silent first upstream: answered via the second after one timeout, then directly", async () => {
    const p = ++port;
    // 192.0.2.99 is on the veth link but nobody has it: packets vanish, nothing answers
    const h = await startHarness(lab, { policy: POLICY, upstreams: `192.0.2.99, ${LAB.dnsV4}`, listen: [{ host: "127.0.0.1", port: p }], timeoutMs: 500 });
    expect(await answers(lab, "127.0.0.1", p, "api.example.com", "A")).toEqual(["198.51.100.10"]);
    await h.waitEvent("down", (e) => e.type === "upstream.down");
    const [, ms] = await timed(() => answers(lab, "127.0.0.1", p, "other.example.com", "A"));
    expect(ms).toBeLessThan(500); // the down upstream is skipped now
    const s = await h.stats();
    expect(s.upstreamTimeouts).toBeGreaterThanOrEqual(1);
    await h.stop();
  });

  test("slow upstream: beyond the timeout fails over, within it answers", async () => {
    await startStub(lab, { listen: "198.51.100.56", forward: LAB.dnsV4, delayMs: 1200 });
    const p1 = ++port;
    const fast = await startHarness(lab, { policy: POLICY, upstreams: `198.51.100.56, ${LAB.dnsV4}`, listen: [{ host: "127.0.0.1", port: p1 }], timeoutMs: 400 });
    expect(await answers(lab, "127.0.0.1", p1, "api.example.com", "A")).toEqual(["198.51.100.10"]);
    await fast.stop();
    const p2 = ++port;
    const patient = await startHarness(lab, { policy: POLICY, upstreams: "198.51.100.56", listen: [{ host: "127.0.0.1", port: p2 }], timeoutMs: 3000 });
    const [got, ms] = await timed(() => answers(lab, "127.0.0.1", p2, "api.example.com", "A"));
    expect(got).toEqual(["198.51.100.10"]);
    expect(ms).toBeGreaterThanOrEqual(1100);
    await patient.stop();
  });

  test("flapping upstream: down, failover, probed back up, used again", async () => {
    const stub = await startStub(lab, { listen: "198.51.100.57", forward: LAB.dnsV4 });
    const p = ++port;
    const h = await startHarness(lab, { policy: POLICY, upstreams: `198.51.100.57, ${LAB.dnsV4}`, listen: [{ host: "127.0.0.1", port: p }], timeoutMs: 400 });
    expect(await answers(lab, "127.0.0.1", p, "api.example.com", "A")).toEqual(["198.51.100.10"]);
    expect(stub.queries).toContain("api.example.com");
    for (let round = 0; round < 2; round++) {
      const downs = h.events.filter((e) => e.type === "upstream.down").length;
      const ups = h.events.filter((e) => e.type === "upstream.up").length;
      stub.proc.kill("SIGUSR1");
      expect(await answers(lab, "127.0.0.1", p, `n${round}.fresh.example.com`, "A")).toHaveLength(1);
      await waitFor("down event", () => h.events.filter((e) => e.type === "upstream.down").length > downs);
      stub.proc.kill("SIGUSR2");
      await waitFor("up event (probe)", () => h.events.filter((e) => e.type === "upstream.up").length > ups, 15_000);
      const before = stub.queries.length;
      expect(await answers(lab, "127.0.0.1", p, "other.example.com", "A")).toEqual(["198.51.100.11"]);
      expect(stub.queries.length).toBeGreaterThan(before);
    }
    await h.stop();
  });

  test("every upstream down: SERVFAIL within attempts x timeout", async () => {
    const p = ++port;
    const h = await startHarness(lab, { policy: POLICY, upstreams: "192.0.2.98, 192.0.2.99", listen: [{ host: "127.0.0.1", port: p }], timeoutMs: 300 });
    const [out, ms] = await timed(() => kdig(lab, ["@127.0.0.1", "-p", String(p), "api.example.com"]));
    expect(out).toContain("status: SERVFAIL");
    expect(ms).toBeLessThan(3000);
    await h.stop();
  });
});

describe("exemption mark", () => {
  test("every upstream packet (UDP, TCP retry, TCP) carries EXEMPT_MARK", async () => {
    const mark = `0x${EXEMPT_MARK.toString(16)}`;
    const table = [
      "table inet egldnsmark {",
      "  chain out { type filter hook output priority 0; policy accept;",
      `    meta mark ${mark} udp dport 53 counter`,
      `    meta mark ${mark} tcp dport 53 counter`,
      "    udp dport 53 counter",
      "    tcp dport 53 counter",
      "  }",
      "}",
    ].join("\n");
    const add = await lab.exec("sandbox", ["nft", "-f", "-"], { stdin: table });
    expect(add.stderr).toBe("");
    const p = ++port;
    const h = await startHarness(lab, { policy: POLICY, upstreams: LAB.dnsV4, listen: [{ host: "127.0.0.1", port: p }] });
    expect(await answers(lab, "127.0.0.1", p, "api.example.com", "A")).toEqual(["198.51.100.10"]);
    expect(await answers(lab, "127.0.0.1", p, "api.example.com", "AAAA", ["+tcp"])).toEqual(["2001:db8:100::10"]);
    await kdig(lab, ["@127.0.0.1", "-p", String(p), "+notcp", "+ignore", "+noedns", "many.example.com"]);
    await h.stop();
    const list = await lab.exec("sandbox", ["nft", "-j", "list", "chain", "inet", "egldnsmark", "out"]);
    const counts = (JSON.parse(list.stdout).nftables as { rule?: { expr: { counter?: { packets: number } }[] } }[])
      .filter((x) => x.rule)
      .map((x) => x.rule!.expr.find((e) => e.counter)!.counter!.packets);
    const [markedUdp, markedTcp, allUdp, allTcp] = counts as [number, number, number, number];
    expect(markedUdp).toBeGreaterThan(0);
    expect(markedTcp).toBeGreaterThan(0);
    expect(markedUdp).toBe(allUdp);
    expect(markedTcp).toBe(allTcp);
    await lab.exec("sandbox", ["nft", "delete", "table", "inet", "egldnsmark"]);
  });
});
