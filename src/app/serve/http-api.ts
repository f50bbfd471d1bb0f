// The policy HTTP API (docs/serve.md, "Policy HTTP API"; OpenSandbox-compatible): GET/POST/PUT/PATCH/
// DELETE /policy and /healthz over TCP, inside the sandbox's network namespace. Parsing,
// merging and the response shapes are pure (src/core/api/); applying a policy is the
// reload's own step (reloader.ts applyPolicy), so the kernel, memory and the persisted
// file change together or not at all.
import { deleteTargets, mergeRules, overRuleCap } from "../../core/api/edit.ts";
import { parsePolicyBody, parseRulesBody, parseTargetsBody, type ApiProblem } from "../../core/api/body.ts";
import { apiDocument, errorView, policyView, type PolicyMode } from "../../core/api/responses.ts";
import { tokenMatches } from "../../core/api/token.ts";
import type { HttpAddr } from "../../core/config/serve-config.ts";
import { loadPolicyText, type Problem } from "../../core/policy/load.ts";
import type { PolicyDocument } from "../../core/policy/document.ts";
import type { Policy } from "../../core/policy/types.ts";
import type { ApplyResult } from "./reloader.ts";
import { listenTcp } from "./tcp-listen.ts";

export const MAX_BODY_BYTES = 4 * 1024 * 1024;
export const AUTH_HEADER = "OPENSANDBOX-EGRESS-AUTH";
const POLICY_METHODS = "GET, POST, PUT, PATCH, DELETE";

export interface PolicyApiSource {
  /** the policy in force */
  current(): Policy;
  summary(p: Policy): PolicyMode;
  /** the running enforcement mode (dns+nftables, dns-only, disabled) */
  mode: string;
  token?: string;
  insecureNoAuth: boolean;
  maxRules: number;
  /** applies a validated policy: kernel, memory, persisted file, or none of them */
  apply(p: Policy): Promise<ApplyResult>;
  /** what a body that is accepted still has odd about it ("Allow", a target that matches nothing) */
  warn(method: string, warnings: readonly Problem[]): void;
}

export interface HttpApi {
  stop(): void;
  port: number;
}

/** Listens on addr: every address is `::` (dual-stack), or 0.0.0.0 where IPv6 is off. */
export function startHttpApi(addr: HttpAddr, src: PolicyApiSource): HttpApi {
  const server = listenTcp(addr, { fetch: (req: Request) => handle(req, src), error: (e: Error) => json(500, errorView(`internal error: ${e.message}`)) });
  return { stop: () => void server.stop(true), port: server.port ?? addr.port };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) => Response.json(body, { status, headers });

async function handle(req: Request, src: PolicyApiSource): Promise<Response> {
  const path = new URL(req.url).pathname;
  if (path === "/healthz") {
    if (req.method !== "GET" && req.method !== "HEAD") return new Response("method not allowed\n", { status: 405, headers: { Allow: "GET, HEAD" } });
    return new Response("ok\n");
  }
  if (path !== "/policy") return json(404, errorView(`no such path: ${path}`));
  if (src.token !== undefined && !tokenMatches(req.headers.get(AUTH_HEADER), src.token)) {
    return json(401, errorView(`missing or wrong ${AUTH_HEADER} header`));
  }
  const method = req.method;
  if (!["GET", "POST", "PUT", "PATCH", "DELETE"].includes(method)) return json(405, errorView(`method ${method} not allowed`), { Allow: POLICY_METHODS });
  if (method === "GET") return json(200, view(src, src.current()));
  if (src.token === undefined && !src.insecureNoAuth) {
    return json(403, errorView(`no OPENSANDBOX_EGRESS_TOKEN is configured: changing the policy over the network is refused (the sandboxed application could rewrite its own policy); set a token, or start serve with --insecure-no-auth`));
  }
  const text = await readBody(req);
  if (text === null) return json(413, errorView(`the body is larger than ${MAX_BODY_BYTES} bytes`));
  const base = src.current();
  switch (method) {
    case "POST":
    case "PUT": {
      const r = parsePolicyBody(text);
      if (!r.ok) return invalid(r.error, r.problems);
      src.warn(method, r.warnings);
      // an empty body is OpenSandbox's reset, which it answers with this reason
      return await commit(src, r.value, text.trim() === "" ? "policy reset to default deny-all" : undefined);
    }
    case "PATCH": {
      const r = parseRulesBody(text);
      if (!r.ok) return invalid(r.error, r.problems);
      src.warn(method, r.warnings);
      return await commitDoc(src, mergeRules(base, r.value));
    }
    default: {
      const r = parseTargetsBody(text);
      if (!r.ok) return invalid(r.error, r.problems);
      const d = deleteTargets(base, r.value);
      if (d.removed === 0) return json(200, view(src, base, "no matching targets found"));
      return await commitDoc(src, d.doc);
    }
  }
}

const view = (src: PolicyApiSource, p: Policy, reason?: string) => policyView(p, src.summary(p), src.mode, reason);
const invalid = (error: string, problems: ApiProblem[]) => json(400, errorView(error, problems));

/** an edited document is validated again like a posted one (indexes, lints, digest: one way) */
async function commitDoc(src: PolicyApiSource, doc: PolicyDocument): Promise<Response> {
  const r = parsePolicyBody(JSON.stringify(doc));
  return r.ok ? commit(src, r.value) : invalid(r.error, r.problems);
}

async function commit(src: PolicyApiSource, raw: Policy, reason?: string): Promise<Response> {
  const cap = overRuleCap(raw.rules.length, src.maxRules);
  if (cap) return json(413, errorView(cap));
  // the policy as the persisted file will hold it, so re-reading that file is a no-op
  const policy = loadPolicyText(JSON.stringify(apiDocument(raw)), { syntax: "json", profile: "run" }).policy ?? raw;
  const r = await src.apply(policy);
  if (r.ok) return json(200, view(src, src.current(), reason));
  if (r.kind === "isolation") return json(409, errorView(r.error));
  return json(500, errorView(r.error));
}

/** the body as text, or null when it is over MAX_BODY_BYTES (read no further than that) */
async function readBody(req: Request): Promise<string | null> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) return null;
  if (!req.body) return "";
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}
