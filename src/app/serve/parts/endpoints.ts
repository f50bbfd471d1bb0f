// The parts that listen for others: the status socket (read-only views for doctor and
// operators), the metrics address (/metrics and /healthz over TCP, off unless asked
// for) and the policy HTTP API. Each listens before ready, so "ready" means they answer;
// one that cannot listen stops serve (exit 1, the ruleset left in force: fail-closed).
import { Exit } from "../../../core/exit-codes.ts";
import type { HttpAddr } from "../../../core/config/serve-config.ts";
import { StartRefused, type Part } from "../../../core/lifecycle/lifecycle.ts";
import type { EventLog } from "../../../effects/log/events.ts";
import { startHttpApi, type PolicyApiSource } from "../http-api.ts";
import { startMetricsServer, type MetricsSource } from "../metrics-server.ts";
import { startStatusServer, type StatusSource } from "../status-server.ts";

/** a part around one listener: started, or serve stops before ready with what failed */
function listener(name: string, what: string, log: EventLog, listen: () => { stop(): void }): Part {
  let server: { stop(): void } | null = null;
  return {
    name,
    start() {
      try {
        server = listen();
      } catch (e) {
        // the ruleset is loaded and stays (fail-closed); serve itself cannot run
        log.emit("serve.failed", { reason: `${what}: ${(e as Error).message}`, ruleset: "left in force" }, "error");
        throw new StartRefused(Exit.runtime, (e as Error).message);
      }
    },
    stop() {
      server?.stop();
      server = null;
    },
  };
}

export function statusSocketPart(path: string, src: StatusSource, log: EventLog): Part {
  return listener("status socket", `status socket ${path}`, log, () => startStatusServer(path, src));
}

/**
 * Before the first self-test, so a probe of it answers 503 (and why) rather than
 * connection refused, and a port that cannot be bound stops serve before ready.
 */
export function metricsAddressPart(addr: HttpAddr, src: MetricsSource, log: EventLog): Part {
  return listener("metrics address", "metrics address", log, () => startMetricsServer(addr, src));
}

export function policyApiPart(addr: HttpAddr, src: PolicyApiSource, log: EventLog): Part {
  return listener("policy API", "policy HTTP API", log, () => startHttpApi(addr, src));
}

export function httpAddrText(h: { host: string | null; port: number }): string {
  return h.host === null ? `:${h.port}` : h.host.includes(":") ? `[${h.host}]:${h.port}` : `${h.host}:${h.port}`;
}
