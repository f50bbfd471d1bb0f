// A policy that survives pod recreation, as `egressctl inject --policy-volume` sets it up:
// the ConfigMap's policy seeds OPENSANDBOX_EGRESS_RULES, the live policy is kept in
// OPENSANDBOX_EGRESS_POLICY_FILE on a volume. The sidecar's environment is taken from
// inject's own output (the volume's path mapped to a directory of the lab), then: PATCH
// through the API, serve killed and started again with the same environment and volume,
// and the patched rule, not the seed, is what the application meets.
import { expect, test } from "bun:test";
import { mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import { runInject } from "../../../src/app/inject/inject.ts";
import { PERSISTED_POLICY, STATE_DIR } from "../../../src/core/inject/sidecar.ts";
import { LAB, type Lab } from "../../support/lab.ts";
import { args, dig, serve, useLab } from "./helpers-serve.ts";

let lab: Lab;
useLab((l) => {
  lab = l;
});

const FIXTURES = resolve(import.meta.dir, "../../fixtures/inject");

/** the sidecar's environment from inject's output, ConfigMap references resolved */
function injectedEnv(stateDir: string): Record<string, string> {
  const r = runInject(
    [{ source: "pod.yaml", text: readFileSync(join(FIXTURES, "in/pod.yaml"), "utf8") }],
    { source: "policy.yaml", text: "defaultAction: deny\negress:\n  - { action: allow, target: api.example.com }\n" },
    { image: "egressctl:test", upstream: LAB.dnsV4, tokenSecret: null, allowAlways: [], policyVolume: { emptyDir: true } },
  );
  if (!r.ok) throw new Error(r.messages.join("; "));
  const docs = parseAllDocuments(r.output).map((d) => d.toJS());
  const configMap = docs.find((d) => d.kind === "ConfigMap");
  const sidecar = docs.find((d) => d.kind === "Pod").spec.initContainers[0];
  const env: Record<string, string> = {};
  for (const e of sidecar.env) {
    if (e.value !== undefined) env[e.name] = e.value.replace(STATE_DIR, stateDir);
    else if (e.valueFrom?.configMapKeyRef) env[e.name] = configMap.data[e.valueFrom.configMapKeyRef.key];
  }
  expect(env.OPENSANDBOX_EGRESS_POLICY_FILE).toBe(PERSISTED_POLICY.replace(STATE_DIR, stateDir));
  expect(JSON.parse(env.OPENSANDBOX_EGRESS_RULES!).egress).toEqual([{ action: "allow", target: "api.example.com" }]);
  return env;
}

async function patch(body: string): Promise<number> {
  const r = await lab.exec("sandbox", ["curl", "-sS", "-m", "10", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PATCH", "-H", "OPENSANDBOX-EGRESS-AUTH: t0ken", "--data-binary", body, "http://127.0.0.1:18080/policy"]);
  return Number(r.stdout);
}

test("PATCH, serve killed and restarted with the same volume: the patched rule is in force, not the seed", async () => {
  const volume = join(lab.dir, "state");
  mkdirSync(volume);
  const env: Record<string, string> = { ...injectedEnv(volume), OPENSANDBOX_EGRESS_TOKEN: "t0ken", OPENSANDBOX_EGRESS_MODE: "dns+nftables" };
  const first = await serve(lab, args(null), { env });
  expect(first.events.find((e) => e.event === "policy.applied")?.source).toBe("env:OPENSANDBOX_EGRESS_RULES");
  expect((await dig(lab, "plain.example.net")).rcode).toBe("NXDOMAIN");
  expect(await patch(JSON.stringify([{ action: "allow", target: "plain.example.net" }, { action: "deny", target: "api.example.com" }]))).toBe(200);
  expect((await dig(lab, "plain.example.net")).addresses).toEqual(["198.51.100.50"]);
  await first.stop("SIGKILL");

  // the pod's sidecar restarts: same environment (the seed is still there), same volume
  const second = await serve(lab, args(null), { env });
  expect(second.events.find((e) => e.event === "policy.applied")?.source).toBe(`env:OPENSANDBOX_EGRESS_POLICY_FILE:${env.OPENSANDBOX_EGRESS_POLICY_FILE}`);
  expect((await dig(lab, "plain.example.net")).addresses).toEqual(["198.51.100.50"]);
  expect((await dig(lab, "api.example.com")).rcode).toBe("NXDOMAIN");
});
