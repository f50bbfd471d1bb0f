// `egressctl wait` against a real serve in the lab: it returns once the self-test
// measured the intended level; with `-- CMD` it becomes CMD (same PID, environment
// kept, signals and descriptors clean, CMD's exit status is its own); on timeout it
// exits 1 naming what it still waited for, and never runs CMD. Also over the metrics
// address, for a container that does not share serve's socket.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { existsSync, readFileSync } from "node:fs";
import type { Lab } from "../../support/lab.ts";
import { ApiSpec, parseHeaderDump, type Recorded } from "../../support/openapi.ts";
import { BIN, args, dig, policyText, serve, useLab, writePolicy } from "./helpers-serve.ts";

let lab: Lab;
useLab((l) => {
  lab = l;
});

let n = 0;
const socketPath = () => join(lab.dir, `wait-${++n}.sock`);
const wait = (argv: string[], env: Record<string, string> = {}) => lab.exec("sandbox", [BIN, "wait", ...argv], { env, timeoutMs: 60_000 });

/**
 * An intruder that keeps every unmarked DNS packet from being redirected (it drops them
 * before egressctl's nat chain sees them): serve starts, but its self-test can never
 * measure dns+nftables. Removed by the returned function.
 */
async function breakRedirect(): Promise<() => Promise<void>> {
  const rules = "table inet intruder { chain out { type filter hook output priority -300; meta mark != 0x0045474c udp dport 53 drop; meta mark != 0x0045474c tcp dport 53 drop; }; }";
  expect((await lab.exec("sandbox", ["nft", rules])).code).toBe(0);
  return async () => void (await lab.exec("sandbox", ["nft", "delete", "table", "inet", "intruder"]));
}

describe("egressctl wait", () => {
  test("no serve: exit 1 after the timeout, naming the socket it waited for", async () => {
    const sock = socketPath();
    const r = await wait(["--timeout", "1s", "--socket", sock]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`timed out after 1s, still waiting for serve's status socket ${sock}: no such socket`);
    const once = await wait(["--timeout", "0", "--socket", sock, "--", "touch", join(lab.dir, "must-not-exist")]);
    expect(once.code).toBe(1);
    expect(once.stderr).toContain("not ready");
    expect(await Bun.file(join(lab.dir, "must-not-exist")).exists()).toBe(false);
  });

  test("started before serve: waits, then becomes CMD (same PID, environment, clean signals and descriptors, CMD's exit status)", async () => {
    const sock = socketPath();
    // the signal state is read with shell builtins only: while dash forks a child it
    // blocks every signal for a moment, which a forked grep could catch
    const script = 'echo "pid=$$ probe=$EGL_WAIT_PROBE"; while read -r k v; do case $k in SigBlk:|SigIgn:) echo "$k $v";; esac; done < /proc/$$/status; echo fds:; ls /proc/$$/fd; echo end; exit 7';
    const waiter = lab.spawn("sandbox", [BIN, "wait", "--timeout", "60s", "--socket", sock, "--", "sh", "-c", script], { env: { EGL_WAIT_PROBE: "kept" } });
    const s = await serve(lab, args(writePolicy(lab, policyText(["api.example.com"]))), { socket: sock });
    const [out, err, code] = await Promise.all([new Response(waiter.stdout).text(), new Response(waiter.stderr).text(), waiter.exited]);
    expect({ code, err }).toEqual({ code: 7, err: "" });
    // `ip netns exec` execs egressctl, and wait execs sh: one PID all the way
    expect(out).toContain(`pid=${waiter.pid} probe=kept`);
    // the signal state CMD gets is the one the caller gives: what Bun set for itself
    // (SIGPIPE, SIGXFSZ ignored) is undone, what the caller set is kept (as env and nohup do)
    const direct = lab.spawn("sandbox", ["sh", "-c", script]);
    const baseline = await new Response(direct.stdout).text();
    await direct.exited;
    const sig = (text: string) => text.split("\n").filter((l) => l.startsWith("Sig"));
    expect(sig(out)).toHaveLength(2);
    expect(sig(out)).toEqual(sig(baseline));
    // and the runtime's own ignores (SIGPIPE 13, SIGXFSZ 25: bits 12 and 24) are gone
    const ign = BigInt(`0x${/^SigIgn: ([0-9a-f]+)$/m.exec(out)![1]}`);
    expect(ign & ((1n << 12n) | (1n << 24n))).toBe(0n);
    // nothing of wait's own is left open in CMD (ls runs as sh's child, so these are sh's)
    expect(out).toContain("fds:\n0\n1\n2\nend\n");
    expect(s.events.some((e) => e.event === "ready")).toBe(true);
  });

  test("against a ready serve: exit 0 and the level; a command not found is 127", async () => {
    const sock = socketPath();
    await serve(lab, args(null), { socket: sock });
    const r = await wait(["--timeout", "10s", "--socket", sock]);
    expect(r).toMatchObject({ code: 0, stdout: "ready: serve enforces dns+nftables\n" });
    const env = await wait(["--timeout", "10s", "--socket", sock, "--", "env"], { EGRESSCTL_STATUS_SOCKET: sock });
    expect(env.code).toBe(0);
    expect(env.stdout).toContain(`EGRESSCTL_STATUS_SOCKET=${sock}`);
    const missing = await wait(["--socket", sock, "--", "no-such-program-egl"]);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain("no-such-program-egl: command not found");
  });

  test("a serve whose self-test never measures the intended level: exit 1 with the finding, CMD not run", async () => {
    const repair = await breakRedirect();
    try {
      const sock = socketPath();
      const s = await serve(lab, args(null), { socket: sock });
      expect(s.events.find((e) => e.event === "selftest")).toMatchObject({ measured: "disabled", intended: "dns+nftables" });
      const marker = join(lab.dir, "ran");
      const r = await wait(["--timeout", "2s", "--socket", sock, "--", "touch", marker]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("still waiting for the self-test to measure dns+nftables (it measured disabled: a DNS query to port 53 did not reach the proxy");
      expect(await Bun.file(marker).exists()).toBe(false);
    } finally {
      await repair();
    }
  });
});

/** the answers of the metrics address and the status socket, checked against schema/openapi/ at the end */
const seen: Record<"metrics" | "status", Recorded[]> = { metrics: [], status: [] };

/** one request from the sandbox (over the Unix socket when given), recorded */
async function ask(url: string, method = "GET", socket?: string) {
  const hdr = join(lab.dir, `ask-${++n}.headers`);
  const r = await lab.exec("sandbox", ["curl", "-sS", "-m", "5", "-X", method, "-D", hdr, "-w", "\n%{http_code}", ...(socket ? ["--unix-socket", socket] : []), url]);
  const i = r.stdout.lastIndexOf("\n");
  const out = { code: r.code, status: Number(r.stdout.slice(i + 1)), body: r.stdout.slice(0, i) };
  if (out.status !== 0) seen[socket ? "status" : "metrics"].push({ method, path: new URL(url).pathname + new URL(url).search, status: out.status, headers: parseHeaderDump(existsSync(hdr) ? readFileSync(hdr, "utf8") : ""), body: out.body });
  return out;
}

describe("the status socket", () => {
  test("answers every path it documents (checked against schema/openapi/status-socket.yaml below)", async () => {
    const sock = socketPath();
    await serve(lab, args(writePolicy(lab, policyText(["api.example.com"]))), { socket: sock });
    expect((await dig(lab, "api.example.com")).rcode).toBe("NOERROR");
    expect((await dig(lab, "evil.example.com")).rcode).toBe("NXDOMAIN");
    const at = (path: string, method = "GET") => ask(`http://egressctl${path}`, method, sock);
    expect((await at("/healthz")).body).toBe("ok dns+nftables\n");
    expect(JSON.parse((await at("/status")).body).measuredLevel).toBe("dns+nftables");
    expect(JSON.parse((await at("/violations?limit=5")).body)[0]).toMatchObject({ event: "dns.denied", name: "evil.example.com" });
    expect(Object.keys(JSON.parse((await at("/learned")).body))).toContain("api.example.com");
    expect((await at("/metrics")).body).toContain("egressctl_enforcement_level 2");
    expect((await at("/status", "POST")).status).toBe(405);
    expect((await at("/nowhere")).status).toBe(404);
  });
});

describe("the metrics address", () => {
  const get = (url: string, method = "GET") => ask(url, method);

  test("off by default: nothing listens", async () => {
    await serve(lab, args(null, undefined, ["--http-addr", "off"]));
    expect((await get("http://127.0.0.1:9464/metrics")).code).toBe(7);
  });

  test("/metrics and /healthz, read-only: other methods 405, every other path (the policy API's, /status) 404, policy unchanged", async () => {
    const s = await serve(lab, args(writePolicy(lab, policyText(["api.example.com"])), undefined, ["--metrics-addr", ":9464"]), { env: { OPENSANDBOX_EGRESS_TOKEN: "t" } });
    const m = await get("http://127.0.0.1:9464/metrics");
    expect(m.status).toBe(200);
    expect(m.body).toMatch(/^egressctl_enforcement_level 2$/m);
    expect(m.body).toMatch(/^egressctl_policy_rules 1$/m);
    expect(await get("http://[::1]:9464/healthz")).toMatchObject({ status: 200, body: "ok dns+nftables\n" });
    expect(s.events.find((e) => e.event === "ready")).toMatchObject({ metrics: ":9464" });
    const digest = (await s.get("/status")).body;
    for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
      for (const path of ["/metrics", "/healthz"]) expect((await get(`http://127.0.0.1:9464${path}`, method)).status).toBe(405);
      expect((await get("http://127.0.0.1:9464/policy", method)).status).toBe(404);
    }
    for (const path of ["/policy", "/status", "/learned", "/violations", "/"]) expect((await get(`http://127.0.0.1:9464${path}`)).status).toBe(404);
    expect(JSON.parse((await s.get("/status")).body).policy.digest).toBe(JSON.parse(digest).policy.digest);
    // wait can ask here instead of the status socket
    expect(await wait(["--metrics-addr", ":9464", "--timeout", "5s"])).toMatchObject({ code: 0, stdout: "ready: serve enforces dns+nftables\n" });
  });

  test("/healthz is 503 and says why while the measured level is below the intended one; wait --metrics-addr times out with it", async () => {
    const repair = await breakRedirect();
    try {
      await serve(lab, args(null, undefined, ["--metrics-addr", "127.0.0.1:9464"]));
      const h = await get("http://127.0.0.1:9464/healthz");
      expect(h.status).toBe(503);
      expect(h.body).toContain("waiting for the self-test to measure dns+nftables (it measured disabled");
      expect((await get("http://127.0.0.1:9464/metrics")).body).toMatch(/^egressctl_enforcement_level 0$/m);
      const r = await wait(["--metrics-addr", "127.0.0.1:9464", "--timeout", "1s"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("still waiting for the self-test to measure dns+nftables (it measured disabled");
    } finally {
      await repair();
    }
  });

  test("a port that cannot be bound stops serve before ready (exit 1), the ruleset left in force", async () => {
    const holder = lab.spawn("sandbox", ["python3", "-c", "import socket,time; s=socket.socket(); s.bind(('127.0.0.1',9464)); s.listen(); print('bound', flush=True); time.sleep(600)"]);
    const reader = holder.stdout.getReader();
    await reader.read();
    reader.releaseLock();
    const r = await lab.exec("sandbox", [BIN, ...args(null, undefined, ["--metrics-addr", "127.0.0.1:9464", "--status-socket", join(lab.dir, "bind.sock")])], { env: { EGRESSCTL_ASSUME_SANDBOX: "1", OPENSANDBOX_EGRESS_DOH_BLOCKLIST: "" } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/"event":"serve.failed".*metrics address/);
    await lab.stop(holder, "SIGKILL");
  });
});

describe("the OpenAPI documents", () => {
  test("every answer of the status socket and the metrics address above matches schema/openapi/", () => {
    expect(seen.status.length).toBeGreaterThan(6);
    expect(seen.metrics.length).toBeGreaterThan(15);
    const status = new ApiSpec("status-socket.yaml");
    const metrics = new ApiSpec("metrics.yaml");
    expect([...seen.status.flatMap((r) => status.check(r)), ...seen.metrics.flatMap((r) => metrics.check(r))]).toEqual([]);
  });
});
