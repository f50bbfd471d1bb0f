// The serve use case: probe, pick the mode, start the DNS proxy, load the ruleset, then
// keep policy, kernel and proxy in step until SIGTERM. The order matters:
//   1. refuse (exit 2/3/4) before touching anything (start-plan.ts);
//   2. the proxy listens before the redirect is loaded, so no DNS packet is ever
//      redirected to a closed port;
//   3. ready only after both, and only then the ready file and a healthy /healthz.
import { existsSync, rmSync, writeFileSync } from "node:fs";
import type { ServeConfig } from "../../core/config/serve-config.ts";
import { Ring } from "../../core/events/ring.ts";
import { Exit } from "../../core/exit-codes.ts";
import { tableSink } from "../../core/learn/sink.ts";
import { LearnTable, type LearnBatch } from "../../core/learn/table.ts";
import type { Policy } from "../../core/policy/types.ts";
import type { ProbeFacts } from "../../core/probe/types.ts";
import { probeTarget } from "../../core/dns/probe-names.ts";
import { EXEMPT_MARK } from "../../core/ruleset/names.ts";
import { expectedAlwaysDigest } from "../../core/ruleset/plan.ts";
import type { Measured } from "../../core/status/level.ts";
import { startDnsProxy, type DnsProxy } from "../../effects/dns/proxy.ts";
import type { EventLog } from "../../effects/log/events.ts";
import { webhookRunner } from "./webhook-runner.ts";
import type { Destination } from "../../effects/sys/marked-tcp.ts";
import { dnsEventSink, newLayerCounts } from "./dns-events.ts";
import { keepAlways } from "./always-watch.ts";
import { readAlwaysRules } from "../../effects/fs/always-files.ts";
import { createEnforcer } from "./enforcer.ts";
import { adopt, longLived, watchNetDenied } from "./learned-upkeep.ts";
import { watchLocalAddresses } from "./local-watch.ts";
import { readLocalAddresses } from "../../effects/sys/local-addresses.ts";
import { ttlCeiling } from "../../core/learn/bounds.ts";
import { PendingRemovals } from "./remove-learned.ts";
import { startHttpApi, type HttpApi } from "./http-api.ts";
import { persistPolicy } from "./http-persist.ts";
import { compilePolicy, policyMode, type LivePolicy } from "./live-policy.ts";
import { watchReloads } from "./reload.ts";
import { applyAlways, applyPolicy, createReloader, type ReloadContext } from "./reloader.ts";
import { ProbeNames, runSelfTest } from "./selftest.ts";
import { removeStaleState } from "./stale-state.ts";
import { planStart, readText } from "./start-plan.ts";
import { logWarnings } from "./policy-warnings.ts";
import { metricsText } from "./metrics.ts";
import { statusJson, type ServeState } from "./status-view.ts";
import { startStatusServer } from "./status-server.ts";
import { startMetricsServer } from "./metrics-server.ts";
import { readiness } from "../../core/wait/readiness.ts";
import { PrivilegeWatch } from "./privilege-watch.ts";

export async function serve(cfg: ServeConfig, log: EventLog): Promise<number> {
  // SIGHUP's default action ends the process: until the reload handler is in place, a
  // HUP (sent early by a supervisor, say) is ignored; the catch-up reload below, right
  // after the handler is in place, picks up whatever changed meanwhile.
  const ignoreHup = () => {};
  process.on("SIGHUP", ignoreHup);
  // SIGTERM/SIGINT during start-up are kept, not fatal: start-up finishes, then serve
  // stops as it would at any other time (proxy closed, ruleset per --cleanup-on-exit).
  const stopRequested = new Promise<void>((resolve) => {
    process.once("SIGTERM", () => resolve());
    process.once("SIGINT", () => resolve());
  });
  const plan = await planStart(cfg, log);
  if (typeof plan === "number") return plan;
  const { choice, always, facts, assessment: a, listen, upstreams, doh, dohStance, nameserverExempt, webhook, mark, markFor, isExempt, backend } = plan;
  const privileged = new PrivilegeWatch(log);

  // where serve's own connections to the deny webhook's receiver may go (the ruleset);
  // filled in later when its name resolves only after start-up
  const webhookTargets = [...(webhook?.destinations ?? [])];
  const enforcer = createEnforcer(a.mode, a.redirect, backend, {
    proxyPort: cfg.dnsPort,
    upstreams: upstreams.map((u) => ({ family: u.family, address: u.address, port: u.port })),
    upstreamOrigin: plan.upstreamOrigin,
    exemptMark: EXEMPT_MARK,
    doh,
    dohStance,
    nameserverExempt,
    webhook: webhookTargets,
    inbound: cfg.inbound,
    audit: cfg.audit,
    dropSilently: cfg.dropSilently,
  }, facts.ipv6.enabled, (note) => log.emit("learn.writer", { note }, "warn"), undefined, cfg.learnBounds, cfg.kernel);

  // The address guard needs the namespace's own addresses and gateways: read now, and
  // again every second (local-watch.ts), so an address added later counts too.
  const local = readLocalAddresses();
  for (const error of local.errors) log.emit("guard.local_unreadable", { error }, "warn");
  let live: LivePolicy = compilePolicy(choice.policy, choice.source, choice.path, Date.now(), always, { privateAnswers: cfg.privateAnswers, local: local.local });
  const layerCounts = newLayerCounts();
  const table = new LearnTable();
  const violations = new Ring<Record<string, unknown>>(512);
  const probes = new ProbeNames();
  const decide = (name: string) => {
    probes.saw(name);
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

  // Denied names go to the webhook (webhook-runner.ts).
  let openWebhook: (found: Destination[]) => boolean = () => false; // set once reloads can run
  const hook = webhookRunner(webhook, { audit: cfg.audit, sandboxId: cfg.sandboxId, mark, log, open: (found) => openWebhook(found) });
  const denied = hook ? (name: string) => hook.notify(name) : undefined;

  let proxy: DnsProxy;
  try {
    proxy = await startDnsProxy({
      listen,
      upstreams,
      decide,
      learn: learning ? learnUnlessDeniedMeanwhile : null,
      guard: learning ? (addr, name) => live.guard(addr, name) : null,
      maxTtlSec: ttlCeiling(cfg.learnBounds),
      timeoutMs: cfg.upstreamTimeoutMs,
      onEvent: dnsEventSink({ log, violations, denied, logSkip: () => live.logSkip, counts: layerCounts }),
      audit: cfg.audit,
      mark: markFor,
    });
  } catch (e) {
    log.emit("serve.failed", { reason: `DNS proxy could not start: ${(e as Error).message}` }, "error");
    return Exit.runtime;
  }

  const installed = enforcer.install(live.policy, live.always);
  if (!installed.ok) {
    log.emit("policy.rejected", { source: live.source, error: installed.error, line: installed.line, text: installed.text }, "error");
    await proxy.close();
    return Exit.kernelRejected;
  }
  log.emit("policy.applied", { source: live.source, digest: live.digest, rules: live.policy.rules.length, via: enforcer.via });
  // only once our own state is in force: a refused install must not also have removed
  // what the previous mode left (that would enforce less than before)
  if (a.mode !== "disabled" || facts.capabilities.netAdmin) removeStaleState(a.redirect, iptablesNatExists(facts.iptables), cfg.kernel, log);
  const refresh = enforcer.refreshMethod();
  if (refresh) log.emit("learn.refresh", refresh);
  const pending = new PendingRemovals();
  await adopt(enforcer, table, () => live, log, pending, cfg.learnBounds.maxLifetimeSec);

  const state: ServeState = {
    startedAt: Date.now(),
    assessment: a,
    live,
    measured: null,
    kernel: (o) => enforcer.kernelState(o),
    table,
    proxy,
    reloads: { ok: 0, failed: 0, lastError: null },
    audit: cfg.audit,
    webhook: hook,
    nameserverExempt: [...nameserverExempt[4], ...nameserverExempt[6]],
    layerCounts,
    learnBounds: cfg.learnBounds,
    inbound: cfg.inbound,
    upstreamOrigin: plan.upstreamOrigin,
    upstreamsPinned: plan.upstreamsPinned,
    upstreamsLocal: plan.upstreamsLocal,
    privileged: () => privileged.last,
  };

  const selfTest = async (): Promise<Measured> => {
    pending.retry(enforcer, table, log);
    privileged.check();
    const m = await runSelfTest({
      enforcer,
      target: probeTarget(upstreams, isExempt),
      expectedDigest: () => (enforcer.via === "nftables" && enforcer.mode === "dns+nftables" ? live.digest : null),
      expectedAlways: () => expectedAlwaysDigest(live.always),
      someLearned: () => longLived(table),
      expectName: (name, ms) => probes.expect(name, ms),
    });
    if (pending.size) {
      m.findings.push(`${pending.size} learned address(es) of names the policy no longer allows could not be removed from the kernel`);
      if (m.level === "dns+nftables") m.level = "dns-only";
    }
    const changed = state.measured?.level !== m.level || m.findings.length > 0;
    state.measured = m;
    if (changed) log.emit("selftest", { measured: m.level, intended: a.mode, findings: m.findings }, m.level === a.mode ? "info" : "error");
    return m;
  };

  const reloadCtx: ReloadContext = {
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
    pending,
  };
  // An API change is applied like a reload; with OPENSANDBOX_EGRESS_POLICY_FILE set it is
  // persisted there once the kernel accepted it, and that file is what reloads read from
  // then on (re-reading serve's own write is a no-op: same digest).
  const persistTo = cfg.envPolicyFile;
  const applyFromApi = (p: Policy) =>
    applyPolicy(reloadCtx, compilePolicy(p, "api", persistTo, Date.now(), live.always, live.guardSettings), "api", {
      persist: persistTo ? (next) => persistPolicy(persistTo, next.policy) : undefined,
    });

  let status: { stop(): void };
  let api: HttpApi | null = null;
  let metrics: { stop(): void } | null = null;
  try {
    status = startStatusServer(cfg.statusSocket, {
      ready: () => state.measured !== null,
      level: () => state.measured?.level ?? "unknown",
      status: () => statusJson(state, Date.now()),
      violations: (n) => violations.newestFirst(n),
      learned: () => table.snapshot(Date.now()),
      metrics: () => metricsText(state),
    });
    // before the first self-test: a probe of it answers 503 (and why) rather than
    // connection refused, and a port that cannot be bound stops serve before ready
    if (cfg.metricsAddr) {
      metrics = startMetricsServer(cfg.metricsAddr, {
        readiness: () => readiness(a.mode, state.measured?.level ?? null, state.measured?.findings),
        metrics: () => metricsText(state),
      });
    }
    await selfTest();
    // the API listens before ready, so "ready" means it answers too
    if (cfg.httpAddr) {
      api = startHttpApi(cfg.httpAddr, {
        current: () => live.policy,
        summary: policyMode,
        mode: a.mode,
        token: cfg.token,
        insecureNoAuth: cfg.insecureNoAuth,
        maxRules: cfg.maxRules,
        apply: applyFromApi,
        warn: (method, warnings) => logWarnings(log, `api:${method}`, warnings),
      });
    }
    if (cfg.readyFile) writeFileSync(cfg.readyFile, `${process.pid}\n`);
  } catch (e) {
    // the ruleset is loaded and stays (fail-closed); serve itself cannot run
    log.emit("serve.failed", { reason: `status socket, metrics address, policy HTTP API or ready file: ${(e as Error).message}`, ruleset: "left in force" }, "error");
    api?.stop();
    metrics?.stop();
    await proxy.close();
    return Exit.runtime;
  }
  log.emit("ready", { mode: a.mode, measured: state.measured?.level, dns: listen.map((l) => `${l.host}:${l.port}`), status: cfg.statusSocket, http: api ? httpAddrText(cfg.httpAddr!) : "off", metrics: cfg.metricsAddr ? httpAddrText(cfg.metricsAddr) : "off" });
  // timers must never throw (an exception in one would end serve), nor overlap
  let testing = false;
  const selfTestTimer = setInterval(() => {
    if (testing) return;
    testing = true;
    selfTest()
      .catch((e) => log.emit("serve.error", { what: "selftest", error: (e as Error).message }, "error"))
      .finally(() => (testing = false));
  }, cfg.selftestIntervalMs);
  const netDeniedTimer = watchNetDenied(enforcer, table, log, violations);
  const localTimer = learning
    ? watchLocalAddresses(local.local, {
        live: () => live,
        swap: (next) => {
          live = next;
          state.live = next;
        },
        table,
        enforcer,
        log,
        pending,
      })
    : null;

  const reload = createReloader(reloadCtx);
  // the always lists: re-read on any change in their directory, every few seconds, and on SIGHUP
  const keeper = keepAlways({
    dir: cfg.alwaysRulesDir,
    read: readAlwaysRules,
    current: () => live.always,
    apply: (next, why) => applyAlways(reloadCtx, next, why).ok,
    log,
  });
  const guardedReload = (why: string) => {
    try {
      reload(why);
    } catch (e) {
      log.emit("serve.error", { what: "reload", why, error: (e as Error).message }, "error");
    }
    if (why === "SIGHUP") keeper.check("SIGHUP");
  };
  const stopWatching = watchReloads(live.path, guardedReload);
  // a receiver that resolves late: install the same policy again with the receiver let
  // out (not a reload: the policy did not change), then the runner starts sending
  openWebhook = (found) => {
    const before = webhookTargets.length;
    webhookTargets.push(...found);
    const r = enforcer.install(live.policy, live.always);
    if (!r.ok) {
      webhookTargets.splice(before);
      log.emit("webhook.open_failed", { error: r.error }, "error");
    }
    return r.ok;
  };
  hook?.start();
  process.off("SIGHUP", ignoreHup);
  // a change made while serve was starting (after the file was read) lands now; an
  // unchanged file makes this a no-op
  guardedReload("start-up catch-up");

  await stopRequested;
  clearInterval(selfTestTimer);
  clearInterval(netDeniedTimer);
  if (localTimer) clearInterval(localTimer);
  stopWatching();
  keeper.stop();
  hook?.close();
  api?.stop();
  metrics?.stop();
  status.stop();
  await proxy.close();
  if (cfg.cleanupOnExit) enforcer.cleanup();
  if (cfg.readyFile && existsSync(cfg.readyFile)) rmSync(cfg.readyFile, { force: true });
  log.emit("stopped", { ruleset: cfg.cleanupOnExit ? "removed" : "left in force (fail-closed)" });
  return Exit.ok;
}

function httpAddrText(h: { host: string | null; port: number }): string {
  return h.host === null ? `:${h.port}` : h.host.includes(":") ? `[${h.host}]:${h.port}` : `${h.host}:${h.port}`;
}

/**
 * Whether a nat table exists that could hold a redirect of ours, judged without creating
 * one: legacy iptables creates its nat table by looking at it (the probe's note says when
 * it only assumed the table usable).
 */
function iptablesNatExists(f: ProbeFacts["iptables"]): boolean {
  return f.available && f.natUsable && !f.note;
}
