// Drives egressctl serve's policy API through OpenSandbox's own TypeScript SDK
// (@alibaba-group/opensandbox), as a sandbox platform does: Sandbox.connect asks the
// lifecycle API where the sandbox's egress port (18080) and execd port (44772) are, pings
// execd, then the egress calls go straight to the sidecar with the headers the lifecycle
// API handed out. The lifecycle API and execd are a minimal stand-in served here.
//
// Run with Bun as a subprocess in the lab's world namespace (the platform's side of the
// veth; the sidecar's API listens on the sandbox's address):
//   bun test/support/opensandbox-sdk.ts '{"sidecar":"192.0.2.2:18080","token":"t","calls":[{"op":"get"}]}'
// Prints one JSON line per call: {"ok":true,"value":...} or {"ok":false,"name","statusCode","message"},
// then {"lifecycle":[the lifecycle requests the SDK made]}.
import { Sandbox, type NetworkRule } from "@alibaba-group/opensandbox";

type Call = { op: "get" } | { op: "patch"; rules: NetworkRule[] } | { op: "delete"; targets: string[] };
interface Request {
  sidecar: string;
  /** handed out by the lifecycle stand-in as the endpoint's header (null: none) */
  token: string | null;
  calls: Call[];
}

const req = JSON.parse(process.argv[2]!) as Request;
const SANDBOX_ID = "sbx-egressctl-lab";
const lifecycle: string[] = [];

// The stand-in: GET /v1/sandboxes/{id}/endpoints/{port} (the lifecycle API's endpoint
// lookup) and GET /ping (execd's health check, which connect waits for).
const standIn: ReturnType<typeof Bun.serve> = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch(r): Response {
    const url = new URL(r.url);
    lifecycle.push(`${r.method} ${url.pathname}${url.search}`);
    if (url.pathname === "/ping") return new Response("pong");
    const m = /^\/v1\/sandboxes\/([^/]+)\/endpoints\/(\d+)$/.exec(url.pathname);
    if (!m || m[1] !== SANDBOX_ID) return Response.json({ code: "NOT_FOUND", message: `no ${url.pathname}` }, { status: 404 });
    if (m[2] === "18080") return Response.json({ endpoint: req.sidecar, headers: req.token === null ? {} : { "OPENSANDBOX-EGRESS-AUTH": req.token } });
    return Response.json({ endpoint: `127.0.0.1:${standIn.port}`, headers: {} });
  },
});

const sandbox = await Sandbox.connect({
  sandboxId: SANDBOX_ID,
  connectionConfig: { domain: `127.0.0.1:${standIn.port}`, protocol: "http", apiKey: "lab-key", disableMetrics: true },
  readyTimeoutSeconds: 10,
});

for (const c of req.calls) {
  try {
    const value = c.op === "get" ? await sandbox.getEgressPolicy() : c.op === "patch" ? await sandbox.patchEgressRules(c.rules) : await sandbox.deleteEgressRules(c.targets);
    console.log(JSON.stringify({ ok: true, value: value ?? null }));
  } catch (e) {
    const err = e as { name?: string; statusCode?: number; message?: string };
    console.log(JSON.stringify({ ok: false, name: err.name ?? "Error", statusCode: err.statusCode ?? null, message: err.message ?? String(e) }));
  }
}
console.log(JSON.stringify({ lifecycle }));
standIn.stop(true);
process.exit(0);
