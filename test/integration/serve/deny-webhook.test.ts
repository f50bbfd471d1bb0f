// OPENSANDBOX_EGRESS_DENY_WEBHOOK in the lab: a real HTTP receiver in the world namespace
// (test/support/webhook-receiver.py) gets OpenSandbox's JSON for each name the proxy
// denies, through a default-deny filter that lets serve's own marked connection out while
// the application cannot reach the receiver. Retries (5xx), no retry (4xx), a host name
// resolved straight from the upstream even though the policy denies it, one that resolves
// only later, a short name through the search list, bad URLs, and audit mode.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { LAB, Lab, waitForOutput } from "../../support/lab.ts";
import { defaultZones, renderZone } from "../../support/zones.ts";
import type { Served } from "../../support/serve.ts";
import { args, curl, dig, policyText, serve, serveExit, status, useLab, waitUntil, writePolicy } from "./helpers-serve.ts";

const RECEIVER = `${import.meta.dir}/../../support/webhook-receiver.py`;
const HOOK_V4 = "198.51.100.80";
const PORT = 8000;

let lab: Lab;
let policy: string;
let s: Served | undefined;
let receiver: { proc: Subprocess; out: string } | undefined;
let n = 0;

useLab((l) => {
  lab = l;
  policy = writePolicy(lab, policyText(["api.example.com"]));
});

afterEach(async () => {
  if (receiver) await lab.stop(receiver.proc);
  receiver = undefined;
});

async function startReceiver(codes = "200", extra: string[] = []): Promise<void> {
  const out = `${lab.dir}/webhook-${++n}.jsonl`;
  const proc = lab.spawn("world", ["python3", RECEIVER, "--port", String(PORT), "--codes", codes, "--out", out, ...extra]);
  const { reader } = await waitForOutput(proc, "ready", "webhook receiver ready");
  reader.releaseLock();
  receiver = { proc, out };
}

function received(): Record<string, any>[] {
  if (!receiver || !existsSync(receiver.out)) return [];
  return readFileSync(receiver.out, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

/** a self-signed certificate (its own CA) for `name` and `ip`, made with openssl */
async function selfSigned(name: string, ip: string): Promise<{ cert: string; key: string }> {
  const cert = join(lab.dir, `cert-${++n}.pem`);
  const key = join(lab.dir, `key-${n}.pem`);
  const p = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
    "-subj", `/CN=${name}`, "-addext", `subjectAltName=DNS:${name},IP:${ip}`], { stdout: "ignore", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`openssl: ${p.stderr.toString()}`);
  return { cert, key };
}

const hookEnv = (url: string, extra: Record<string, string> = {}) => ({ OPENSANDBOX_EGRESS_DENY_WEBHOOK: url, OPENSANDBOX_EGRESS_SANDBOX_ID: "sbx-42", ...extra });

describe("deny webhook", () => {
  test("each denied name is POSTed once, as OpenSandbox sends it; the application cannot reach the receiver", async () => {
    await startReceiver();
    s = await serve(lab, args(policy), { env: hookEnv(`http://${HOOK_V4}:${PORT}/hooks/egress?team=a`) });
    expect(s.events.find((e) => e.event === "webhook")).toMatchObject({ addresses: [HOOK_V4], sending: true });
    const before = Date.now();
    expect((await dig(lab, "evil.example.com")).rcode).toBe("NXDOMAIN");
    await waitUntil("the receiver got the denied name", () => received().length === 1);
    const [r] = received();
    expect(r).toMatchObject({ path: "/hooks/egress?team=a", host: `${HOOK_V4}:${PORT}`, contentType: "application/json", peer: LAB.sandboxV4 });
    const body = JSON.parse(r!.body);
    expect(Object.keys(body).sort()).toEqual(["hostname", "sandboxId", "source", "timestamp"]);
    expect(body).toMatchObject({ hostname: "evil.example.com", source: "opensandbox-egress", sandboxId: "sbx-42" });
    expect(Math.abs(Date.parse(body.timestamp) - before)).toBeLessThan(5000);

    // an allowed name is not sent; asking again for the denied one is not sent again at once
    expect((await dig(lab, "api.example.com")).rcode).toBe("NOERROR");
    for (let i = 0; i < 5; i++) expect((await dig(lab, "evil.example.com")).rcode).toBe("NXDOMAIN");
    expect((await dig(lab, "evil.pypi.example.com")).rcode).toBe("NXDOMAIN");
    await waitUntil("the second denied name arrived", () => received().length === 2);
    // every denial accounted for (2 delivered, the 5 repeats suppressed) and nothing
    // queued: no further POST can come
    await waitUntil("both deliveries counted", async () => (await status(s!)).webhook?.delivered === 2);
    expect((await status(s)).webhook).toMatchObject({ delivered: 2, failed: 0, suppressed: 5, queued: 0 });
    expect(received().map((x) => JSON.parse(x.body).hostname)).toEqual(["evil.example.com", "evil.pypi.example.com"]);
    const metrics = (await s.get("/metrics")).body;
    expect(metrics).toContain('egressctl_webhook_notifications_total{outcome="delivered"} 2');

    // the receiver is let out for serve's marked connections only
    expect(await curl(lab, HOOK_V4, PORT)).toBe(7);
    expect(received()).toHaveLength(2);
    expect(await s.stop("SIGTERM")).toBe(0);
  });

  test("5xx is retried after 1 and 2 s until it is accepted; 4xx is not retried", async () => {
    await startReceiver("503,502,204,400");
    s = await serve(lab, args(policy), { env: hookEnv(`http://${HOOK_V4}:${PORT}/`) });
    await dig(lab, "evil.example.com");
    await waitUntil("three attempts", () => received().length === 3, 15_000);
    const at = received().map((x) => x.at as number);
    expect(at[1]! - at[0]!).toBeGreaterThan(0.9);
    expect(at[2]! - at[1]!).toBeGreaterThan(1.9);
    expect(new Set(received().map((x) => x.body)).size).toBe(1); // the same notification each time
    expect((await status(s)).webhook).toMatchObject({ delivered: 1, retries: 2, failed: 0 });

    await dig(lab, "evil.pypi.example.com"); // answered 400: given up at once
    const failed = await s.waitEvent((e) => e.event === "webhook.failed");
    expect(failed).toMatchObject({ hostname: "evil.pypi.example.com", attempts: 1, error: "HTTP 400" });
    // both notifications are finished (one delivered, one given up) and none waits: the
    // 400 gets no retry, whenever one would have been due
    expect((await status(s)).webhook).toMatchObject({ delivered: 1, failed: 1, queued: 0 });
    expect(received()).toHaveLength(4);
    expect(await s.stop("SIGTERM")).toBe(0);
  });

  test("a receiver that is down: retried three times, then counted as failed; DNS answers never wait for it", async () => {
    s = await serve(lab, args(policy), { env: hookEnv(`http://${HOOK_V4}:${PORT}/`) });
    const t0 = performance.now();
    expect((await dig(lab, "evil.example.com")).rcode).toBe("NXDOMAIN");
    expect(performance.now() - t0).toBeLessThan(1000);
    const failed = await s.waitEvent((e) => e.event === "webhook.failed", 15_000);
    expect(failed).toMatchObject({ hostname: "evil.example.com", attempts: 4, error: expect.stringMatching(/^connection (refused|error|closed)$/) });
    expect((await status(s)).webhook).toMatchObject({ delivered: 0, failed: 1, retries: 3 });
    expect(await s.stop("SIGTERM")).toBe(0);
  });

  test("a receiver that answers, then streams without end: delivered, and the connection is cut at once", async () => {
    await startReceiver("200", ["--stream"]);
    s = await serve(lab, args(policy), { env: hookEnv(`http://${HOOK_V4}:${PORT}/`) });
    await dig(lab, "evil.example.com");
    await waitUntil("the receiver saw the connection cut", () => received().length === 1);
    const [cut] = received();
    expect(cut!.cutAfter).toBeLessThan(2);
    expect(cut!.sent).toBeLessThan(64 << 20);
    expect((await status(s)).webhook).toMatchObject({ delivered: 1, failed: 0 });
    expect(await s.stop("SIGTERM")).toBe(0);
  });

  test("a host name is resolved straight from the upstream, even one the policy denies", async () => {
    await startReceiver();
    // evil.example.com is 198.51.100.66 in the lab zone, where the receiver listens too
    s = await serve(lab, args(policy), { env: hookEnv(`http://evil.example.com:${PORT}/`) });
    expect(s.events.find((e) => e.event === "webhook")).toMatchObject({ addresses: ["198.51.100.66"] });
    await dig(lab, "other.example.com");
    await waitUntil("the receiver got it", () => received().length === 1);
    expect(received()[0]).toMatchObject({ host: `evil.example.com:${PORT}` });
    expect(JSON.parse(received()[0]!.body).hostname).toBe("other.example.com");
    expect(await curl(lab, "198.51.100.66", PORT)).toBe(7);
    expect(await s.stop("SIGTERM")).toBe(0);
  });

  test("a host name that resolves only later: serve runs without the webhook, retries, then lets the receiver out and sends", async () => {
    await startReceiver();
    s = await serve(lab, args(policy), { env: hookEnv(`http://late.example.net:${PORT}/`) });
    expect(s.events.find((e) => e.event === "webhook.unresolved")).toMatchObject({ level: "error", url: `http://late.example.net:${PORT}/` });
    const st = await status(s);
    expect(st.webhook).toMatchObject({ resolved: false, addresses: [] });
    expect(st.measuredLevel).toBe("dns+nftables");
    expect((await dig(lab, "evil.example.com")).rcode).toBe("NXDOMAIN");
    expect((await status(s)).webhook).toMatchObject({ resolved: false, dropped: 1 });
    // the name appears in the zone; the retry (after 5 s) finds it
    const zones = defaultZones().map((z) => (z.origin === "example.net" ? { ...z, records: [...z.records, `late 300 A ${HOOK_V4}`] } : z));
    writeFileSync(join(lab.dir, "knot", "example.net.zone"), renderZone(zones.find((z) => z.origin === "example.net")!));
    const reload = await lab.exec("world", ["knotc", "-s", join(lab.dir, "knot", "knot.sock"), "-f", "zone-reload", "example.net"]);
    expect(reload.code).toBe(0);
    const ev = await s.waitEvent((e) => e.event === "webhook" && e.sending === true, 15_000);
    expect(ev).toMatchObject({ addresses: [HOOK_V4] });
    // the same policy installed again, now with serve's way to the receiver
    expect((await lab.exec("sandbox", ["nft", "list", "chain", "inet", "egressctl", "output"])).stdout).toContain(`ip daddr ${HOOK_V4} tcp dport ${PORT} accept`);
    await dig(lab, "other.example.com");
    await waitUntil("the receiver got it", () => received().length === 1);
    expect(JSON.parse(received()[0]!.body).hostname).toBe("other.example.com");
    expect(await curl(lab, HOOK_V4, PORT)).toBe(7);
    expect((await status(s)).webhook).toMatchObject({ resolved: true, delivered: 1 });
    expect(await s.stop("SIGTERM")).toBe(0);
  });

  test("a short name resolves through resolv.conf's search list, as a Kubernetes service name would", async () => {
    await startReceiver();
    const conf = `/etc/netns/${lab.sandbox}/resolv.conf`;
    const before = readFileSync(conf, "utf8");
    writeFileSync(conf, `${before}search nowhere.example example.com\noptions ndots:2\n`);
    try {
      // "evil" is evil.example.com (198.51.100.66), where the receiver listens too
      s = await serve(lab, args(policy), { env: hookEnv(`http://evil:${PORT}/`) });
    } finally {
      writeFileSync(conf, before);
    }
    expect(s.events.find((e) => e.event === "webhook")).toMatchObject({ addresses: ["198.51.100.66"], sending: true });
    await dig(lab, "other.example.com");
    await waitUntil("the receiver got it", () => received().length === 1);
    expect(received()[0]).toMatchObject({ host: `evil:${PORT}` });
    expect(await s.stop("SIGTERM")).toBe(0);
  });

  test("https: the receiver's certificate verified against EGRESSCTL_WEBHOOK_CA_FILE, by name or address", async () => {
    const { cert, key } = await selfSigned("evil.example.com", HOOK_V4);
    await startReceiver("200", ["--tls", cert, key]);
    for (const [url, i] of [[`https://evil.example.com:${PORT}/tls`, 1], [`https://${HOOK_V4}:${PORT}/tls`, 2]] as const) {
      s = await serve(lab, args(policy), { env: hookEnv(url, { EGRESSCTL_WEBHOOK_CA_FILE: cert }) });
      await dig(lab, `n${i}.evil.pypi.example.com`);
      await waitUntil(`the receiver got it over TLS (${url})`, () => received().length === i);
      expect(received()[i - 1]).toMatchObject({ path: "/tls" });
      expect((await status(s)).webhook).toMatchObject({ delivered: 1, failed: 0 });
      expect(await s.stop("SIGTERM")).toBe(0);
    }
  });

  test("https: a certificate that does not verify is not sent to, and not retried", async () => {
    const { cert, key } = await selfSigned("someone-else.example", "203.0.113.1");
    await startReceiver("200", ["--tls", cert, key]);
    for (const env of [{}, { EGRESSCTL_WEBHOOK_CA_FILE: cert }] as Record<string, string>[]) {
      // untrusted (no CA given), then trusted but for another name
      s = await serve(lab, args(policy), { env: hookEnv(`https://evil.example.com:${PORT}/`, env) });
      await dig(lab, "evil.example.com");
      const failed = await s.waitEvent((e) => e.event === "webhook.failed");
      expect(failed).toMatchObject({ attempts: 1, error: expect.stringMatching(/^TLS certificate: /) });
      expect((await status(s)).webhook).toMatchObject({ delivered: 0, failed: 1, retries: 0 });
      expect(await s.stop("SIGTERM")).toBe(0);
    }
    expect(received()).toEqual([]);
  });

  test("https to a peer that does not speak TLS: a broken handshake is retried, not taken for a bad certificate", async () => {
    await startReceiver(); // plain HTTP
    s = await serve(lab, args(policy), { env: hookEnv(`https://${HOOK_V4}:${PORT}/`) });
    await dig(lab, "evil.example.com");
    await waitUntil("a retry", async () => ((await status(s!)).webhook?.retries ?? 0) >= 1, 8000);
    expect(s.events.filter((e) => e.event === "webhook.failed")).toEqual([]);
    expect(await s.stop("SIGTERM")).toBe(0);
  });

  test("EGRESSCTL_WEBHOOK_CA_FILE without a certificate, or with a broken one: exit 2, nothing touched", async () => {
    for (const [text, msg] of [["not a certificate\n", "no PEM certificate"], ["-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "does not parse"]] as const) {
      const r = await serveExit(lab, args(policy), hookEnv(`https://evil.example.com:${PORT}/`, { EGRESSCTL_WEBHOOK_CA_FILE: writePolicy(lab, text, `ca-${++n}.pem`) }));
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(msg);
    }
    expect((await lab.exec("sandbox", ["nft", "list", "table", "inet", "egressctl"])).code).not.toBe(0);
  });

  test("audit mode sends nothing: nothing was denied", async () => {
    await startReceiver();
    s = await serve(lab, args(policy, LAB.dnsV4, ["--audit"]), { env: hookEnv(`http://${HOOK_V4}:${PORT}/`) });
    expect(s.events.find((e) => e.event === "webhook")).toMatchObject({ sending: false });
    expect((await dig(lab, "evil.example.com")).rcode).toBe("NOERROR");
    await s.waitEvent((e) => e.event === "dns.denied" && e.audit === true);
    // the denial was handled, and in audit serve runs no webhook at all: nothing can send
    expect((await status(s)).webhook).toBeNull();
    expect(received()).toEqual([]);
    expect(await s.stop("SIGTERM")).toBe(0);
  });

  test("a URL serve cannot use is exit 2 before anything is touched", async () => {
    for (const [url, msg] of [["ftp://198.51.100.80/", "must start with http://"], ["http://user:pw@198.51.100.80/", "credentials"], ["not a url", "not a URL"]] as const) {
      const r = await serveExit(lab, args(policy), hookEnv(url));
      expect({ url, code: r.code }).toEqual({ url, code: 2 });
      expect(r.stderr).toContain(msg);
    }
    expect((await lab.exec("sandbox", ["nft", "list", "table", "inet", "egressctl"])).code).not.toBe(0);
  });
});
