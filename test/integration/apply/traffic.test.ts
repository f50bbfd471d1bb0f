// What the application sees after `egressctl apply` alone (no DNS proxy): allowed CIDRs
// connect, everything else fails at once (reset / ICMP admin-prohibited, not a timeout),
// a deny CIDR beating an allow CIDR whatever their order, DoT and DoH blocked even under defaultAction allow, loopback,
// established flows surviving a re-apply, the DNS redirect, all for IPv4 and IPv6; and
// with --drop-silently the same denials become timeouts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { Lab, LAB, waitFor, waitForOutput } from "../../support/lab.ts";
import { startWorld } from "../../support/world.ts";
import { CLIENTS, curl, mustApply, requireBinary, udp } from "./support.ts";

let lab: Lab;
beforeAll(async () => {
  requireBinary();
  lab = await Lab.create();
  await startWorld(lab);
});
afterAll(async () => {
  await lab?.destroy();
});

const FAST_MS = 2000; // a refusal is immediate; a timeout would take >= 3 s (curl --connect-timeout 3)

// A deny rule beats an overlapping allow rule, listed before it or after it (the second
// pair is the issue's [allow 198.51.100.0/24, deny 198.51.100.20], moved to 203.0.113.0/25
// so that the listed-first pair has the other range), in both families.
const POLICY = `defaultAction: deny
egress:
  - {action: deny, target: 198.51.100.0/25}
  - {action: allow, target: 198.51.100.0/24}
  - {action: allow, target: 203.0.113.0/25}
  - {action: deny, target: 203.0.113.20}
  - {action: deny, target: "2001:db8:100::/112"}
  - {action: allow, target: "2001:db8:100::/96"}
  - {action: allow, target: "2001:db8:200::/112"}
  - {action: deny, target: "2001:db8:200::20"}
`;

const v4 = { allowed: "198.51.100.200", denyFirst: "198.51.100.10", denyAfter: "203.0.113.20", besideDenied: "203.0.113.21", unlisted: "203.0.113.200" };
// canonical (RFC 5952) spellings: the world server echoes the address it was reached on
const v6 = { allowed: "2001:db8:100::1:1", denyFirst: "2001:db8:100::10", denyAfter: "2001:db8:200::20", besideDenied: "2001:db8:200::21", unlisted: "2001:db8:200:0:1::1" };
// A local sender learns of a denied datagram at once either way: netfilter dropping in
// the output hook (reject drops the original too) makes send() fail with EPERM.
const UDP_DENIED = /^error (EPERM|EHOSTUNREACH|EACCES|ECONNREFUSED)$/;

function expectReached(r: Awaited<ReturnType<typeof curl>>, host: string) {
  expect(r.code).toBe(0);
  expect(r.stdout).toContain(`ok ${host} `);
}
function expectRefusedFast(r: Awaited<ReturnType<typeof curl>>) {
  expect(r.code).toBe(7); // couldn't connect: reset / unreachable
  expect(r.ms).toBeLessThan(FAST_MS);
}

describe("deny default, reject", () => {
  beforeAll(() => mustApply(lab, POLICY));

  for (const [fam, a] of [["IPv4", v4], ["IPv6", v6]] as const) {
    test(`${fam}: allowed CIDR connects`, async () => expectReached(await curl(lab, a.allowed), a.allowed));
    test(`${fam}: deny listed before an overlapping allow wins`, async () => expectRefusedFast(await curl(lab, a.denyFirst)));
    test(`${fam}: deny listed after an overlapping allow wins too`, async () => expectRefusedFast(await curl(lab, a.denyAfter)));
    test(`${fam}: the address beside that deny is still allowed`, async () => expectReached(await curl(lab, a.besideDenied), a.besideDenied));
    test(`${fam}: anything else is refused at once`, async () => expectRefusedFast(await curl(lab, a.unlisted)));
    test(`${fam}: UDP to a denied address fails at once`, async () => {
      expect(await udp(lab, a.unlisted, 9)).toMatch(UDP_DENIED);
      expect(await udp(lab, a.allowed, 9)).toBe(`ok ${a.allowed} x`);
    });
  }

  test("loopback works", async () => {
    const srv = lab.spawn("sandbox", ["python3", CLIENTS, "echo-server", "7001"]);
    await waitFor("echo server", async () => (await lab.exec("sandbox", ["python3", "-c", "import socket; socket.create_connection(('127.0.0.1', 7001), 1)"])).code === 0);
    const r = await lab.exec("sandbox", ["python3", "-c", "import socket; s=socket.create_connection(('::1', 7001), 1); s.sendall(b'hi'); print(s.recv(9).decode())"]);
    expect(r.stdout.trim()).toBe("echo hi");
    await lab.stop(srv);
  });

  test("DNS to any resolver, IPv4 and IPv6, is redirected to the proxy port", async () => {
    const proxy = lab.spawn("sandbox", ["python3", CLIENTS, "dns-echo", "15353"]);
    await waitForOutput(proxy, "ready", "the DNS echo listening");
    expect(await udp(lab, LAB.dnsV4, 53)).toBe("proxy");
    expect(await udp(lab, LAB.dnsV6, 53)).toBe("proxy");
    await lab.stop(proxy);
  });

  test("an established TCP flow survives a re-apply that would now refuse it", async () => {
    const host = v4.allowed;
    const srv = lab.spawn("world", ["python3", CLIENTS, "echo-server", "7000"]);
    await waitForOutput(srv, "ready", "the echo server listening");
    const go = join(lab.dir, "go");
    const client = lab.spawn("sandbox", ["python3", CLIENTS, "flow", host, "7000", go]);
    const first = await waitForOutput(client, "echo one", "first echo", () => "flow client exited early");
    const reader = first.reader;
    let out = first.seen;
    await mustApply(lab, "defaultAction: deny\n"); // the address is no longer allowed
    expectRefusedFast(await curl(lab, host));
    writeFileSync(go, "");
    await client.exited;
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      out += new TextDecoder().decode(value);
    }
    expect(out).toContain("echo two");
    await lab.stop(srv);
    await mustApply(lab, POLICY);
  });
});

describe("the issue's case: [allow 198.51.100.0/24, deny 198.51.100.20]", () => {
  beforeAll(() => mustApply(lab, "defaultAction: deny\negress:\n  - {action: allow, target: 198.51.100.0/24}\n  - {action: deny, target: 198.51.100.20}\n"));
  test(".20 is refused although the allow is listed first; .21 connects", async () => {
    expectRefusedFast(await curl(lab, "198.51.100.20"));
    expectReached(await curl(lab, "198.51.100.21"), "198.51.100.21");
  });
});

describe("default allow", () => {
  beforeAll(() => mustApply(lab, "defaultAction: allow\negress:\n  - {action: deny, target: 198.51.100.0/25}\n"));

  test("unlisted addresses connect", async () => {
    expectReached(await curl(lab, v4.unlisted), v4.unlisted);
    expectReached(await curl(lab, v6.unlisted), v6.unlisted);
  });
  test("deny CIDRs still refuse", async () => expectRefusedFast(await curl(lab, v4.denyFirst)));
  for (const [fam, dot, doh] of [["IPv4", LAB.dotV4, LAB.dohV4], ["IPv6", LAB.dotV6, LAB.dohV6]] as const) {
    test(`${fam}: DoT (TCP and UDP 853) is blocked`, async () => {
      expectRefusedFast(await curl(lab, dot, 853));
      expect(await udp(lab, dot, 853)).toMatch(UDP_DENIED);
    });
    test(`${fam}: DoH provider blocked on 443 (TCP and UDP), reachable on 80`, async () => {
      expectRefusedFast(await curl(lab, doh, 443));
      expect(await udp(lab, doh, 443)).toMatch(UDP_DENIED);
      expectReached(await curl(lab, doh, 80), doh);
    });
  }
  test("a static allow of a DoH provider wins over the DoH block", async () => {
    await mustApply(lab, `defaultAction: deny\negress:\n  - {action: allow, target: ${LAB.dohV4}}\n`);
    expectReached(await curl(lab, LAB.dohV4, 443), LAB.dohV4);
  });
});

describe("--drop-silently", () => {
  beforeAll(() => mustApply(lab, POLICY, ["--drop-silently"]));
  test("TCP denials become timeouts (curl 28), allowed still connects", async () => {
    expectReached(await curl(lab, v4.allowed), v4.allowed);
    expect((await curl(lab, v4.unlisted)).code).toBe(28);
    expect((await curl(lab, v6.unlisted)).code).toBe(28);
    expect(await udp(lab, v4.unlisted, 9)).toBe("error EPERM"); // local drop: see UDP_DENIED
  }, 20_000); // two connect timeouts of 3 s each, by design
});

describe("--audit", () => {
  beforeAll(() => mustApply(lab, POLICY, ["--audit"]));
  test("would-be denials get through and are counted", async () => {
    expectReached(await curl(lab, v4.unlisted), v4.unlisted);
    const c = await lab.exec("sandbox", ["nft", "list", "counter", "inet", "egressctl", "denied_default"]);
    expect(c.stdout).not.toMatch(/packets 0 /);
  });
});
