// What `egressctl inject` adds to one workload, made from the sidecar that
// deploy/kubernetes/deployment.yaml defines (the template), so that an injected pod runs
// egressctl exactly as the shipped manifests do: same image entrypoint, capabilities,
// probes, read-only root, mounts. Only what the options name is changed:
//   - the image;
//   - the upstream (OPENSANDBOX_EGRESS_DNS_UPSTREAM), the API token's Secret (or none),
//     EGRESSCTL_INBOUND_FROM;
//   - the policy ConfigMap's name (one per workload), emitted beside it;
//   - allow.always names (in-cluster services the operator trusts) in a ConfigMap of
//     their own, mounted where serve reads the always lists;
//   - with a policy volume, the policy is a seed (OPENSANDBOX_EGRESS_RULES) and the live
//     policy, changes through the API included, is kept in OPENSANDBOX_EGRESS_POLICY_FILE
//     on that volume, which a valid file there beats at every start.
// Pure: the template comes in as parsed data.
import type { SidecarPlan } from "./inject.ts";
import { DEFAULT_ALWAYS_DIR } from "../always/types.ts";

export type Obj = Record<string, any>;

/** the sidecar container, the volumes it mounts and the pod annotations of the template */
export interface Template {
  container: Obj;
  volumes: Obj[];
  annotations: Record<string, string>;
}

export interface InjectOptions {
  image: string;
  /** OPENSANDBOX_EGRESS_DNS_UPSTREAM: comma-separated addresses */
  upstream: string;
  /** the API token's Secret; null: no token, so serve refuses every change (403) */
  tokenSecret: { name: string; key: string } | null;
  /** EGRESSCTL_INBOUND_FROM, when given */
  inboundFrom?: string;
  /** the policy text, already validated */
  policy: string;
  /** the same policy as JSON (the seed, when the policy lives on a volume) */
  policyJson: string;
  /** names for allow.always: their answers may open non-public addresses */
  allowAlways: string[];
  /** where the live policy is kept across restarts; none: the ConfigMap is the policy */
  policyVolume?: { emptyDir: true } | { claim: string };
}

export const POLICY_VOLUME = "egressctl-policy";
export const RULES_VOLUME = "egressctl-rules";
export const STATE_VOLUME = "egressctl-state";
/** serve's default directory of the always lists (the always rules' own default) */
export const STATE_DIR = "/var/lib/egressctl";
export const PERSISTED_POLICY = `${STATE_DIR}/policy.json`;

/** Finds the egressctl init container in the deploy manifest and what it mounts. */
export function templateFrom(deployment: Obj): Template {
  const pod = deployment?.spec?.template;
  const container = (pod?.spec?.initContainers ?? []).find((c: Obj) => c.name === "egressctl");
  if (!container) throw new Error("the deploy manifest has no egressctl init container");
  const mounted = new Set((container.volumeMounts ?? []).map((m: Obj) => m.name));
  const volumes = (pod.spec.volumes ?? []).filter((v: Obj) => mounted.has(v.name));
  return { container, volumes, annotations: { ...(pod.metadata?.annotations ?? {}) } };
}

/** Kubernetes object names: lowercase DNS labels, at most 253 characters */
export function objectName(workload: string, suffix: string): string {
  const base = workload.toLowerCase().replace(/[^a-z0-9.-]+/g, "-").replace(/^[-.]+|[-.]+$/g, "") || "workload";
  return `${base.slice(0, 253 - suffix.length - 1)}-${suffix}`;
}

export function sidecarPlan(t: Template, o: InjectOptions, w: { name: string; namespace?: string }): SidecarPlan {
  const c: Obj = structuredClone(t.container);
  const volumes: Obj[] = structuredClone(t.volumes);
  const policyMap = objectName(w.name, "egressctl-policy");
  const rulesMap = objectName(w.name, "egressctl-rules");
  const ns = w.namespace ? { namespace: w.namespace } : {};
  c.image = o.image;

  let env: Obj[] = c.env ?? [];
  const setEnv = (name: string, entry: Obj | null) => {
    const i = env.findIndex((e) => e.name === name);
    if (entry === null) env = env.filter((e) => e.name !== name);
    else if (i >= 0) env[i] = { name, ...entry };
    else env.push({ name, ...entry });
  };
  setEnv("OPENSANDBOX_EGRESS_DNS_UPSTREAM", { value: o.upstream });
  setEnv("OPENSANDBOX_EGRESS_TOKEN", o.tokenSecret ? { valueFrom: { secretKeyRef: { name: o.tokenSecret.name, key: o.tokenSecret.key } } } : null);
  if (o.inboundFrom !== undefined) setEnv("EGRESSCTL_INBOUND_FROM", { value: o.inboundFrom });

  const policyVol = volumes.find((v) => v.name === POLICY_VOLUME);
  if (!policyVol?.configMap) throw new Error(`the deploy manifest's ${POLICY_VOLUME} volume is not a ConfigMap`);
  policyVol.configMap.name = policyMap;
  const policyData: Record<string, string> = { "policy.yaml": o.policy };

  if (o.policyVolume) {
    // the FILE argument would beat the persisted file: the ConfigMap becomes the seed
    const mount = (c.volumeMounts as Obj[]).find((m) => m.name === POLICY_VOLUME)!;
    c.args = (c.args as string[]).filter((a) => !a.startsWith(`${mount.mountPath}/`));
    c.volumeMounts = (c.volumeMounts as Obj[]).filter((m) => m.name !== POLICY_VOLUME);
    volumes.splice(volumes.indexOf(policyVol), 1);
    policyData["policy.json"] = o.policyJson;
    setEnv("OPENSANDBOX_EGRESS_RULES", { valueFrom: { configMapKeyRef: { name: policyMap, key: "policy.json" } } });
    setEnv("OPENSANDBOX_EGRESS_POLICY_FILE", { value: PERSISTED_POLICY });
    c.volumeMounts.push({ name: STATE_VOLUME, mountPath: STATE_DIR });
    volumes.push("claim" in o.policyVolume
      ? { name: STATE_VOLUME, persistentVolumeClaim: { claimName: o.policyVolume.claim } }
      : { name: STATE_VOLUME, emptyDir: {} });
  }
  const extraDocs: Obj[] = [configMap(policyMap, ns, policyData)];
  if (o.allowAlways.length) {
    c.volumeMounts.push({ name: RULES_VOLUME, mountPath: DEFAULT_ALWAYS_DIR, readOnly: true });
    volumes.push({ name: RULES_VOLUME, configMap: { name: rulesMap } });
    const lines = ["# in-cluster services the operator trusts: their answers may open non-public addresses", ...o.allowAlways];
    extraDocs.push(configMap(rulesMap, ns, { "allow.always": `${lines.join("\n")}\n` }));
  }
  c.env = env;
  return { container: c, volumes, extraDocs, annotations: t.annotations };
}

function configMap(name: string, ns: Obj, data: Record<string, string>): Obj {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, ...ns, labels: { "app.kubernetes.io/managed-by": "egressctl-inject" } }, data };
}
