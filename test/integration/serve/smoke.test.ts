// The OpenSandbox egress sidecar's smoke scenarios, re-created in the lab with the real
// binary, a real Knot upstream and real clients.
import { describe, expect, test } from "bun:test";
import { LAB, Lab } from "../../support/lab.ts";
import { serveArgs, type Served } from "../../support/serve.ts";
import { serve, useLab } from "./helpers-serve.ts";
import { curl, dig, getent, pyConnect } from "./clients.ts";

// one lab per file: Knot and the world's hosts; serves and the table removed after each test
let lab!: Lab;
let served: Served | null = null;
useLab((l) => void (lab = l));

const policy = (yaml: string) => lab.file(`policy-${Math.random().toString(36).slice(2)}.yaml`, yaml);
const DOH_ENV = { OPENSANDBOX_EGRESS_DOH_BLOCKLIST: `${LAB.dohV4},${LAB.dohV6}` };

describe("dns-only mode", () => {
  test("a denied name is NXDOMAIN with EDE, a name under an allowed wildcard resolves", async () => {
    const p = policy(`defaultAction: deny
egress:
  - { action: allow, target: "*.pypi.example.com" }
  - { action: deny, target: 203.0.113.0/24 }
`);
    served = await serve(lab, serveArgs(p, ["--mode", "dns-only"]), { env: DOH_ENV });
    // policy warnings are logged: the wildcard's apex is not listed, and CIDR rules do
    // nothing in dns-only mode
    const warnings = served.events.filter((e) => e.event === "policy.warning");
    expect(warnings.some((w) => w.path === "egress[0].target" && w.message.includes(`does not match "pypi.example.com" itself`))).toBe(true);
    expect(warnings.some((w) => w.code === "ignored-in-mode")).toBe(true);
    // the application asks the resolver from resolv.conf; the redirect sends it to serve
    const denied = await dig(lab, "evil.example.com", "+edns");
    expect(denied.status).toBe("NXDOMAIN");
    expect(denied.ede).toContain("Blocked");
    expect(denied.ede).toContain("default deny");
    const allowed = await dig(lab, "files.pypi.example.com");
    expect(allowed.status).toBe("NOERROR");
    expect(allowed.answers).toEqual(["A 198.51.100.41"]);
    // the apex is not under the wildcard
    expect((await dig(lab, "pypi.example.com")).status).toBe("NXDOMAIN");
    // dns-only filters no packets: a direct address is reachable (the documented limitation)
    expect((await curl(lab, "http://198.51.100.77/")).code).toBe(0);
    const status = JSON.parse((await served.get("/status")).body);
    expect(status.mode).toBe("dns-only");
    expect(status.measuredLevel).toBe("dns-only");
  });
});

describe("dns+nftables, default allow plus deny rules", () => {
  test("denied name, deny CIDR and DoT are blocked; everything else is allowed", async () => {
    const p = policy(`defaultAction: allow
egress:
  - { action: deny, target: evil.example.com }
  - { action: deny, target: 203.0.113.0/25 }
`);
    served = await serve(lab, serveArgs(p), { env: DOH_ENV });
    expect((await dig(lab, "evil.example.com")).status).toBe("NXDOMAIN");
    expect((await curl(lab, "http://evil.example.com/")).code).toBe(6);
    // deny CIDR: refused at once, not a timeout
    expect((await curl(lab, "http://203.0.113.10/")).code).toBe(7);
    // DoT to any address, DoH to a listed provider: blocked even with default allow
    expect((await curl(lab, "http://198.51.100.77:853/")).code).toBe(7);
    expect((await curl(lab, `https://${LAB.dohV4}/`, "-k")).code).toBe(7);
    expect((await curl(lab, `https://[${LAB.dohV6}]/`, "-k")).code).toBe(7);
    // others: by name and by address, IPv4 and IPv6
    expect((await curl(lab, "http://other.example.com/")).body).toBe("ok 198.51.100.11 80");
    expect((await curl(lab, "http://203.0.113.200/")).body).toBe("ok 203.0.113.200 80");
    expect((await curl(lab, "http://[2001:db8:200::7]:8080/")).body).toBe("ok 2001:db8:200::7 8080");
  });
});

describe("dns+nftables, default deny plus one allowed name", () => {
  test("the allowed name is reachable through its learned address; nothing else is", async () => {
    const p = policy(`defaultAction: deny
egress:
  - { action: allow, target: api.example.com }
`);
    served = await serve(lab, serveArgs(p), { env: DOH_ENV });
    expect((await curl(lab, "http://api.example.com/", "-4")).body).toBe("ok 198.51.100.10 80");
    expect((await curl(lab, "http://api.example.com/", "-6")).body).toBe("ok 2001:db8:100::10 80");
    expect(await pyConnect(lab, "api.example.com")).toBe("ok ok 198.51.100.10 80");
    expect((await getent(lab, "api.example.com")).addresses.sort()).toEqual(["198.51.100.10", "2001:db8:100::10"]);
    // another name: NXDOMAIN; its address directly: refused at once, both families
    expect((await curl(lab, "http://other.example.com/")).code).toBe(6);
    expect((await getent(lab, "other.example.com")).code).not.toBe(0);
    expect((await curl(lab, "http://198.51.100.11/")).code).toBe(7);
    expect((await curl(lab, "http://[2001:db8:100::11]/")).code).toBe(7);
    // a UDP datagram to an unlearned address gets ICMP admin-prohibited: an error at once
    const py = await lab.exec("sandbox", ["python3", "-c", `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
s.connect(("198.51.100.11", 9))
try:
    s.send(b"x"); s.recv(100); print("reached")
except Exception as e:
    print(type(e).__name__)
`]);
    expect(py.stdout.trim()).toMatch(/PermissionError|ConnectionRefusedError|OSError/);
    // Bun's own fetch, as an application written in Bun would see it
    const bun = await lab.exec("sandbox", [process.execPath, "-e", "const r = await fetch('http://api.example.com/'); console.log(await r.text())"]);
    expect(bun.stdout.trim()).toMatch(/^ok (198\.51\.100\.10|2001:db8:100::10) 80$/);
    const v = JSON.parse((await served.get("/violations")).body);
    expect(v.some((e: any) => e.name === "other.example.com" && e.rule === "default deny")).toBe(true);
    // the refused connections are events too: destination, port and protocol
    const tcp = await served.waitEvent((e) => e.event === "net.denied" && e.destination === "198.51.100.11" && e.port === 80);
    expect(tcp.protocol).toBe("tcp");
    expect(tcp.level).toBe("warn");
    await served.waitEvent((e) => e.event === "net.denied" && e.destination === "2001:db8:100::11" && e.protocol === "tcp");
    await served.waitEvent((e) => e.event === "net.denied" && e.destination === "198.51.100.11" && e.protocol === "udp" && e.port === 9);
    const v2 = JSON.parse((await served.get("/violations")).body);
    expect(v2.some((e: any) => e.event === "net.denied" && e.destination === "198.51.100.11" && e.port === 80)).toBe(true);
  });
});

describe("upstream failover", () => {
  test("a dead first upstream and a live second: answers within the timeout", async () => {
    const p = policy(`egress:\n  - { action: allow, target: api.example.com }\n`);
    served = await serve(lab, ["serve", p, "--upstream", `${LAB.dns2V4},${LAB.dnsV4}`], {
      env: { ...DOH_ENV, OPENSANDBOX_EGRESS_DNS_UPSTREAM_TIMEOUT: "1" },
    });
    const r = await dig(lab, "api.example.com");
    expect(r.status).toBe("NOERROR");
    expect(r.answers).toEqual(["A 198.51.100.10"]);
  });
});
