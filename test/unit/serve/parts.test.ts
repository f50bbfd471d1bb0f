// serve's parts (src/app/serve/parts/), each on its own with what it is built from: the
// learner's sink, the policy source's triggers and API changes, the proxy, the listeners
// and the ready file refusing or starting as serve needs, the net.denied watch, and the
// webhook letting its receiver out through the enforcer. The kernel enforcer part and
// its worker thread are tested against the real kernel (test/integration/serve/
// kernel-worker.test.ts); the whole composition by every serve lab test.
import { afterEach, describe, expect, test } from "bun:test";
import { EventEmitter } from "node:events";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compilePolicy } from "../../../src/app/serve/live-policy.ts";
import { httpAddrText, metricsAddressPart, statusSocketPart } from "../../../src/app/serve/parts/endpoints.ts";
import { learnerPart } from "../../../src/app/serve/parts/learner.ts";
import { LiveCell } from "../../../src/app/serve/parts/live-cell.ts";
import { policySourcePart } from "../../../src/app/serve/parts/policy-source.ts";
import { proxyPart } from "../../../src/app/serve/parts/proxy.ts";
import { readyPart } from "../../../src/app/serve/parts/ready.ts";
import { netDeniedPart } from "../../../src/app/serve/parts/watches.ts";
import { webhookPart } from "../../../src/app/serve/parts/webhook.ts";
import type { Enforcer } from "../../../src/app/serve/enforcer.ts";
import { noAlwaysRules } from "../../../src/core/always/types.ts";
import { Ring } from "../../../src/core/events/ring.ts";
import { Exit } from "../../../src/core/exit-codes.ts";
import { LearnTable } from "../../../src/core/learn/table.ts";
import { StartRefused } from "../../../src/core/lifecycle/lifecycle.ts";
import { loadPolicyText } from "../../../src/core/policy/load.ts";
import { fakeEnforcer } from "./fake-enforcer.ts";
import { composeServe } from "../../../src/app/serve/serve.ts";
import type { StartPlan } from "../../../src/app/serve/start-plan.ts";
import { resolveServeConfig } from "../../../src/core/config/serve-config.ts";
import { assess } from "../../../src/core/probe/assess.ts";
import { healthy } from "../probe/fixtures.ts";

function fakeLog() {
  const events: { event: string; fields: Record<string, any>; level?: string }[] = [];
  const push = (event: string, fields: Record<string, unknown> = {}, level?: string) => void events.push({ event, fields, level });
  return { events, log: { emit: push, emitLimited: (_k: string, event: string, fields: Record<string, unknown>, level?: string) => push(event, fields, level) } };
}

const live = (json: string, path?: string) => compilePolicy(loadPolicyText(json).policy!, path ? `file:${path}` : "env", path, 0);
const ALLOW_API = '{"egress":[{"action":"allow","target":"api.example.com"}]}';

const dirs: string[] = [];
const scratch = () => {
  const d = mkdtempSync(join(tmpdir(), "egressctl-parts-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** an event the log will see: resolved when it is emitted (no sleep, no guess) */
function nextEvent(events: { event: string }[], name: string, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const until = Date.now() + timeoutMs;
    const look = () => (events.some((e) => e.event === name) ? resolve() : Date.now() > until ? reject(new Error(`no ${name}`)) : setTimeout(look, 5));
    look();
  });
}

describe("learner", () => {
  test("learns only names the policy in force allows, asking again right before the kernel write", async () => {
    const cell = new LiveCell(live(ALLOW_API));
    const asked: string[] = [];
    const enforcer = {
      ...fakeEnforcer({}),
      learn: (_els: unknown, name: string, stillWanted?: (name: string) => boolean) => void asked.push(`${name} ${stillWanted?.(name)}`),
    } as unknown as Enforcer;
    const l = learnerPart({ enforcer, policy: cell, log: fakeLog().log, maxLifetimeSec: 3600 });
    const batch = (name: string) => ({ name, addresses: [{ family: 4 as const, address: "198.51.100.10" }], ttl: 300 });
    await l.sink!(batch("api.example.com"));
    expect(asked).toEqual(["api.example.com true"]);
    expect(l.table.nameCount).toBe(1);
    // a reload denied the name while its answer was in flight: SERVFAIL, nothing recorded
    cell.swap(live('{"egress":[]}'));
    await expect(l.sink!(batch("api.example.com")) as Promise<void>).rejects.toThrow(/denied by a reload/);
    expect(asked).toHaveLength(1);
  });

  test("modes that learn nothing have no sink and no guard", () => {
    const l = learnerPart({ enforcer: fakeEnforcer({}, "dns-only"), policy: new LiveCell(live(ALLOW_API)), log: fakeLog().log, maxLifetimeSec: 3600 });
    expect(l.sink).toBeNull();
    expect(l.guard).toBeNull();
  });
});

describe("policy source", () => {
  function setup(text: string) {
    const dir = scratch();
    const file = join(dir, "policy.json");
    writeFileSync(file, text);
    const cell = new LiveCell(live(text, file));
    const { events, log } = fakeLog();
    const installs: string[] = [];
    const enforcer = fakeEnforcer({ install: (p) => (installs.push(p.rules.map((r) => r.target).join(",") || "(none)"), { ok: true, digest: "x" }) });
    const signals = new EventEmitter();
    let released = 0;
    const persisted = join(dir, "persisted.json");
    const part = policySourcePart({
      cell, mode: "dns+nftables", enforcer, learner: { table: new LearnTable(), pending: { size: 0 } as never }, log,
      read: (p) => ({ ok: true, text: readFileSync(p, "utf8") }), alwaysDir: join(dir, "always"), readAlways: () => ({ ok: true, rules: noAlwaysRules(join(dir, "always")) }),
      persistTo: persisted, signals, handlersInPlace: () => void released++,
    });
    return { part, cell, events, installs, signals, file, persisted, released: () => released };
  }

  test("start: SIGHUP handed over, one catch-up reload (an unchanged file changes nothing); SIGHUP re-installs", async () => {
    const s = setup(ALLOW_API);
    s.part.start();
    expect(s.released()).toBe(1);
    await nextEvent(s.events, "policy.unchanged");
    expect(s.installs).toEqual([]);
    s.signals.emit("SIGHUP");
    await nextEvent(s.events, "policy.reinstalled");
    expect(s.installs).toEqual(["api.example.com"]);
    s.part.stop("shutdown");
    expect(s.signals.listenerCount("SIGHUP")).toBe(0);
  });

  test("an API change: installed, in force, persisted; counted", async () => {
    const s = setup(ALLOW_API);
    const r = await s.part.fromApi(loadPolicyText('{"egress":[{"action":"allow","target":"new.example.com"}]}').policy!);
    expect(r).toEqual({ ok: true, changed: true });
    expect(s.cell.live.decide("new.example.com").action).toBe("allow");
    expect(s.cell.live.source).toBe("api");
    expect(JSON.parse(readFileSync(s.persisted, "utf8")).egress[0].target).toBe("new.example.com");
    expect(s.part.counts.ok).toBe(1);
  });
});

describe("the parts that listen, and ready", () => {
  test("the proxy cannot listen (its port is taken): exit 1, said as serve.failed", async () => {
    const taken = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const { events, log } = fakeLog();
    const p = proxyPart({ listen: [{ host: "127.0.0.1", port: taken.port }], upstreams: [{ family: 4, address: "192.0.2.53", port: 53, label: "192.0.2.53:53" }], decide: () => ({ action: "deny" }) as never, learn: null, mark: null }, log);
    const err = await (async () => p.start())().then(() => null, (e) => e);
    taken.stop(true);
    await p.stop("failed-start");
    expect(err).toBeInstanceOf(StartRefused);
    expect((err as StartRefused).exitCode).toBe(Exit.runtime);
    expect(events[0]).toMatchObject({ event: "serve.failed", level: "error" });
    expect(p.proxy).toBeNull();
  });

  test("the status socket: listens at its path (0600) while started, gone after", async () => {
    const path = join(scratch(), "s.sock");
    const part = statusSocketPart(path, { ready: () => true, level: () => "dns+nftables", status: async () => ({ ok: 1 }), violations: () => [], learned: () => [], metrics: async () => "" }, fakeLog().log);
    await part.start();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const r = await fetch("http://x/healthz", { unix: path } as RequestInit);
    expect(await r.text()).toBe("ok dns+nftables\n");
    await part.stop("shutdown");
    expect(existsSync(path)).toBe(false);
  });

  test("the metrics address on a port taken: exit 1, the ruleset left in force said", async () => {
    const taken = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
    const { events, log } = fakeLog();
    const part = metricsAddressPart({ host: "127.0.0.1", port: taken.port! }, { readiness: () => ({ ok: false, waitingFor: "x" }) as never, metrics: async () => "" }, log);
    const err = await (async () => part.start())().then(() => null, (e) => e);
    taken.stop(true);
    expect((err as StartRefused).exitCode).toBe(Exit.runtime);
    expect(events[0]!.fields).toMatchObject({ ruleset: "left in force" });
    expect(events[0]!.fields.reason).toMatch(/^metrics address: /);
    expect(httpAddrText({ host: "::1", port: 9090 })).toBe("[::1]:9090");
  });

  test("ready: the ready file holds the PID and `ready` is logged; stopped, the file is gone", () => {
    const file = join(scratch(), "ready");
    const { events, log } = fakeLog();
    const part = readyPart(file, log, () => ({ mode: "dns+nftables" }));
    part.start();
    expect(readFileSync(file, "utf8")).toBe(`${process.pid}\n`);
    expect(events).toEqual([{ event: "ready", fields: { mode: "dns+nftables" }, level: undefined }]);
    part.stop("shutdown");
    expect(existsSync(file)).toBe(false);
  });

  test("a ready file that cannot be written: exit 1 before ready", () => {
    const { events, log } = fakeLog();
    const part = readyPart("/nonexistent/dir/ready", log, () => ({}));
    expect(() => part.start()).toThrow(StartRefused);
    expect(events.map((e) => e.event)).toEqual(["serve.failed"]);
  });
});

describe("watches and the webhook", () => {
  test("net.denied: each new flow once, with the name it was learned under", async () => {
    const table = new LearnTable();
    table.add({ name: "api.example.com", addresses: [{ family: 4, address: "198.51.100.10" }], ttl: 300 }, Date.now());
    const flows = [{ family: 4 as const, destination: "198.51.100.10", protocol: "tcp", port: 853, reason: "dot" as const, expiresSec: 60 }];
    let reads = 0;
    const { events, log } = fakeLog();
    const part = netDeniedPart({ deniedFlows: async () => (reads++, flows) }, table, log, new Ring(8));
    part.start();
    const until = Date.now() + 10_000;
    while (reads < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    part.stop("shutdown");
    expect(reads).toBeGreaterThanOrEqual(2); // read twice, reported once
    expect(events.filter((e) => e.event === "net.denied").map((e) => e.fields)).toEqual([{ destination: "198.51.100.10", port: 853, protocol: "tcp", reason: "dot", name: "api.example.com" }]);
  });

  test("the webhook lets a late-resolved receiver out through the enforcer; a refusal is said and retried", async () => {
    const { events, log } = fakeLog();
    const answers = [{ ok: false as const, error: "Device or resource busy" }, { ok: true as const, digest: "x" }];
    const letOut: string[][] = [];
    const enforcer = { letOut: async (d: readonly { address: string }[]) => (letOut.push(d.map((x) => x.address)), answers.shift()!) };
    const plan = {
      url: { url: "http://hook.example:8000/", tls: false, host: "hook.example", port: 8000, path: "/", hostHeader: "hook.example:8000" },
      destinations: [],
      resolve: async () => [{ family: 4 as const, address: "198.51.100.80", port: 8000 }],
    };
    const part = webhookPart(plan, { audit: false, mark: null, log, enforcer });
    const runner = part.runner as unknown as { attempt(): Promise<void> };
    await runner.attempt();
    expect(events.map((e) => e.event)).toContain("webhook.open_failed");
    await runner.attempt();
    expect(letOut).toEqual([["198.51.100.80"], ["198.51.100.80"]]);
    expect(events.at(-1)).toMatchObject({ event: "webhook", fields: { sending: true } });
    part.stop("shutdown");
  });
});

describe("the composition", () => {
  // docs/architecture.md's table and serve.ts's header say this order; a change here is a
  // change of serve's start-up and shutdown, and must change them too
  const ORDER = ["DNS proxy", "kernel enforcer", "learner", "status socket", "metrics address", "self-test", "policy API", "ready", "net.denied watch", "local-address watch", "policy source", "deny webhook", "idle collector"];

  function plan(mode: "dns+nftables" | "dns-only"): StartPlan {
    const facts = healthy();
    return {
      choice: { policy: loadPolicyText(ALLOW_API).policy!, source: "env", warnings: [], notes: [] },
      always: noAlwaysRules(),
      facts,
      assessment: assess(facts, { wantMode: mode }),
      listen: [{ host: "127.0.0.1", port: 15353 }],
      upstreams: [{ family: 4, address: "192.0.2.53", port: 53, label: "192.0.2.53:53" }],
      upstreamOrigin: "configured",
      upstreamsPinned: false,
      upstreamsLocal: [],
      nameserverExempt: { 4: [], 6: [] },
      webhook: null,
      mark: 0x1,
      markFor: () => 0x1,
      isExempt: () => false,
    };
  }

  test("serve's parts, in start order (stopped in reverse)", () => {
    const r = resolveServeConfig({ metricsAddr: ":9464" }, {});
    if (!r.ok) throw new Error(r.error);
    const parts = composeServe(r.config, plan("dns+nftables"), fakeLog().log, { stopRequested: new Promise(() => {}), releaseHup() {} });
    expect(parts.map((p) => p.name)).toEqual(ORDER);
  });

  test("what is off is not a part: no metrics address, no policy API; dns-only guards no learned addresses", () => {
    const r = resolveServeConfig({ httpAddr: "off" }, {});
    if (!r.ok) throw new Error(r.error);
    const parts = composeServe(r.config, plan("dns-only"), fakeLog().log, { stopRequested: new Promise(() => {}), releaseHup() {} });
    expect(parts.map((p) => p.name)).toEqual(ORDER.filter((n) => !["metrics address", "policy API", "local-address watch"].includes(n)));
  });
});
