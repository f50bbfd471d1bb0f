// The status socket: HTTP over a Unix socket (mode 0600, so only root in the sidecar's
// mount namespace can read it), in a directory serve made its own (0700, its owner) at
// start (src/effects/fs/private-dir.ts). Read-only views of serve's state; doctor is its
// main client. It never changes anything.
import { chmodSync, mkdirSync, rmSync } from "node:fs";
import { dirname } from "node:path";

export interface StatusSource {
  ready(): boolean;
  /** the enforcement level the last self-test measured */
  level(): string;
  status(): Promise<unknown>;
  violations(limit: number): unknown[];
  learned(): unknown;
  metrics(): Promise<string>;
}

export function startStatusServer(path: string, src: StatusSource): { stop(): void } {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 }); // prepared at start; a no-op unless removed since
  rmSync(path, { force: true }); // a stale socket from a killed serve would block bind
  // created 0600 from the start (the umask), not chmod-ed after a window in which another
  // local user could connect
  const umask = process.umask(0o177);
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = serveOn(path, src);
  } finally {
    process.umask(umask);
  }
  chmodSync(path, 0o600);
  return {
    stop() {
      server.stop(true);
      rmSync(path, { force: true });
    },
  };
}

function serveOn(path: string, src: StatusSource): ReturnType<typeof Bun.serve> {
  return Bun.serve({
    unix: path,
    async fetch(req) {
      if (req.method !== "GET") return new Response("method not allowed\n", { status: 405, headers: { Allow: "GET" } });
      const url = new URL(req.url);
      switch (url.pathname) {
        case "/healthz":
          return src.ready()
            ? new Response(`ok ${src.level()}\n`)
            : new Response("starting\n", { status: 503 });
        case "/status":
          return Response.json(await src.status());
        case "/violations": {
          const limit = Math.max(1, Math.min(1000, Number(url.searchParams.get("limit") ?? 100) || 100));
          return Response.json(src.violations(limit));
        }
        case "/learned":
          return Response.json(src.learned());
        case "/metrics":
          return new Response(await src.metrics(), { headers: { "content-type": "text/plain; version=0.0.4" } });
        default:
          return new Response("not found\n", { status: 404 });
      }
    },
  });
}
