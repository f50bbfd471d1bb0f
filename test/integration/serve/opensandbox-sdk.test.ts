// OpenSandbox's published TypeScript SDK (@alibaba-group/opensandbox, pinned in
// package.json) driving a real serve the way a platform does: Sandbox.connect against a
// stand-in for the lifecycle API's endpoint lookup (test/support/opensandbox-sdk.ts, run
// with Bun in the lab's world namespace, where a platform sits), then getEgressPolicy,
// patchEgressRules, deleteEgressRules and their errors. Each change is checked with real
// DNS from the sandbox (kdig: an allowed name resolves, a denied one is NXDOMAIN), and
// every response body is checked against OpenSandbox's API spec (specs/egress-api.yaml).
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { LAB, type Lab } from "../../support/lab.ts";
import { args, dig, policyText, serve, status, useLab } from "./helpers-serve.ts";

let lab: Lab;
useLab((l) => {
  lab = l;
});

const TOKEN = "platform-token";
const DRIVER = join(import.meta.dir, "..", "..", "support", "opensandbox-sdk.ts");
const SIDECAR = `${LAB.sandboxV4}:18080`;

type Call = { op: "get" } | { op: "patch"; rules: { action: string; target: string }[] } | { op: "delete"; targets: string[] };
type Outcome = { ok: true; value: any } | { ok: false; name: string; statusCode: number | null; message: string };

/** one platform session: connect, then the calls in order; what each returned or threw */
async function sdk(calls: Call[], token: string | null = TOKEN): Promise<{ outcomes: Outcome[]; lifecycle: string[] }> {
  const r = await lab.exec("world", [process.execPath, DRIVER, JSON.stringify({ sidecar: SIDECAR, token, calls })], { timeoutMs: 60_000 });
  const lines = r.stdout.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
  if (r.code !== 0 || lines.length !== calls.length + 1) throw new Error(`the SDK driver failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return { outcomes: lines.slice(0, -1), lifecycle: lines.at(-1).lifecycle };
}

const resolves = async (name: string) => (await dig(lab, name)).rcode === "NOERROR";

/**
 * OpenSandbox's spec, read as facts: PolicyStatusResponse has status, mode,
 * enforcementMode, reason and policy and nothing else; NetworkPolicy has defaultAction
 * (allow|deny) and egress; NetworkRule has exactly action (allow|deny) and target.
 * `require_full_isolation: true` is egressctl's extension, allowed only when `extension`.
 */
function specProblems(body: any, extension = false): string[] {
  const out: string[] = [];
  const only = (o: any, keys: string[], where: string) => {
    for (const k of Object.keys(o ?? {})) if (!keys.includes(k)) out.push(`${where}: unexpected field ${k}`);
  };
  only(body, ["status", "mode", "enforcementMode", "reason", "policy"], "response");
  for (const k of ["status", "mode", "enforcementMode", "reason"]) if (k in body && typeof body[k] !== "string") out.push(`response.${k}: not a string`);
  if (body.policy !== undefined) {
    only(body.policy, ["defaultAction", "egress", ...(extension ? ["require_full_isolation"] : [])], "policy");
    if ("defaultAction" in body.policy && !["allow", "deny"].includes(body.policy.defaultAction)) out.push("policy.defaultAction: not allow|deny");
    if (!Array.isArray(body.policy.egress)) out.push("policy.egress: not an array");
    for (const [i, r] of (body.policy.egress ?? []).entries()) {
      only(r, ["action", "target"], `policy.egress[${i}]`);
      if (!["allow", "deny"].includes(r.action) || typeof r.target !== "string") out.push(`policy.egress[${i}]: not {action: allow|deny, target: string}`);
    }
  }
  return out;
}

async function raw(method: string, body?: string): Promise<{ code: number; json: any }> {
  const argv = ["curl", "-sS", "-X", method, "-w", "\n%{http_code}", "-H", `OPENSANDBOX-EGRESS-AUTH: ${TOKEN}`, ...(body !== undefined ? ["-d", body] : []), `http://${SIDECAR}/policy`];
  const r = await lab.exec("world", argv);
  const i = r.stdout.lastIndexOf("\n");
  return { code: Number(r.stdout.slice(i + 1)), json: JSON.parse(r.stdout.slice(0, i)) };
}

/** each test its own serve (the lab ends serves after each test), with a token and RULES */
const start = (allow: string[]) => serve(lab, args(null), { env: { OPENSANDBOX_EGRESS_TOKEN: TOKEN, OPENSANDBOX_EGRESS_RULES: policyText(allow) } });

describe("OpenSandbox's SDK against serve", () => {

  test("Sandbox.connect finds the sidecar through the lifecycle API; getEgressPolicy returns the policy in force", async () => {
    await start(["api.example.com"]);
    const { outcomes, lifecycle } = await sdk([{ op: "get" }]);
    expect(outcomes).toEqual([{ ok: true, value: { defaultAction: "deny", egress: [{ action: "allow", target: "api.example.com" }] } }]);
    expect(lifecycle).toEqual(expect.arrayContaining([
      "GET /v1/sandboxes/sbx-egressctl-lab/endpoints/44772?use_server_proxy=false",
      "GET /v1/sandboxes/sbx-egressctl-lab/endpoints/18080?use_server_proxy=false",
      "GET /ping",
    ]));
    expect(await resolves("api.example.com")).toBe(true);
    expect(await resolves("plain.example.net")).toBe(false);
  });

  test("patchEgressRules: the patched rules win; of two for one target the first", async () => {
    const s = await start(["api.example.com"]);
    const { outcomes } = await sdk([
      { op: "patch", rules: [{ action: "allow", target: "plain.example.net" }, { action: "deny", target: "Plain.Example.net" }, { action: "deny", target: "evil.example.com" }] },
      { op: "get" },
    ]);
    expect(outcomes[0]).toEqual({ ok: true, value: null });
    expect(outcomes[1]).toEqual({ ok: true, value: { defaultAction: "deny", egress: [{ action: "allow", target: "plain.example.net" }, { action: "deny", target: "evil.example.com" }, { action: "allow", target: "api.example.com" }] } });
    expect(await resolves("plain.example.net")).toBe(true);
    expect(await resolves("evil.example.com")).toBe(false);
    expect(await resolves("api.example.com")).toBe(true);
    await s.waitEvent((e) => e.event === "policy.applied" && e.why === "api");
  });

  test("deleteEgressRules removes by target; an unknown target changes nothing", async () => {
    const s = await start(["plain.example.net", "api.example.com", "evil.example.com"]);
    const digest = (await status(s)).policy.digest;
    const none = await sdk([{ op: "delete", targets: ["nothing.example.com"] }]);
    expect(none.outcomes).toEqual([{ ok: true, value: null }]);
    expect((await status(s)).policy.digest).toBe(digest);
    const { outcomes } = await sdk([{ op: "delete", targets: ["API.example.com."] }, { op: "get" }]);
    expect(outcomes[0]).toEqual({ ok: true, value: null });
    expect(outcomes[1]!.ok && outcomes[1]!.value.egress.map((r: any) => r.target)).toEqual(["plain.example.net", "evil.example.com"]);
    await s.waitEvent((e) => e.event === "policy.applied" && e.why === "api");
    expect(await resolves("api.example.com")).toBe(false);
    expect(await resolves("plain.example.net")).toBe(true);
  });

  test("an empty list to patch or delete is 400, as OpenSandbox answers (the SDK throws); nothing changes", async () => {
    const s = await start(["plain.example.net"]);
    const before = (await status(s)).policy.digest;
    const { outcomes } = await sdk([{ op: "patch", rules: [] }, { op: "delete", targets: [] }]);
    for (const o of outcomes) {
      expect(o).toMatchObject({ ok: false, name: "SandboxApiException", statusCode: 400 });
      expect((o as { message: string }).message).toMatch(/empty array/);
    }
    expect((await status(s)).policy.digest).toBe(before);
    expect(await resolves("plain.example.net")).toBe(true);
  });

  test("a wrong or missing token is 401 (the SDK throws); nothing changes", async () => {
    const s = await start(["plain.example.net"]);
    for (const token of ["wrong", null]) {
      const { outcomes } = await sdk([{ op: "get" }, { op: "patch", rules: [{ action: "allow", target: "api.example.com" }] }], token);
      for (const o of outcomes) expect(o).toMatchObject({ ok: false, name: "SandboxApiException", statusCode: 401 });
    }
    expect(await resolves("api.example.com")).toBe(false);
    expect(s.proc.exitCode).toBeNull();
  });

  test("every response body has OpenSandbox's fields only; egressctl's extension only where the policy uses it", async () => {
    await start(["api.example.com"]);
    const bodies = [
      await raw("GET"),
      await raw("PATCH", JSON.stringify([{ action: "allow", target: "other.example.com" }])),
      await raw("DELETE", JSON.stringify(["nothing.example.com"])),
      await raw("DELETE", JSON.stringify(["other.example.com"])),
      await raw("POST", policyText(["api.example.com"])),
      await raw("PUT", ""),
    ];
    for (const b of bodies) {
      expect(b.code).toBe(200);
      expect(specProblems(b.json)).toEqual([]);
    }
    expect(bodies[2]!.json.reason).toBe("no matching targets found");
    const strict = await raw("POST", JSON.stringify({ require_full_isolation: true, egress: [] }));
    expect(strict.json.policy).toEqual({ defaultAction: "deny", egress: [], require_full_isolation: true });
    expect(specProblems(strict.json)).toEqual(["policy: unexpected field require_full_isolation"]);
    expect(specProblems(strict.json, true)).toEqual([]);
  });
});
