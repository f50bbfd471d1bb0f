// The proxy without privileges: with `mark: null` it sets no SO_MARK, so it runs where
// CAP_NET_ADMIN and CAP_NET_RAW are both dropped (serve in disabled mode) and answers
// over UDP and TCP; with the default mark the same process cannot start (EPERM), which
// shows the capabilities really are gone. Also, nothing leaks on failure: a start that
// fails on its second upstream closes the sockets of the first, and a TCP upstream
// descriptor Bun does not adopt is closed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startKnot } from "../../support/knot.ts";
import { LAB, Lab } from "../../support/lab.ts";
import { answers, BUN, startHarness } from "./support.ts";

const POLICY = JSON.stringify({ defaultAction: "deny", egress: [{ action: "allow", target: "api.example.com" }] });
const NO_CAPS = ["setpriv", "--inh-caps=-net_admin,-net_raw", "--bounding-set=-net_admin,-net_raw"];

let lab: Lab;
beforeAll(async () => {
  lab = await Lab.create();
  await startKnot(lab);
});
afterAll(async () => {
  await lab?.destroy();
});

test("the capabilities really are dropped under the wrapper", async () => {
  const r = await lab.exec("sandbox", [...NO_CAPS, "grep", "^CapEff", "/proc/self/status"]);
  const eff = BigInt(`0x${r.stdout.split(/\s+/)[1]}`);
  expect((eff >> 12n) & 1n).toBe(0n); // CAP_NET_ADMIN
  expect((eff >> 13n) & 1n).toBe(0n); // CAP_NET_RAW
});

test("mark null, no CAP_NET_ADMIN/CAP_NET_RAW: answers over UDP and TCP, counted per transport", async () => {
  const h = await startHarness(lab, { policy: POLICY, upstreams: LAB.dnsV4, listen: [{ host: "127.0.0.1", port: 15353 }], mark: null }, NO_CAPS);
  try {
    const udp = await answers(lab, "127.0.0.1", 15353, "api.example.com", "A");
    const tcp = await answers(lab, "127.0.0.1", 15353, "api.example.com", "A", ["+tcp"]);
    expect(udp.length).toBeGreaterThan(0);
    expect(tcp).toEqual(udp);
    const s = await h.stats();
    expect(s).toMatchObject({ udpQueries: 1, tcpQueries: 1, queries: 2, servfail: 0 });
  } finally {
    await h.stop();
  }
});

test("the default mark without the capabilities: the proxy cannot start (EPERM)", async () => {
  const path = lab.file("mark-default.json", JSON.stringify({ policy: POLICY, upstreams: LAB.dnsV4, listen: [{ host: "127.0.0.1", port: 15354 }] }));
  const r = await lab.exec("sandbox", [...NO_CAPS, BUN, new URL("./harness.ts", import.meta.url).pathname, path], { timeoutMs: 15_000 });
  expect(r.code).not.toBe(0);
  expect(r.stderr).toMatch(/SO_MARK=\d+\): EPERM \(Operation not permitted\)/);
});

describe("failures leak no sockets", () => {
  let out: { start: { before: number; after: number; error: string }; tcp: { how: string; before: number; after: number; ok: boolean }[] };
  beforeAll(async () => {
    const r = await lab.exec("sandbox", [BUN, new URL("./leaks.ts", import.meta.url).pathname]);
    out = JSON.parse(r.stdout);
  });

  test("a second upstream that cannot be opened: the start fails and the first upstream's sockets are closed", () => {
    expect(out.start.error).toMatch(/EACCES/);
    expect(out.start.after).toBe(out.start.before);
  });

  test("Bun.connect({fd}) rejecting or throwing: the attempt fails at once and the descriptor is closed", () => {
    expect(out.tcp.map((t) => t.how)).toEqual(["rejects", "throws"]);
    for (const t of out.tcp) {
      expect(t.ok).toBe(false);
      expect(t.after).toBe(t.before);
    }
  });
});
