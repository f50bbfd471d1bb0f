// The apply use case's refusals, with the facts and the backend faked: in what looks like
// the host's namespace nothing is opened, let alone run; the overrides serve honours let
// it through; --dry-run gathers nothing; require_full_isolation refuses dns-only.
import { expect, test } from "bun:test";
import { applyPolicy, type ApplyRequest } from "../../../src/app/apply.ts";
import { resolveApplyConfig } from "../../../src/core/config/apply-config.ts";
import type { ProbeFacts } from "../../../src/core/probe/types.ts";
import { assumeSandbox, facts, hostNs } from "../probe/fixtures.ts";

const POLICY = "defaultAction: deny\negress:\n  - {action: allow, target: 192.0.2.0/24}\n";
const ISOLATED = "require_full_isolation: true\negress: []\n";

function request(over: Partial<ApplyRequest> = {}): ApplyRequest {
  const r = resolveApplyConfig({}, { OPENSANDBOX_EGRESS_DOH_BLOCKLIST: "" });
  if (!r.ok) throw new Error(r.error);
  const { kernel: _k, ...config } = r.config;
  return { ...config, action: "apply", text: POLICY, source: "p.yaml", ...over };
}

function effects(f: ProbeFacts | null) {
  const calls = { facts: 0, opened: 0, scripts: [] as string[] };
  return {
    calls,
    fx: {
      gatherFacts: async () => {
        calls.facts++;
        if (!f) throw new Error("facts must not be gathered here");
        return f;
      },
      openBackend: () => {
        calls.opened++;
        return { kind: "library" as const, run: (s: string) => (calls.scripts.push(s), { ok: true as const, output: "" }), listTableJson: () => null, listSetJson: () => null };
      },
    },
  };
}

for (const action of ["apply", "check", "delete"] as const) {
  test(`${action} in the host's namespace: exit-4 refusal naming the host, no backend opened`, async () => {
    const { fx, calls } = effects(facts(hostNs));
    const o = await applyPolicy(request({ action }), fx);
    expect(o.kind).toBe("unavailable");
    expect(o.kind === "unavailable" && o.reason).toMatch(/host's network namespace.*init-netns.*--allow-host-network/s);
    expect(calls.opened).toBe(0);
  });
}

test("--allow-host-network and EGRESSCTL_ASSUME_SANDBOX=1 let apply through on the host", async () => {
  for (const [f, allow] of [[facts(hostNs), true], [facts(hostNs, assumeSandbox), false]] as const) {
    const { fx, calls } = effects(f);
    const o = await applyPolicy(request({ allowHostNetwork: allow }), fx);
    expect(o.kind).toBe("ok");
    expect(calls.scripts.length).toBe(1);
  }
});

test("a sandbox namespace: applied", async () => {
  const { fx, calls } = effects(facts());
  expect((await applyPolicy(request(), fx)).kind).toBe("ok");
  expect(calls.facts).toBe(1);
  expect(calls.scripts[0]).toStartWith("# egressctl ruleset:");
});

test("--dry-run gathers no facts and opens no backend, even on the host", async () => {
  const { fx, calls } = effects(null);
  const o = await applyPolicy(request({ action: "dry-run", text: ISOLATED, mode: "dns-only" }), fx);
  expect(o.kind).toBe("ok");
  expect(calls).toEqual({ facts: 0, opened: 0, scripts: [] });
});

test("require_full_isolation with --mode dns-only: refused before facts or kernel; dns+nftables is fine", async () => {
  for (const action of ["apply", "check"] as const) {
    const { fx, calls } = effects(null);
    const o = await applyPolicy(request({ action, text: ISOLATED, mode: "dns-only" }), fx);
    expect(o.kind).toBe("unavailable");
    expect(o.kind === "unavailable" && o.reason).toMatch(/require_full_isolation.*--mode dns-only/);
    expect(calls).toEqual({ facts: 0, opened: 0, scripts: [] });
  }
  const { fx } = effects(facts());
  expect((await applyPolicy(request({ text: ISOLATED }), fx)).kind).toBe("ok");
});

test("an invalid policy is still exit 3 (invalid), before any refusal", async () => {
  const { fx, calls } = effects(facts(hostNs));
  expect((await applyPolicy(request({ text: "defaultAction: maybe\n" }), fx)).kind).toBe("invalid");
  expect(calls.facts).toBe(0);
});
