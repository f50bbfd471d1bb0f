// OPENSANDBOX_EGRESS_NAMESERVER_EXEMPT in the lab: a second real resolver (Knot on the
// lab's dns2 addresses) is exempt. DNS to it is neither redirected nor dropped, so the
// application gets its real answers, even for names the policy denies; everything else
// about it stays closed: its answers are not learned, and only port 53 is open to it.
// DNS to any other server still goes through the proxy. Checked with the nftables
// redirect + filter and with the iptables fallback.
import { describe, expect, test } from "bun:test";
import { startKnot } from "../../support/knot.ts";
import { LAB, Lab } from "../../support/lab.ts";
import type { Served } from "../../support/serve.ts";
import { args, curl, dig, learned, policyText, serve, status, useLab, writePolicy } from "./helpers-serve.ts";

let lab: Lab;
let policy: string;
let s: Served | undefined;

useLab(async (l) => {
  lab = l;
  policy = writePolicy(lab, policyText(["api.example.com"]));
  await startKnot(lab, { listen: [LAB.dns2V4, LAB.dns2V6], name: "knot2" });
});

const EXEMPT = { OPENSANDBOX_EGRESS_NAMESERVER_EXEMPT: `${LAB.dns2V4}, ${LAB.dns2V6}` };

describe("exempt nameservers", () => {
  test("dns+nftables: DNS to them goes out unjudged, nothing they answer is opened, and only port 53 is", async () => {
    s = await serve(lab, args(policy), { env: EXEMPT });
    expect(await status(s)).toMatchObject({ measuredLevel: "dns+nftables", nameserverExempt: [`${LAB.dns2V4}/32`, `${LAB.dns2V6}/128`] });
    // straight to the exempt server, UDP and TCP, IPv4 and IPv6: its own answer
    for (const server of [LAB.dns2V4, LAB.dns2V6]) {
      for (const tcp of [false, true]) {
        const d = await dig(lab, "evil.example.com", { server, tcp });
        expect({ server, tcp, ...d, raw: undefined }).toEqual({ server, tcp, rcode: "NOERROR", addresses: ["198.51.100.66"], raw: undefined });
      }
    }
    // ...but what it answered is not learned, so the address stays closed
    expect(await learned(lab)).not.toContain("198.51.100.66");
    expect(await curl(lab, "198.51.100.66")).toBe(7);
    // only DNS is open to the exempt server: its port 80 is refused like any other
    expect(await curl(lab, LAB.dns2V4)).toBe(7);
    expect(await curl(lab, LAB.dns2V6)).toBe(7);
    // any other server is still intercepted, and allowed names still work through the proxy
    expect((await dig(lab, "evil.example.com")).rcode).toBe("NXDOMAIN");
    expect((await dig(lab, "evil.example.com", { server: LAB.dnsV6 })).rcode).toBe("NXDOMAIN");
    expect((await dig(lab, "api.example.com")).addresses).toEqual(["198.51.100.10"]);
    expect(await curl(lab, "api.example.com")).toBe(0);
    expect(await s.stop("SIGTERM")).toBe(0);
  });

  test("an exempt upstream: the proxy's own queries to it go unmarked, and the self-test probes elsewhere", async () => {
    s = await serve(lab, args(policy, LAB.dnsV4), { env: { OPENSANDBOX_EGRESS_NAMESERVER_EXEMPT: LAB.dnsV4 } });
    expect(s.events.find((e) => e.event === "exempt.upstream")).toMatchObject({ upstream: `${LAB.dnsV4}:53` });
    // the self-test's probe to the exempt upstream would prove nothing; it went elsewhere
    expect((await status(s)).measuredLevel).toBe("dns+nftables");
    // the proxy's sockets to its upstream carry no mark (ss shows fwmark only when set)
    const sockets = (await lab.exec("sandbox", ["ss", "-uanpe", "dst", `${LAB.dnsV4}:53`])).stdout;
    expect(sockets).toContain("egressctl");
    expect(sockets).not.toContain("fwmark");
    // a query to any other address is the proxy's, answered through the unmarked upstream
    expect((await dig(lab, "api.example.com", { server: "198.51.100.99" })).addresses).toEqual(["198.51.100.10"]);
    expect(await curl(lab, "api.example.com")).toBe(0);
    expect((await dig(lab, "evil.example.com", { server: "198.51.100.99" })).rcode).toBe("NXDOMAIN");
    expect((await dig(lab, "evil.example.com", { server: LAB.dnsV4 })).addresses).toEqual(["198.51.100.66"]);
    expect(await s.stop("SIGTERM")).toBe(0);
  });

  test("without the variable the same server is intercepted like any other", async () => {
    s = await serve(lab, args(policy));
    expect((await dig(lab, "evil.example.com", { server: LAB.dns2V4 })).rcode).toBe("NXDOMAIN");
    expect((await dig(lab, "evil.example.com", { server: LAB.dns2V4, tcp: true })).rcode).toBe("NXDOMAIN");
    expect(await s.stop("SIGTERM")).toBe(0);
  });

  test("a bad entry (a name, a range) is reported and left out; the good ones still apply", async () => {
    s = await serve(lab, args(policy), { env: { OPENSANDBOX_EGRESS_NAMESERVER_EXEMPT: `resolver.example,2001:db8:100::/64,${LAB.dns2V4}` } });
    const ignored = s.events.filter((e) => e.event === "exempt.ignored").map((e) => e.problem);
    expect(ignored).toEqual([expect.stringContaining("'resolver.example'"), expect.stringContaining("'2001:db8:100::/64' is a range")]);
    expect((await dig(lab, "evil.example.com", { server: LAB.dns2V4 })).addresses).toEqual(["198.51.100.66"]);
    expect((await dig(lab, "evil.example.com", { server: LAB.dns2V6 })).rcode).toBe("NXDOMAIN");
    expect(await s.stop("SIGTERM")).toBe(0);
  });

  test("dns-only: exempt in the nftables redirect, with a warning that it bypasses the name policy", async () => {
    s = await serve(lab, args(policy, LAB.dnsV4, ["--mode", "dns-only"]), { env: EXEMPT });
    expect(s.events.find((e) => e.event === "exempt.bypass")).toMatchObject({ level: "warn", nameservers: [`${LAB.dns2V4}/32`, `${LAB.dns2V6}/128`] });
    expect((await dig(lab, "evil.example.com", { server: LAB.dns2V4 })).addresses).toEqual(["198.51.100.66"]);
    expect((await dig(lab, "evil.example.com")).rcode).toBe("NXDOMAIN");
    expect(await s.stop("SIGTERM")).toBe(0);
  });

  test("iptables fallback: the exempt servers are returned before the redirect, in both families", async () => {
    s = await serve(lab, args(policy, LAB.dnsV4, ["--cleanup-on-exit"]), { env: { ...EXEMPT, EGRESSCTL_NFT_BACKEND: "none" } });
    expect(s.events.find((e) => e.event === "mode")).toMatchObject({ mode: "dns-only", redirect: "iptables" });
    const v4 = (await lab.exec("sandbox", ["iptables", "-t", "nat", "-S", "EGRESSCTL-DNS"])).stdout;
    const v6 = (await lab.exec("sandbox", ["ip6tables", "-t", "nat", "-S", "EGRESSCTL-DNS"])).stdout;
    expect(v4).toContain(`-A EGRESSCTL-DNS -d ${LAB.dns2V4}/32 -p udp -m udp --dport 53 -j RETURN`);
    expect(v6).toContain(`-A EGRESSCTL-DNS -d ${LAB.dns2V6}/128 -p tcp -m tcp --dport 53 -j RETURN`);
    for (const server of [LAB.dns2V4, LAB.dns2V6]) {
      expect((await dig(lab, "evil.example.com", { server })).addresses).toEqual(["198.51.100.66"]);
      expect((await dig(lab, "evil.example.com", { server, tcp: true })).addresses).toEqual(["198.51.100.66"]);
    }
    expect((await dig(lab, "evil.example.com")).rcode).toBe("NXDOMAIN");
    expect((await dig(lab, "evil.example.com", { server: LAB.dnsV6 })).rcode).toBe("NXDOMAIN");
    expect(await s.stop("SIGTERM")).toBe(0);
  });
});
