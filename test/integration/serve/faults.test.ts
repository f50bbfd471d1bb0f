// Faults around a running `egressctl serve`: killed under load and restarted, upstreams
// dead, slow and flapping, and SIGTERM. Seen from the application's side (kdig, curl) and
// in the kernel (nft -j) of the lab's sandbox namespace.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { startKnot } from "../../support/knot.ts";
import { LAB, Lab, waitFor } from "../../support/lab.ts";
import type { Served } from "../../support/serve.ts";
import { args, chains, curl, FULL_CHAINS, dig, egressctlTables, learned, loadLoop, policyText, serve, startStub, status, table, useLab, writePolicy } from "./helpers-serve.ts";

let lab: Lab;
let s: Served | undefined;
let policy: string;

useLab((l) => {
  lab = l;
  policy = writePolicy(lab, policyText(["api.example.com", "other.example.com", "www.example.com"]));
});

const alive = (x: Served) => x.proc.exitCode === null && x.proc.signalCode === null;

describe("serve killed with SIGKILL under load, then restarted", () => {
  test("enforcement is never lifted while it is down; the restart adopts the table and its learned addresses", async () => {
    const first = await serve(lab, args(policy));
    s = first;
    const load = loadLoop(lab, ["api.example.com", "other.example.com", "www.example.com", "evil.example.com"]);
    try {
      await waitFor("the load loop learned api, other and www (cdn)", async () => {
        const l = await learned(lab);
        return ["198.51.100.10", "198.51.100.11", "198.51.100.20"].every((a) => l.includes(a));
      }, 15_000);
      const filterBefore = JSON.stringify((await table(lab))!.filter((o) => o.chain || o.rule).map((o) => ({ ...(o.chain ?? o.rule), handle: 0 })));

      // the process the test kills is serve itself (ip netns exec execs it), not a wrapper
      expect(readFileSync(first.readyFile, "utf8").trim()).toBe(String(first.proc.pid));
      await first.stop("SIGKILL");
      expect(first.proc.signalCode ?? first.proc.exitCode).toBeTruthy();

      // down: the table stays, unchanged, and still decides
      expect(await egressctlTables(lab)).toBe(1);
      expect(JSON.stringify((await table(lab))!.filter((o) => o.chain || o.rule).map((o) => ({ ...(o.chain ?? o.rule), handle: 0 })))).toBe(filterBefore);
      expect(await curl(lab, "198.51.100.66")).toBe(7); // an unlearned address: refused at once
      expect(await curl(lab, "198.51.100.10")).toBe(0); // learned before the kill: still allowed
      // DNS is still redirected to the (closed) proxy port: nothing reaches the upstream
      const d = await dig(lab, "evil.example.com", { timeout: 2 });
      expect(d.addresses).toEqual([]);
      expect(d.rcode).not.toBe("NOERROR");
      expect(await learned(lab)).toEqual(expect.arrayContaining(["198.51.100.10", "198.51.100.11", "198.51.100.20"]));

      // restart, with the load still running
      const second = await serve(lab, args(policy));
      s = second;
      expect(await egressctlTables(lab)).toBe(1);
      const l = await learned(lab);
      expect(l).toEqual(expect.arrayContaining(["198.51.100.10", "198.51.100.11", "198.51.100.20"]));
      expect(new Set(l).size).toBe(l.length);
      const st = await status(second);
      expect(st.measuredLevel).toBe("dns+nftables");
      expect(st.kernel).toMatchObject({ present: true, matches: true, filterHooked: true, natHooked: true });
      expect(await chains(lab)).toEqual(FULL_CHAINS);
      // and serves again
      expect((await dig(lab, "api.example.com")).addresses).toEqual(["198.51.100.10"]);
      expect((await dig(lab, "evil.example.com")).rcode).toBe("NXDOMAIN");
      expect(await curl(lab, "www.example.com")).toBe(0);
      expect(await curl(lab, "198.51.100.66")).toBe(7);
    } finally {
      await load.stop();
    }
    expect(alive(s!)).toBe(true);
    expect(await s!.stop()).toBe(0);
  });
});

describe("serve in dns-only (iptables) killed with SIGKILL, then restarted", () => {
  test("the redirect stays while it is down (DNS fails closed), the restart hooks it once", async () => {
    const env = { EGRESSCTL_NFT_BACKEND: "none" };
    const first = await serve(lab, args(policy), { env });
    s = first;
    expect((await dig(lab, "evil.example.com")).rcode).toBe("NXDOMAIN");
    await first.stop("SIGKILL");
    const nat = async () => (await lab.exec("sandbox", ["iptables", "-t", "nat", "-S"])).stdout;
    expect(await nat()).toContain("-A OUTPUT -j EGRESSCTL-DNS");
    // still redirected to the closed proxy port: no answer from the real upstream
    expect((await dig(lab, "evil.example.com", { timeout: 2 })).addresses).toEqual([]);
    s = await serve(lab, args(policy, LAB.dnsV4, ["--cleanup-on-exit"]), { env });
    expect((await nat()).match(/-A OUTPUT -j EGRESSCTL-DNS/g)).toHaveLength(1);
    expect((await dig(lab, "evil.example.com")).rcode).toBe("NXDOMAIN");
    expect((await dig(lab, "api.example.com")).addresses).toEqual(["198.51.100.10"]);
    expect(await s.stop()).toBe(0);
    expect(await nat()).not.toContain("EGRESSCTL");
  });
});

describe("upstream faults", () => {
  test("only a dead upstream: SERVFAIL within the timeout, serve stays up, upstream.down", async () => {
    // 198.51.100.54 is a world address where nothing listens on port 53: ICMP port unreachable
    s = await serve(lab, args(policy, LAB.dns2V4));
    const d = await dig(lab, "api.example.com", { timeout: 5 });
    expect(d.rcode).toBe("SERVFAIL");
    await s.waitEvent((e) => e.event === "upstream.down" && e.upstream === `${LAB.dns2V4}:53`);
    expect((await dig(lab, "other.example.com", { timeout: 5 })).rcode).toBe("SERVFAIL");
    // a denied name needs no upstream: still answered locally
    expect((await dig(lab, "evil.example.com")).rcode).toBe("NXDOMAIN");
    expect(alive(s)).toBe(true);
    expect((await s.get("/healthz")).status).toBe(200);
    const st = await status(s);
    expect(st.dns.upstreams).toEqual([expect.objectContaining({ upstream: `${LAB.dns2V4}:53`, up: false })]);
    expect(await learned(lab)).not.toContain("198.51.100.10");
  });

  test("only a silent upstream (packets vanish): SERVFAIL after the timeout, serve stays up", async () => {
    // 192.0.2.99 is on the veth link, but nobody has it
    s = await serve(lab, args(policy, "192.0.2.99"));
    expect((await dig(lab, "api.example.com", { timeout: 6 })).rcode).toBe("SERVFAIL");
    await s.waitEvent((e) => e.event === "upstream.down");
    expect(alive(s)).toBe(true);
  });

  test("dead first, live second: answered within the client's timeout", async () => {
    s = await serve(lab, args(policy, `${LAB.dns2V4},${LAB.dnsV4}`));
    const d = await dig(lab, "api.example.com", { timeout: 4 });
    expect(d.rcode).toBe("NOERROR");
    expect(d.addresses).toEqual(["198.51.100.10"]);
    expect(await curl(lab, "api.example.com")).toBe(0);
    await s.waitEvent((e) => e.event === "upstream.down" && e.upstream === `${LAB.dns2V4}:53`);
  });

  test("slow upstream: an answer within the upstream timeout is delivered, and learned", async () => {
    await startStub(lab, { listen: "198.51.100.58", forward: LAB.dnsV4, delayMs: 1500 });
    s = await serve(lab, args(policy, "198.51.100.58"), { env: { OPENSANDBOX_EGRESS_DNS_UPSTREAM_TIMEOUT: "4" } });
    const d = await dig(lab, "other.example.com", { timeout: 8 });
    expect(d.addresses).toEqual(["198.51.100.11"]);
    expect(await learned(lab)).toContain("198.51.100.11");
    expect(await curl(lab, "198.51.100.11")).toBe(0);
    expect(s.events.some((e) => e.event === "upstream.down")).toBe(false);
  });

  test("slow first upstream beyond the timeout, live second: answered via the second", async () => {
    await startStub(lab, { listen: "198.51.100.60", forward: LAB.dnsV4, delayMs: 3000 });
    s = await serve(lab, args(policy, `198.51.100.60,${LAB.dnsV4}`), { env: { OPENSANDBOX_EGRESS_DNS_UPSTREAM_TIMEOUT: "0.5" } });
    expect((await dig(lab, "api.example.com", { timeout: 5 })).addresses).toEqual(["198.51.100.10"]);
    await s.waitEvent((e) => e.event === "upstream.down" && e.upstream === "198.51.100.60:53");
  });

  test("flapping: Knot on the only upstream address stops and comes back; serve recovers (upstream.up)", async () => {
    const addr = "198.51.100.59";
    let knot = await startKnot(lab, { listen: [addr], name: "knot-flap" });
    try {
      s = await serve(lab, args(policy, addr));
      expect((await dig(lab, "api.example.com")).addresses).toEqual(["198.51.100.10"]);
      await knot.stop();
      expect((await dig(lab, "other.example.com", { timeout: 5 })).rcode).toBe("SERVFAIL");
      await s.waitEvent((e) => e.event === "upstream.down" && e.upstream === `${addr}:53`);
      expect(alive(s)).toBe(true);
      knot = await startKnot(lab, { listen: [addr], name: "knot-flap" });
      await waitFor("answers again", async () => (await dig(lab, "other.example.com", { timeout: 2 })).rcode === "NOERROR", 20_000);
      await s.waitEvent((e) => e.event === "upstream.up" && e.upstream === `${addr}:53`, 20_000);
      expect((await dig(lab, "other.example.com")).addresses).toEqual(["198.51.100.11"]);
      expect(await curl(lab, "other.example.com")).toBe(0);
      expect((await status(s)).dns.upstreams).toEqual([expect.objectContaining({ upstream: `${addr}:53`, up: true })]);
    } finally {
      await knot.stop();
    }
  });
});

describe("SIGTERM", () => {
  test("exit 0 and the ruleset stays in force (fail-closed)", async () => {
    s = await serve(lab, args(policy));
    expect((await dig(lab, "api.example.com")).addresses).toEqual(["198.51.100.10"]);
    const ready = s.readyFile;
    expect(await s.stop("SIGTERM")).toBe(0);
    expect(s.events.find((e) => e.event === "stopped")?.ruleset).toMatch(/left in force/);
    expect(existsSync(ready)).toBe(false);
    expect(await egressctlTables(lab)).toBe(1);
    expect(await chains(lab)).toEqual(FULL_CHAINS);
    expect(await curl(lab, "198.51.100.66")).toBe(7);
    expect(await curl(lab, "198.51.100.10")).toBe(0); // learned while it ran: still allowed
    expect((await dig(lab, "evil.example.com", { timeout: 2 })).addresses).toEqual([]);
  });

  test("with --cleanup-on-exit: exit 0 and the table is gone", async () => {
    s = await serve(lab, args(policy, LAB.dnsV4, ["--cleanup-on-exit"]));
    expect(await egressctlTables(lab)).toBe(1);
    expect(await s.stop("SIGTERM")).toBe(0);
    expect(s.events.find((e) => e.event === "stopped")?.ruleset).toBe("removed");
    expect(await table(lab)).toBeNull();
    expect(await egressctlTables(lab)).toBe(0);
    // nothing is enforced any more: DNS goes straight to Knot, any address is reachable
    expect((await dig(lab, "evil.example.com")).addresses).toEqual(["198.51.100.66"]);
    expect(await curl(lab, "198.51.100.66")).toBe(0);
  });
});
