// A Pod spec as the podman commands a kubelet's runtime would amount to, for the pods
// `podman kube play` cannot run: podman 4.3 refuses init containers that carry probes and
// runs init containers to completion, so a native sidecar (an init container with
// restartPolicy: Always and a startupProbe) cannot be played. The translation keeps what
// matters for enforcement: the container's command, environment (ConfigMap, Secret and
// fieldRef references resolved from what the test hands in), capabilities, user,
// read-only root, mounts (a ConfigMap becomes a directory of its files, an emptyDir a
// tmpfs), memory limit, and the startup probe (run like the kubelet: exec until it
// passes). Every field it does not know is an error, so a new setting in inject's output
// cannot be silently skipped.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

type Obj = Record<string, any>;

export interface ContainerRun {
  name: string;
  /** podman run flags, without the network, name and image */
  flags: string[];
  image: string;
  /** the command line after the image (entrypoint unchanged: args only) */
  args: string[];
  /** the startup probe's exec command, when there is one */
  startupProbe: { command: string[]; periodSeconds: number; failureThreshold: number } | null;
  /** native sidecar (init container with restartPolicy: Always), init container, or app */
  role: "sidecar" | "init" | "app";
}

export interface PodInputs {
  podName: string;
  configMaps: Record<string, Record<string, string>>;
  secrets: Record<string, Record<string, string>>;
  /** where ConfigMap volumes are written as directories */
  scratch: string;
}

const CONTAINER_KEYS = new Set(["name", "image", "imagePullPolicy", "restartPolicy", "command", "args", "env", "ports", "securityContext", "startupProbe", "livenessProbe", "resources", "volumeMounts"]);
const SECURITY_KEYS = new Set(["capabilities", "readOnlyRootFilesystem", "allowPrivilegeEscalation", "privileged", "runAsUser", "runAsGroup", "runAsNonRoot", "seccompProfile"]);

/** the containers of a pod spec in start order: native sidecars and init containers, then the apps */
export function podRuns(spec: Obj, inputs: PodInputs): ContainerRun[] {
  const volumes = new Map<string, Obj>((spec.volumes ?? []).map((v: Obj) => [v.name, v]));
  const init = (spec.initContainers ?? []).map((c: Obj) => containerRun(c, c.restartPolicy === "Always" ? "sidecar" : "init", volumes, inputs));
  return [...init, ...(spec.containers ?? []).map((c: Obj) => containerRun(c, "app", volumes, inputs))];
}

function containerRun(c: Obj, role: ContainerRun["role"], volumes: Map<string, Obj>, inputs: PodInputs): ContainerRun {
  for (const k of Object.keys(c)) if (!CONTAINER_KEYS.has(k)) throw new Error(`pod-run: container ${c.name}: field ${k} is not translated`);
  const flags: string[] = [];
  for (const e of c.env ?? []) flags.push("--env", `${e.name}=${envValue(e, inputs)}`);
  const sc: Obj = c.securityContext ?? {};
  for (const k of Object.keys(sc)) if (!SECURITY_KEYS.has(k)) throw new Error(`pod-run: container ${c.name}: securityContext.${k} is not translated`);
  if (sc.privileged) flags.push("--privileged");
  for (const cap of sc.capabilities?.drop ?? []) flags.push("--cap-drop", cap);
  for (const cap of sc.capabilities?.add ?? []) flags.push("--cap-add", cap);
  if (sc.readOnlyRootFilesystem) flags.push("--read-only");
  if (sc.allowPrivilegeEscalation === false) flags.push("--security-opt", "no-new-privileges");
  if (sc.runAsUser !== undefined) flags.push("--user", `${sc.runAsUser}${sc.runAsGroup !== undefined ? `:${sc.runAsGroup}` : ""}`);
  if (c.resources?.limits?.memory) flags.push("--memory", String(c.resources.limits.memory).replace(/i$/, "").toLowerCase());
  for (const m of c.volumeMounts ?? []) flags.push(...mount(m, volumes.get(m.name), inputs));
  const probe = c.startupProbe;
  if (probe && !probe.exec) throw new Error(`pod-run: container ${c.name}: only exec startup probes are translated`);
  return {
    name: c.name,
    flags,
    image: c.image,
    args: [...(c.command ?? []), ...(c.args ?? [])],
    startupProbe: probe ? { command: probe.exec.command, periodSeconds: probe.periodSeconds ?? 10, failureThreshold: probe.failureThreshold ?? 3 } : null,
    role,
  };
}

function envValue(e: Obj, inputs: PodInputs): string {
  if (e.value !== undefined) return String(e.value);
  const from = e.valueFrom ?? {};
  if (from.secretKeyRef) return pick(inputs.secrets, from.secretKeyRef, "Secret");
  if (from.configMapKeyRef) return pick(inputs.configMaps, from.configMapKeyRef, "ConfigMap");
  if (from.fieldRef?.fieldPath === "metadata.name") return inputs.podName;
  throw new Error(`pod-run: env ${e.name}: valueFrom ${JSON.stringify(from)} is not translated`);
}

function pick(store: Record<string, Record<string, string>>, ref: { name: string; key: string }, what: string): string {
  const v = store[ref.name]?.[ref.key];
  if (v === undefined) throw new Error(`pod-run: ${what} ${ref.name} has no key ${ref.key} (the kubelet would not start the container)`);
  return v;
}

function mount(m: Obj, v: Obj | undefined, inputs: PodInputs): string[] {
  if (!v) throw new Error(`pod-run: volumeMount ${m.name} names no volume of the pod`);
  if (m.subPath) throw new Error(`pod-run: volumeMount ${m.name}: subPath is not translated`);
  if (v.configMap) {
    const data = inputs.configMaps[v.configMap.name];
    if (!data) throw new Error(`pod-run: ConfigMap ${v.configMap.name} is not given`);
    const dir = join(inputs.scratch, `configmap-${v.configMap.name}`);
    mkdirSync(dir, { recursive: true });
    for (const [k, text] of Object.entries(data)) writeFileSync(join(dir, k), text);
    return ["--volume", `${dir}:${m.mountPath}:${m.readOnly ? "ro" : "rw"}`];
  }
  if (v.emptyDir) {
    const size = v.emptyDir.sizeLimit ? `,size=${String(v.emptyDir.sizeLimit).replace(/i$/, "").toLowerCase()}` : "";
    return ["--tmpfs", `${m.mountPath}:rw,mode=1777${size}`];
  }
  throw new Error(`pod-run: volume ${m.name}: only configMap and emptyDir volumes are translated`);
}
