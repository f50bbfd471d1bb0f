// The serve use case: probe, pick the mode, start the DNS proxy, load the ruleset, then
// keep policy, kernel and proxy in step until SIGTERM. The order matters:
//   1. refuse (exit 3/4) before touching anything;
//   2. the proxy listens before the redirect is loaded, so no DNS packet is ever
//      redirected to a closed port;
//   3. ready only after both, and only then the ready file and a healthy /healthz.
import { existsSync, rmSync, writeFileSync } from "node:fs";
import type { ServeConfig } from "../../core/config/serve-config.ts";
import { parseResolvConf, parseUpstreamList, type Upstream } from "../../core/dns/upstreams.ts";
import { tableSink } from "../../core/learn/sink.ts";
import { LearnTable, type LearnBatch } from "../../core/learn/table.ts";
import { adoptLearned } from "../../core/learn/adopt.ts";
import type { Enforcer } from "./enforcer.ts";
import { assess } from "../../core/probe/assess.ts";
import type { ProbeFacts } from "../../core/probe/types.ts";
import { parseMode } from "../../core/probe/modes.ts";
import { dohFromSettings } from "../../core/ruleset/doh.ts";
import { EXEMPT_MARK } from "../../core/ruleset/names.ts";
import type { Measured } from "../../core/status/level.ts";
import { startDnsProxy, type DnsProxy } from "../../effects/dns/proxy.ts";
import type { EventLog } from "../../effects/log/events.ts";
import { openNftBackend } from "../../effects/nft/backend.ts";
import { gatherFacts } from "../../effects/probe/facts.ts";
import { createEnforcer } from "./enforcer.ts";
import { compilePolicy, type LivePolicy } from "./live-policy.ts";
import { choosePolicy, type ReadText } from "./policy-source.ts";
import { logPolicyWarnings } from "./policy-warnings.ts";
import { removeLearned } from "./remove-learned.ts";
import { removeStaleState } from "./stale-state.ts";
import { createReloader } from "./reloader.ts";
import { watchReloads } from "./reload.ts";
import { runSelfTest } from "./selftest.ts";
import { metricsText, statusJson, type ServeState } from "./status-view.ts";
import { startStatusServer } from "./status-server.ts";
import { readPolicyText } from "../../effects/fs/policy-file.ts";
import { Ring } from "../../core/events/ring.ts";
import { DeniedFlowTracker } from "../../core/events/net-denied.ts";
import { Exit } from "../../core/exit-codes.ts";
import { eventToLog } from "./dns-events.ts";

const readText: ReadText = (path) => {
  const d = readPolicyText(path);
  if ("text" in d) return { ok: true, text: d.text };
  return "unreadable" in d ? { ok: false, error: d.unreadable } : { ok: false, error: d.problem.message, problems: [d.problem] };
};

export async function serve(cfg: ServeConfig, log: EventLog): Promise<number> {
  // SIGHUP's default action ends the process: until the reload handler is in place, a
  // HUP (sent early by a supervisor, say) is ignored; start-up reads the newest file anyway.
  const ignoreHup = () => {};
  process.on("SIGHUP", ignoreHup);
  const wantMode = parseMode(cfg.mode);
  if (wantMode === null) {
    log.emit("serve.refused", { reason: `unknown mode '${cfg.mode}' (auto, disabled, dns-only, dns+nftables, dns, dns+nft)` }, "error");
    return Exit.usage;
  }
  const chosen = choosePolicy({ file: cfg.policyFile, envPolicyFile: cfg.envPolicyFile, envRules: cfg.envRules }, readText);
  if (!chosen.ok) {
    log.emit("policy.invalid", { source: chosen.source, error: chosen.error, problems: chosen.problems }, "error");
    return Exit.invalidPolicy;
  }
  for (const note of chosen.choice.notes) log.emit("policy.note", { note }, "warn");

  const facts = await gatherFacts({ openNftBackend: () => openNftBackend(process.env) });
  const a = assess(facts, { wantMode, requireFullIsolation: chosen.choice.policy.requireFullIsolation, allowHostNetwork: cfg.allowHostNetwork });
  if (a.refusal) {
    log.emit("serve.refused", { reason: a.refusal.message, available: a.available }, "error");
    return Exit.unavailable;
  }
  log.emit("mode", { mode: a.mode, redirect: a.redirect, reasons: a.reasons }, a.mode === "disabled" ? "error" : "info");
  logPolicyWarnings(log, chosen.choice.source, chosen.choice.warnings, chosen.choice.policy, a.mode);

  const listen = [{ host: "127.0.0.1", port: cfg.dnsPort }, ...(facts.ipv6.enabled ? [{ host: "::1", port: cfg.dnsPort }] : [])];
  const ups = upstreamsFrom(cfg, listen);
  for (const p of ups.problems) log.emit("upstream.ignored", { problem: p }, "warn");
  if (ups.upstreams.length === 0) {
    log.emit("serve.refused", { reason: "no usable upstream resolver: set --upstream or OPENSANDBOX_EGRESS_DNS_UPSTREAM" }, "error");
    return Exit.runtime;
  }
  const doh = dohFromSettings(cfg.blockDoh443, cfg.dohBlocklist);
  for (const p of doh.problems) log.emit("doh.ignored", { problem: p }, "warn");

  const backend = a.redirect === "nftables" ? openNftBackend(process.env) : null;
  if (backend && "unavailable" in backend) {
    log.emit("serve.refused", { reason: backend.unavailable }, "error");
    return Exit.unavailable;
  }
  const enforcer = createEnforcer(a.mode, a.redirect, backend, {
    proxyPort: cfg.dnsPort,
    upstreams: ups.upstreams.map((u) => ({ family: u.family, address: u.address, port: u.port })),
    exemptMark: EXEMPT_MARK,
    doh: doh.list,
    audit: cfg.audit,
    dropSilently: cfg.dropSilently,
  }, facts.ipv6.enabled);

  let live: LivePolicy = compilePolicy(chosen.choice.policy, chosen.choice.source, chosen.choice.path, Date.now());
  const table = new LearnTable();
  const violations = new Ring<Record<string, unknown>>(512);
  const probes = new Map<string, () => void>();
  // The self-test's probe names are answered like any denied name; they are only noticed here.
  const decide = (name: string) => {
    const hit = probes.get(name);
    if (hit) hit();
    return live.decide(name);
  };

  // A query allowed when it arrived may be answered after a reload denied its name: the
  // reload's prune has already run, so learning now would reopen what it closed. It is
  // checked when the answer arrives, and again (stillAllowed) by the enforcer's writer
  // right before the kernel write it coalesces to the end of the turn: that check and
  // the write happen in one tick, so no reload can fall between them (and a reload's
  // forget writes what waits first). Refusing makes the proxy answer SERVFAIL.
  const stillAllowed = (name: string) => () => live.decide(name).action === "allow";
  const sink = tableSink(table, (els, name) => enforcer.learn(els, name, stillAllowed(name)), Date.now);
  const learnUnlessDeniedMeanwhile = (batch: LearnBatch) => {
    if (live.decide(batch.name).action !== "allow") return Promise.reject(new Error(`${batch.name} was denied by a reload while its answer was in flight`));
    return sink(batch);
  };
  // Modes that learn nothing keep no table and check no rebinding guard per answer.
  const learning = enforcer.mode === "dns+nftables";

  let proxy: DnsProxy;
  try {
    proxy = await startDnsProxy({
      listen,
      upstreams: ups.upstreams,
      decide,
      learn: learning ? learnUnlessDeniedMeanwhile : null,
      shouldLearn: learning ? (addr) => live.shouldLearn(addr) : null,
      timeoutMs: cfg.upstreamTimeoutMs,
      onEvent: (ev) => eventToLog(ev, log, violations),
      // disabled: no redirect to be exempt from, and without CAP_NET_ADMIN/CAP_NET_RAW
      // setting SO_MARK would fail, and with it the loud-but-running disabled mode
      mark: a.mode === "disabled" ? null : EXEMPT_MARK,
    });
  } catch (e) {
    log.emit("serve.failed", { reason: `DNS proxy could not start: ${(e as Error).message}` }, "error");
    return Exit.runtime;
  }

  if (a.mode !== "disabled" || facts.capabilities.netAdmin) removeStaleState(a.redirect, iptablesNatExists(facts.iptables), log);
  const installed = enforcer.install(live.policy);
  if (!installed.ok) {
    log.emit("policy.rejected", { source: live.source, error: installed.error, line: installed.line, text: installed.text }, "error");
    await proxy.close();
    return Exit.kernelRejected;
  }
  log.emit("policy.applied", { source: live.source, digest: live.digest, rules: live.policy.rules.length, via: enforcer.via });
  const refresh = enforcer.refreshMethod();
  if (refresh) log.emit("learn.refresh", refresh);
  adopt(enforcer, table, live, log);

  const state: ServeState = {
    startedAt: Date.now(),
    assessment: a,
    live,
    measured: null,
    kernel: () => enforcer.kernelState(),
    table,
    proxy,
    reloads: { ok: 0, failed: 0, lastError: null },
    audit: cfg.audit,
  };

  const selfTest = async (): Promise<Measured> => {
    const m = await runSelfTest({
      enforcer,
      target: ups.upstreams[0]!,
      expectedDigest: () => (enforcer.via === "nftables" && enforcer.mode === "dns+nftables" ? live.digest : null),
      someLearned: () => longLived(table),
      expectName: (name, ms) =>
        new Promise((resolve) => {
          const t = setTimeout(() => (probes.delete(name), resolve(false)), ms);
          probes.set(name, () => (clearTimeout(t), probes.delete(name), resolve(true)));
        }),
    });
    const changed = state.measured?.level !== m.level || m.findings.length > 0;
    state.measured = m;
    if (changed) log.emit("selftest", { measured: m.level, intended: a.mode, findings: m.findings }, m.level === a.mode ? "info" : "error");
    return m;
  };

  const status = startStatusServer(cfg.statusSocket, {
    ready: () => state.measured !== null,
    level: () => state.measured?.level ?? "unknown",
    status: () => statusJson(state, Date.now()),
    violations: (n) => violations.newestFirst(n),
    learned: () => table.snapshot(Date.now()),
    metrics: () => metricsText(state),
  });

  await selfTest();
  if (cfg.readyFile) writeFileSync(cfg.readyFile, `${process.pid}\n`);
  log.emit("ready", { mode: a.mode, measured: state.measured?.level, dns: listen.map((l) => `${l.host}:${l.port}`), status: cfg.statusSocket });
  const selfTestTimer = setInterval(() => void selfTest(), cfg.selftestIntervalMs);
  const netDeniedTimer = watchNetDenied(enforcer, table, log, violations);

  const reload = createReloader({
    mode: a.mode,
    enforcer,
    table,
    log,
    read: readText,
    live: () => live,
    swap: (next) => {
      live = next;
      state.live = next;
    },
    counts: state.reloads,
  });
  const stopWatching = watchReloads(live.path, reload);
  process.off("SIGHUP", ignoreHup);

  await new Promise<void>((resolve) => {
    process.once("SIGTERM", () => resolve());
    process.once("SIGINT", () => resolve());
  });
  clearInterval(selfTestTimer);
  clearInterval(netDeniedTimer);
  stopWatching();
  status.stop();
  await proxy.close();
  if (cfg.cleanupOnExit) enforcer.cleanup();
  if (cfg.readyFile && existsSync(cfg.readyFile)) rmSync(cfg.readyFile, { force: true });
  log.emit("stopped", { ruleset: cfg.cleanupOnExit ? "removed" : "left in force (fail-closed)" });
  return Exit.ok;
}

/**
 * net.denied events: once a second, the flows the kernel noted in its denied sets that
 * were not there at the last look, with the name the address was learned under when
 * serve knows it (an address learned, then cut off by a deny CIDR, DoT or DoH rule).
 */
function watchNetDenied(enforcer: Enforcer, table: LearnTable, log: EventLog, violations: Ring<Record<string, unknown>>): ReturnType<typeof setInterval> {
  const tracker = new DeniedFlowTracker();
  return setInterval(() => {
    const now = Date.now();
    for (const f of tracker.newFlows(enforcer.deniedFlows())) {
      const name = table.namesOf(f.destination, now)[0];
      const rec = { destination: f.destination, port: f.port, protocol: f.protocol, ...(name ? { name } : {}) };
      violations.push({ event: "net.denied", at: new Date(now).toISOString(), ...rec });
      log.emitLimited(f.destination, "net.denied", rec, "warn");
    }
  }, 1000);
}

/**
 * Whether a nat table exists that could hold a redirect of ours, judged without creating
 * one: legacy iptables creates its nat table by looking at it (the probe's note says when
 * it only assumed the table usable).
 */
function iptablesNatExists(f: ProbeFacts["iptables"]): boolean {
  return f.available && f.natUsable && !f.note;
}

/** Takes over the learned elements a killed serve left in the kernel (docs/serve.md). */
function adopt(enforcer: Enforcer, table: LearnTable, live: LivePolicy, log: EventLog): void {
  if (enforcer.mode !== "dns+nftables") return;
  const entries = enforcer.kernelState()?.learnedEntries ?? [];
  if (entries.length === 0) return;
  const { adopted, remove } = adoptLearned(entries, table, (name) => live.decide(name).action === "allow", Date.now());
  removeLearned(enforcer, table, remove, log, "adoption");
  log.emit("learned.adopted", { adopted, removed: remove.length });
}

function upstreamsFrom(cfg: ServeConfig, self: { host: string; port: number }[]): { upstreams: Upstream[]; problems: string[] } {
  if (cfg.upstreamSpec) return parseUpstreamList(cfg.upstreamSpec, self);
  const r = readText("/etc/resolv.conf");
  if (!r.ok) return { upstreams: [], problems: [`/etc/resolv.conf: ${r.error}`] };
  return parseResolvConf(r.text, self);
}

/** An address the table holds for a while yet, so the kernel must hold it too. */
function longLived(table: LearnTable): string | null {
  const now = Date.now();
  for (const entries of Object.values(table.snapshot(now))) {
    for (const e of entries) if (e.expiresAt - now > 10_000) return e.address;
  }
  return null;
}
