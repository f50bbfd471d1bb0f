// The metrics address (--metrics-addr, off by default): /metrics and /healthz over TCP
// for a cluster's Prometheus and probes. Read-only and nothing else: never the policy
// API, never /status, /learned or /violations (the sandboxed application shares this
// namespace and can reach whatever listens here).
import type { HttpAddr } from "../../core/config/serve-config.ts";
import type { Readiness } from "../../core/wait/readiness.ts";
import { listenTcp } from "./tcp-listen.ts";

export interface MetricsSource {
  /** enforcing as intended, or what serve still waits for */
  readiness(): Readiness;
  metrics(): Promise<string>;
}

const ALLOW = "GET, HEAD";

export function startMetricsServer(addr: HttpAddr, src: MetricsSource): { stop(): void; port: number } {
  const server = listenTcp(addr, {
    async fetch(req) {
      const path = new URL(req.url).pathname;
      if (path !== "/metrics" && path !== "/healthz") return new Response("not found\n", { status: 404 });
      if (req.method !== "GET" && req.method !== "HEAD") return new Response("method not allowed\n", { status: 405, headers: { Allow: ALLOW } });
      if (path === "/metrics") return new Response(await src.metrics(), { headers: { "content-type": "text/plain; version=0.0.4" } });
      const r = src.readiness();
      return r.ok ? new Response(`ok ${r.level}\n`) : new Response(`waiting for ${r.waitingFor}\n`, { status: 503 });
    },
    error: () => new Response("internal error\n", { status: 500 }),
  });
  return { stop: () => void server.stop(true), port: server.port ?? addr.port };
}
