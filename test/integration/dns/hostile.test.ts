// Nothing a packet contains may crash the proxy or grow its memory without bound:
// 10,000 malformed client packets over UDP and hostile framing over TCP, then hostile
// upstream answers (wrong ID, wrong question, garbage, huge, compression loops).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startKnot } from "../../support/knot.ts";
import { LAB, Lab } from "../../support/lab.ts";
import { answers, BUN, type Harness, kdig, startHarness, startStub } from "./support.ts";

const POLICY = JSON.stringify({ defaultAction: "deny", egress: [{ action: "deny", target: "evil.example.com" }, { action: "allow", target: "*.example.com" }] });
let lab: Lab;
let h: Harness;

beforeAll(async () => {
  lab = await Lab.create();
  await startKnot(lab);
  h = await startHarness(lab, { policy: POLICY, upstreams: LAB.dnsV4 });
});
afterAll(async () => {
  await lab?.destroy();
});

describe("malformed client packets", () => {
  test("10,000 over UDP and a TCP batch: still answers correctly, memory bounded", async () => {
    // warm up so that the baseline includes JIT and pools
    for (let i = 0; i < 3; i++) await answers(lab, "127.0.0.1", 15353, "api.example.com", "A");
    const base = await h.stats();
    const fuzz = await lab.exec("sandbox", [BUN, new URL("./fuzz-client.ts", import.meta.url).pathname, "127.0.0.1", "15353", "10000", "7"], { timeoutMs: 120_000 });
    expect(fuzz.code).toBe(0);
    const summary = JSON.parse(fuzz.stdout);
    expect(summary.sent).toBe(10000);
    expect(h.proc.exitCode).toBeNull();
    expect(await answers(lab, "127.0.0.1", 15353, "api.example.com", "A")).toEqual(["198.51.100.10"]);
    expect(await answers(lab, "::1", 15353, "api.example.com", "AAAA", ["+tcp"])).toEqual(["2001:db8:100::10"]);
    expect(await kdig(lab, ["@127.0.0.1", "-p", "15353", "+edns", "evil.example.com"])).toContain("EDE: 15 (Blocked)");
    const after = await h.stats();
    expect((after.malformed as number) + (after.dropped as number)).toBeGreaterThan(1000);
    expect(after.inFlight).toBe(0);
    // generous: the point is "not unbounded" (10,000 packets of up to 64 KB went through)
    expect(after.rss - base.rss).toBeLessThan(96 * 1024 * 1024);
  });

  test("a second round does not keep growing", async () => {
    const a = await h.stats();
    await lab.exec("sandbox", [BUN, new URL("./fuzz-client.ts", import.meta.url).pathname, "127.0.0.1", "15353", "10000", "11"], { timeoutMs: 120_000 });
    const b = await h.stats();
    expect(b.rss - a.rss).toBeLessThan(48 * 1024 * 1024);
    expect(await answers(lab, "127.0.0.1", 15353, "api.example.com", "A")).toEqual(["198.51.100.10"]);
  });
});

describe("hostile upstream answers", () => {
  const A = (name: string, data: string) => [{ type: "A", name, data, ttl: 300 }];
  const names = ["wrongid", "wrongq", "garbage", "huge", "loop", "allbad"];
  let hh: Harness;

  beforeAll(async () => {
    const stat = Object.fromEntries(names.map((n, i) => [`${n}.example.com`, A(`${n}.example.com`, `198.51.100.${100 + i}`)]));
    await startStub(lab, { listen: "198.51.100.58", forward: LAB.dnsV4, static: stat, hostile: true });
    hh = await startHarness(lab, { policy: POLICY, upstreams: "198.51.100.58", listen: [{ host: "127.0.0.1", port: 15360 }], timeoutMs: 800 });
  });

  test.each(names.slice(0, 5).map((n, i) => [n, i]))("%s: bad answers ignored, the real one accepted", async (n, i) => {
    expect(await answers(lab, "127.0.0.1", 15360, `${n}.example.com`, "A")).toEqual([`198.51.100.${100 + (i as number)}`]);
  });

  test("only bad answers: SERVFAIL after the timeout, nothing learned from them", async () => {
    expect(await kdig(lab, ["@127.0.0.1", "-p", "15360", "allbad.example.com"])).toContain("status: SERVFAIL");
    const s = await hh.stats();
    expect(s.ignoredAnswers as number).toBeGreaterThanOrEqual(5 * 4);
    const learned = hh.events.filter((e) => e.type === "learn").flatMap((e) => e.addresses as string[]);
    expect(learned).not.toContain("198.51.100.77"); // the wrong-question answer's address
    expect(learned).not.toContain("198.51.100.105"); // allbad's
    expect(hh.proc.exitCode).toBeNull();
  });
});
