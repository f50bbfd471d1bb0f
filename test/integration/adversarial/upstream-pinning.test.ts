// resolv.conf across restarts. A root application without NET_ADMIN can rewrite
// /etc/resolv.conf (in the lab, /etc/netns/<sandbox>/resolv.conf is what the sandbox
// sees). A serve that read it again after a crash would take the attacker's resolver as
// its upstream and mark its queries to it. serve records its upstreams in the kernel
// (sets upstreams4/upstreams6) and a later start without --upstream keeps them. The
// attacker's resolver, a real Knot in the world, must see nothing from the sandbox.
import { readFileSync } from "node:fs";
import { describe, expect, test } from "bun:test";
import { as, IDENTITIES } from "../../support/attacker.ts";
import { startKnot } from "../../support/knot.ts";
import { BIN } from "../../support/serve.ts";
import { serveExit } from "../serve/helpers-serve.ts";
import { LAB, capture, restart, useAdversarialLab } from "./support.ts";

const EVIL_RESOLVER = "203.0.113.53";
const get = useAdversarialLab({
  upstream: false,
  // the attacker's resolver: it would answer api.example.com with an address of its own
  before: async (lab) => void (await startKnot(lab, {
    name: "evil-knot",
    listen: [EVIL_RESOLVER],
    zones: [{ origin: "example.com", records: ["api 300 A 203.0.113.66", "ns1 300 A 203.0.113.66"] }],
  })),
});

const sandboxResolvConf = () => readFileSync(`/etc/netns/${get().lab.sandbox}/resolv.conf`, "utf8");
const status = async () => JSON.parse((await get().served.get("/status")).body);

describe("the upstreams of a first start, read from resolv.conf", () => {
  test("recorded in the kernel with their origin; /status says resolv.conf; doctor warns", async () => {
    const { lab, served } = get();
    expect(served.events.some((e) => e.event === "upstream.pinned")).toBe(false);
    const st = await status();
    expect(st.upstreams).toEqual({ origin: "resolv.conf", pinned: false, local: [] });
    expect(st.kernel.upstreams).toEqual({ origin: "resolv.conf", recorded: [`${LAB.dnsV4}:53`] }); // read back from the kernel
    const set = await lab.exec("sandbox", ["nft", "list", "set", "inet", "egressctl", "upstreams4"]);
    expect(set.stdout).toContain(`${LAB.dnsV4} . 53 comment "1 resolv.conf"`);
    const d = JSON.parse((await lab.exec("sandbox", [BIN, "doctor", "--json", "--socket", served.socket])).stdout);
    expect(d.findings.find((f: any) => f.check === "upstreams.origin")).toMatchObject({ status: "warn" });
  });
});

describe("resolv.conf rewritten by the application, then serve SIGKILLed and restarted", () => {
  test("nobody cannot write it; root without NET_ADMIN can", async () => {
    const { lab } = get();
    const write = (who: (typeof IDENTITIES)[number]) => lab.exec("sandbox", as(who, ["sh", "-c", `echo "nameserver ${EVIL_RESOLVER}" > /etc/resolv.conf`]));
    const nobody = await write("nobody");
    expect(nobody.code).not.toBe(0);
    expect(nobody.stderr).toMatch(/Permission denied/);
    expect(sandboxResolvConf()).not.toContain(EVIL_RESOLVER);
    expect((await write("root-nocap")).code).toBe(0);
    expect(sandboxResolvConf()).toContain(`nameserver ${EVIL_RESOLVER}`);
  });

  test("the restart keeps the recorded upstream and says what resolv.conf names now", async () => {
    const ctx = get();
    const s = await restart(ctx, { upstream: false });
    const ev = s.events.find((e) => e.event === "upstream.pinned")!;
    expect(ev).toMatchObject({ level: "warn", upstreams: [`${LAB.dnsV4}:53`], resolvConf: [`${EVIL_RESOLVER}:53`], origin: "resolv.conf" });
    const st = await status();
    expect(st.upstreams).toEqual({ origin: "resolv.conf", pinned: true, local: [] });
    expect(st.dns.upstreams.map((u: any) => u.upstream)).toEqual([`${LAB.dnsV4}:53`]);
  });

  test("names resolve through the pinned upstream, for both identities; the attacker's resolver sees nothing", async () => {
    const { lab } = get();
    const cap = await capture(lab, ["host", EVIL_RESOLVER]);
    try {
      for (const who of IDENTITIES) {
        // glibc reads the rewritten resolv.conf and asks the attacker's address: the
        // redirect takes it to the proxy, which asks the pinned upstream
        const g = await lab.exec("sandbox", as(who, ["getent", "ahostsv4", "api.example.com"]));
        expect(g.stdout.split(/\s+/)[0]).toBe("198.51.100.10");
        const k = await lab.exec("sandbox", as(who, ["kdig", "+short", "+timeout=3", "+retry=0", `@${EVIL_RESOLVER}`, "api.example.com", "A"]));
        expect(k.stdout.trim()).toBe("198.51.100.10");
        const t = await lab.exec("sandbox", as(who, ["kdig", "+short", "+tcp", "+timeout=3", "+retry=0", `@${EVIL_RESOLVER}`, "api.example.com", "A"]));
        expect(t.stdout.trim()).toBe("198.51.100.10");
      }
      // control: the attacker's resolver answers, and the capture sees it, when asked from the world
      const w = await lab.exec("world", ["kdig", "+short", "+timeout=3", "+retry=0", `@${EVIL_RESOLVER}`, "control.api.example.com", "A"]);
      expect(w.code).toBe(0);
      await cap.until("control");
      expect((await lab.exec("world", ["kdig", "+short", `@${EVIL_RESOLVER}`, "api.example.com", "A"])).stdout.trim()).toBe("203.0.113.66");
      // nothing from the sandbox ever reached it
      expect(cap.text()).not.toContain(LAB.sandboxV4);
      expect(cap.text()).not.toContain(LAB.sandboxV6);
    } finally {
      await cap.stop();
    }
  });

  test("an explicit --upstream still wins, and replaces the record (upstream.replaced)", async () => {
    const ctx = get();
    const s = await restart(ctx, { flags: ["--upstream", `${LAB.dns2V4},${LAB.dnsV4}`] });
    expect(s.events.find((e) => e.event === "upstream.replaced")).toMatchObject({ recorded: [`${LAB.dnsV4}:53`], upstreams: [`${LAB.dns2V4}:53`, `${LAB.dnsV4}:53`] });
    const set = await ctx.lab.exec("sandbox", ["nft", "list", "set", "inet", "egressctl", "upstreams4"]);
    expect(set.stdout).toContain(`${LAB.dns2V4} . 53 comment "1 configured"`);
    expect(set.stdout).toContain(`${LAB.dnsV4} . 53 comment "2 configured"`);
    expect((await status()).upstreams).toEqual({ origin: "configured", pinned: false, local: [] });
  });
});

describe("an upstream that is the namespace itself", () => {
  test.each([
    ["the sandbox's own address", LAB.sandboxV4],
    ["loopback", "127.0.0.1:5353"],
    ["its IPv6 address", `[${LAB.sandboxV6}]:53`],
  ])("%s (%s) is refused: nothing usable, exit 1, nothing loaded", async (_what, up) => {
    const { lab } = get();
    await get().served.stop("SIGKILL");
    await lab.exec("sandbox", ["nft", "delete", "table", "inet", "egressctl"]);
    const r = await serveExit(lab, ["serve", "--upstream", up]);
    expect(r.code).toBe(1);
    expect(r.events.find((e) => e.event === "upstream.ignored")?.problem).toMatch(/address of this network namespace/);
    expect((await lab.exec("sandbox", ["nft", "list", "table", "inet", "egressctl"])).code).not.toBe(0);
  });
  test("only an explicit opt-in lets a configured one through, loudly (upstream.local, /status)", async () => {
    const ctx = get();
    const s = await restart(ctx, { flags: ["--upstream", `127.0.0.1:5353,${LAB.dnsV4}`, "--allow-local-upstream"] });
    expect(s.events.find((e) => e.event === "upstream.local")).toMatchObject({ level: "warn", upstreams: ["127.0.0.1:5353"] });
    expect((await status()).upstreams).toEqual({ origin: "configured", pinned: false, local: ["127.0.0.1:5353"] });
  });
});
