// The serve use case: decide everything before touching anything (start-plan.ts), then
// compose serve from parts (./parts/), each a small object with explicit inputs and
// start()/stop(), and run them in one lifecycle (src/core/lifecycle/lifecycle.ts):
// started in the order below, stopped in reverse. The order is the point:
//   1. the DNS proxy listens before the redirect exists (no DNS packet is ever
//      redirected to a closed port), and closes after the ruleset part stopped;
//   2. the ruleset (kernel enforcer) is loaded in one transaction; a refusal is exit 5;
//   3. what a killed predecessor learned is adopted while DNS is answered;
//   4. the status socket, the metrics address, the first self-test, the policy API:
//      ready means all of them answer;
//   5. ready: the ready file and the `ready` event;
//   6. the watches (net.denied, the namespace's addresses), then the policy source's
//      reload triggers (SIGHUP honoured from here on, a catch-up reload), then the
//      deny webhook's late resolution.
// docs/serve.md "Start-up, in this order" and docs/architecture.md say the same.
import type { ServeConfig } from "../../core/config/serve-config.ts";
import { probeTarget } from "../../core/dns/probe-names.ts";
import { Ring } from "../../core/events/ring.ts";
import { Exit } from "../../core/exit-codes.ts";
import { ttlCeiling } from "../../core/learn/bounds.ts";
import { Lifecycle, StartRefused, type Part } from "../../core/lifecycle/lifecycle.ts";
import type { ProbeFacts } from "../../core/probe/types.ts";
import { readiness } from "../../core/wait/readiness.ts";
import { openKernelInProcess, startKernelWorker } from "../../effects/kernel/kernel-io.ts";
import { readAlwaysRules } from "../../effects/fs/always-files.ts";
import type { EventLog } from "../../effects/log/events.ts";
import { readLocalAddresses } from "../../effects/sys/local-addresses.ts";
import { dnsEventSink, newLayerCounts } from "./dns-events.ts";
import { createEnforcer } from "./enforcer.ts";
import { compilePolicy, policyMode } from "./live-policy.ts";
import { metricsText } from "./metrics.ts";
import { kernelPart } from "./parts/kernel.ts";
import { kernelIoHandle } from "./parts/kernel-io-handle.ts";
import { learnerPart } from "./parts/learner.ts";
import { LiveCell } from "./parts/live-cell.ts";
import { httpAddrText, metricsAddressPart, policyApiPart, statusSocketPart } from "./parts/endpoints.ts";
import { policySourcePart } from "./parts/policy-source.ts";
import { proxyPart } from "./parts/proxy.ts";
import { readyPart } from "./parts/ready.ts";
import { selfTestPart } from "./parts/self-test.ts";
import { localAddressPart, netDeniedPart } from "./parts/watches.ts";
import { idleCollectPart } from "./parts/idle-collect.ts";
import { webhookPart } from "./parts/webhook.ts";
import { logWarnings } from "./policy-warnings.ts";
import { PrivilegeWatch } from "./privilege-watch.ts";
import { planStart, readText, type StartPlan } from "./start-plan.ts";
import { statusJson, type ServeState } from "./status-view.ts";

export async function serve(cfg: ServeConfig, log: EventLog): Promise<number> {
  const signals = holdSignals();
  const plan = await planStart(cfg, log);
  if (typeof plan === "number") return plan;
  const life = new Lifecycle((part, e) => log.emit("serve.error", { what: `stopping the ${part}`, error: e.message }, "error"));
  life.append(...composeServe(cfg, plan, log, signals));
  try {
    await life.start();
  } catch (e) {
    if (e instanceof StartRefused) return e.exitCode;
    throw e;
  }
  await signals.stopRequested;
  await life.stop("shutdown");
  log.emit("stopped", { ruleset: cfg.cleanupOnExit ? "removed" : "left in force (fail-closed)" });
  return Exit.ok;
}

/** Every part of serve, built from values, in start order (serve.ts's header says why this order). */
export function composeServe(cfg: ServeConfig, plan: StartPlan, log: EventLog, signals: StartupSignals): Part[] {
  const { choice, facts, assessment: a } = plan;
  // The address guard needs the namespace's own addresses and gateways: read now, and
  // again every second (local-addresses watch), so an address added later counts too.
  const local = readLocalAddresses();
  for (const error of local.errors) log.emit("guard.local_unreadable", { error }, "warn");
  const cell = new LiveCell(compilePolicy(choice.policy, choice.source, choice.path, Date.now(), plan.always, { privateAnswers: cfg.privateAnswers, local: local.local }));

  // kernel I/O in a worker thread, so a slow kernel never holds up DNS (docs/dns.md "Kernel writes")
  const note = (n: string) => log.emit("learn.writer", { note: n }, "warn");
  const ops = { learning: a.mode === "dns+nftables", kernel: cfg.kernel };
  const handle = a.redirect === "nftables" && a.mode !== "disabled"
    ? kernelIoHandle(async () => (cfg.kernel.kernelIo === "inline" ? openKernelInProcess(null, ops, note) : startKernelWorker(ops, note)))
    : null;
  const enforcer = createEnforcer({
    mode: a.mode,
    via: a.redirect,
    io: handle?.io ?? null,
    ruleset: cfg,
    upstreams: plan.upstreams,
    upstreamOrigin: plan.upstreamOrigin,
    webhook: plan.webhook?.destinations ?? [],
    ipv6: facts.ipv6.enabled,
  });
  const learner = learnerPart({ enforcer, policy: cell, log, maxLifetimeSec: cfg.learnBounds.maxLifetimeSec });
  const privileged = new PrivilegeWatch(log);
  const selfTest = selfTestPart({
    mode: a.mode, enforcer, learner, policy: cell, target: probeTarget(plan.upstreams, plan.isExempt), privileged, intervalMs: cfg.selftestIntervalMs, log,
  });
  const webhook = webhookPart(plan.webhook, { audit: cfg.audit, sandboxId: cfg.sandboxId, mark: plan.mark, log, enforcer });
  const violations = new Ring<Record<string, unknown>>(512);
  const layerCounts = newLayerCounts();
  const runner = webhook.runner;
  const proxy = proxyPart({
    listen: plan.listen,
    upstreams: plan.upstreams,
    decide: (name) => {
      selfTest.probes.saw(name);
      return cell.live.decide(name);
    },
    learn: learner.sink,
    guard: learner.guard,
    maxTtlSec: ttlCeiling(cfg.learnBounds),
    timeoutMs: cfg.upstreamTimeoutMs,
    onEvent: dnsEventSink({ log, violations, denied: runner ? (name) => runner.notify(name) : undefined, logSkip: () => cell.live.logSkip, counts: layerCounts }),
    audit: cfg.audit,
    mark: plan.markFor,
  }, log);
  const policy = policySourcePart({
    cell, mode: a.mode, enforcer, learner, log, read: readText, alwaysDir: cfg.alwaysRulesDir, readAlways: readAlwaysRules,
    persistTo: cfg.envPolicyFile, signals: process, handlersInPlace: signals.releaseHup,
  });

  const state: ServeState = {
    startedAt: Date.now(),
    assessment: a,
    get live() {
      return cell.live;
    },
    get measured() {
      return selfTest.measured;
    },
    kernel: (o) => enforcer.kernelState(o),
    table: learner.table,
    get proxy() {
      return proxy.proxy;
    },
    reloads: policy.counts,
    audit: cfg.audit,
    webhook: runner,
    nameserverExempt: [...plan.nameserverExempt[4], ...plan.nameserverExempt[6]],
    layerCounts,
    learnBounds: cfg.learnBounds,
    inbound: cfg.inbound,
    upstreamOrigin: plan.upstreamOrigin,
    upstreamsPinned: plan.upstreamsPinned,
    upstreamsLocal: plan.upstreamsLocal,
    privileged: () => privileged.last,
  };
  const parts: Part[] = [
    proxy,
    kernelPart({
      enforcer, handle, policy: cell, cleanupOnExit: cfg.cleanupOnExit, log,
      staleState: a.mode !== "disabled" || facts.capabilities.netAdmin ? { redirect: a.redirect, iptablesNat: iptablesNatExists(facts.iptables), kernel: cfg.kernel } : null,
    }),
    learner,
    statusSocketPart(cfg.statusSocket, {
      ready: () => selfTest.measured !== null,
      level: () => selfTest.measured?.level ?? "unknown",
      status: () => statusJson(state, Date.now()),
      violations: (n) => violations.newestFirst(n),
      learned: () => learner.table.snapshot(Date.now()),
      metrics: () => metricsText(state),
    }, log),
  ];
  if (cfg.metricsAddr) {
    parts.push(metricsAddressPart(cfg.metricsAddr, {
      readiness: () => readiness(a.mode, selfTest.measured?.level ?? null, selfTest.measured?.findings),
      metrics: () => metricsText(state),
    }, log));
  }
  parts.push(selfTest);
  if (cfg.httpAddr) {
    parts.push(policyApiPart(cfg.httpAddr, {
      current: () => cell.live.policy,
      summary: policyMode,
      mode: a.mode,
      token: cfg.token,
      insecureNoAuth: cfg.insecureNoAuth,
      maxRules: cfg.maxRules,
      apply: policy.fromApi,
      warn: (method, warnings) => logWarnings(log, `api:${method}`, warnings),
    }, log));
  }
  parts.push(
    readyPart(cfg.readyFile, log, () => ({
      mode: a.mode, measured: selfTest.measured?.level, dns: plan.listen.map((l) => `${l.host}:${l.port}`), status: cfg.statusSocket,
      http: cfg.httpAddr ? httpAddrText(cfg.httpAddr) : "off", metrics: cfg.metricsAddr ? httpAddrText(cfg.metricsAddr) : "off",
    })),
    netDeniedPart(enforcer, learner.table, log, violations),
  );
  // Modes that learn nothing have no learned addresses to guard.
  if (learner.sink) parts.push(localAddressPart(local.local, cell, enforcer, learner, log));
  parts.push(policy, webhook, idleCollectPart(() => proxy.proxy?.stats().queries ?? 0));
  return parts;
}

/** SIGHUP and SIGTERM while serve starts: neither may end it half-started. */
export interface StartupSignals {
  /** SIGTERM or SIGINT arrived (during start-up too): stop once started */
  stopRequested: Promise<void>;
  /** serve's own SIGHUP handler is in place: stop ignoring SIGHUP */
  releaseHup(): void;
}

function holdSignals(): StartupSignals {
  // SIGHUP's default action ends the process: until the reload handler is in place, a
  // HUP (sent early by a supervisor, say) is ignored; the catch-up reload, right after
  // the handler is in place, picks up whatever changed meanwhile.
  const ignoreHup = () => {};
  process.on("SIGHUP", ignoreHup);
  // SIGTERM/SIGINT during start-up are kept, not fatal: start-up finishes, then serve
  // stops as it would at any other time (parts stopped in reverse order).
  const stopRequested = new Promise<void>((resolve) => {
    process.once("SIGTERM", () => resolve());
    process.once("SIGINT", () => resolve());
  });
  return { stopRequested, releaseHup: () => void process.off("SIGHUP", ignoreHup) };
}

/**
 * Whether a nat table exists that could hold a redirect of ours, judged without creating
 * one: legacy iptables creates its nat table by looking at it (the probe's note says when
 * it only assumed the table usable).
 */
function iptablesNatExists(f: ProbeFacts["iptables"]): boolean {
  return f.available && f.natUsable && !f.note;
}
