// `egressctl inject` as a pure transformation of parsed manifests (yaml Documents):
//   - every workload that runs pods gets egressctl as a native sidecar (the first init
//     container, restartPolicy Always, a startup probe that waits for enforcement), the
//     volumes it mounts, and a ConfigMap document beside it for the policy;
//   - every other container loses NET_ADMIN and NET_RAW (added to `drop`, taken out of
//     `add`), keeping whatever else it drops and adds;
//   - what was changed is recorded in one annotation on the pod template, so injecting
//     again starts from the original (idempotent) and --uninject restores it exactly.
// Refusals (hostNetwork, privileged containers) are values; the command turns them into
// exit 4 before printing anything.
import { isMap, isSeq, type Document, YAMLMap, type YAMLSeq } from "yaml";
import { Editor, EditError, undo, type Step } from "./edit.ts";
import { WORKLOADS, type PathKey } from "./workloads.ts";

export const RECORD_ANNOTATION = "egressctl.io/inject";
export const GENERATED_ANNOTATION = "egressctl.io/generated-for";
export const SIDECAR_NAME = "egressctl";
const DROPPED = ["NET_ADMIN", "NET_RAW"] as const;

/** What the sidecar adds to one workload; built by sidecar.ts from the options. */
export interface SidecarPlan {
  container: Record<string, unknown>;
  volumes: Record<string, unknown>[];
  /** documents emitted right after the workload (the policy ConfigMap, ...), as plain objects */
  extraDocs: Record<string, unknown>[];
  /** pod annotations set where the pod has none of that key (Prometheus' scrape hints) */
  annotations: Record<string, string>;
}

export type PlanFor = (w: { kind: string; name: string; namespace?: string }) => SidecarPlan;

export interface Refusal {
  /** "Deployment/web" */
  workload: string;
  reason: string;
  /** isolation: the pod could not be isolated (exit 4); conflict: a name or port of the pod's is taken (exit 1) */
  exit: "isolation" | "conflict";
}

/** the record kept in RECORD_ANNOTATION; `v` is its format (not egressctl's version, so
 * an upgrade of egressctl does not make every injected manifest differ) */
interface Record_ {
  v: 1;
  steps: Step[];
}

export interface InjectResult {
  docs: Document[];
  injected: string[];
  refusals: Refusal[];
}

/**
 * Injects into every workload of `docs` (a List's items included). Documents that are
 * not workloads pass through untouched, except ConfigMaps an earlier inject generated
 * for a workload of this input, which are replaced by fresh ones.
 */
export function injectDocs(docs: Document[], planFor: PlanFor): InjectResult {
  const base = uninjectDocs(docs);
  const out: Document[] = [];
  const injected: string[] = [];
  const refusals: Refusal[] = [];
  for (const doc of base.docs) {
    out.push(doc);
    for (const w of workloadsOf(doc)) {
      const label = `${w.kind}/${w.name}`;
      const refused = refusal(w.doc, w.at, w.kind);
      if (refused) {
        refusals.push({ workload: label, reason: refused, exit: "isolation" });
        continue;
      }
      const plan = planFor({ kind: w.kind, name: w.name, namespace: w.namespace });
      const clash = conflict(w.doc, w.at, w.kind, plan);
      if (clash) {
        refusals.push({ workload: label, reason: clash, exit: "conflict" });
        continue;
      }
      injectOne(w.doc, w.at, w.kind, plan);
      injected.push(label);
      for (const extra of plan.extraDocs) {
        // beside the workload: its own document, or in a List an item at the list's end
        // (so the paths of the items still to come stay valid)
        if (w.at.length) (doc.getIn(["items"], true) as YAMLSeq).items.push(doc.createNode(withGenerated(extra, label)));
        else out.push(generatedDoc(doc, extra, label));
      }
    }
  }
  return { docs: out, injected, refusals };
}

/** Restores every injected workload and drops the documents inject generated. */
export function uninjectDocs(docs: Document[]): { docs: Document[]; restored: string[] } {
  const restored: string[] = [];
  const kept: Document[] = [];
  for (const doc of docs) {
    if (isGenerated(doc)) continue;
    for (const w of workloadsOf(doc)) {
      if (restoreOne(w.doc, w.at, w.kind)) restored.push(`${w.kind}/${w.name}`);
    }
    dropGeneratedItems(doc);
    kept.push(doc);
  }
  return { docs: kept, restored };
}

interface Workload {
  doc: Document;
  /** path of the workload object inside the document ([] or ["items", i]) */
  at: PathKey[];
  kind: string;
  name: string;
  namespace?: string;
}

/** The workloads of one document: the document itself, or the items of a `kind: List`. */
function workloadsOf(doc: Document): Workload[] {
  const js = doc.toJS() as unknown;
  if (!isObj(js)) return [];
  const one = (obj: Record<string, unknown>, at: PathKey[]): Workload[] => {
    const kind = obj.kind;
    if (typeof kind !== "string" || !(kind in WORKLOADS)) return [];
    const meta = isObj(obj.metadata) ? obj.metadata : {};
    const name = typeof meta.name === "string" ? meta.name : typeof meta.generateName === "string" ? meta.generateName : "unnamed";
    const namespace = typeof meta.namespace === "string" ? meta.namespace : undefined;
    return [{ doc, at, kind, name, namespace }];
  };
  if (js.kind === "List" && Array.isArray(js.items)) return js.items.flatMap((it, i) => (isObj(it) ? one(it, ["items", i]) : []));
  return one(js, []);
}

function refusal(doc: Document, at: PathKey[], kind: string): string | null {
  const spec = doc.getIn([...at, ...WORKLOADS[kind]!.spec]) as unknown;
  const s = isMap(spec) ? (spec.toJSON() as Record<string, unknown>) : {};
  if (s.hostNetwork === true) {
    return "hostNetwork: true: the pod shares the node's network namespace, so egressctl would filter the node itself (serve refuses it too); run the workload without hostNetwork";
  }
  for (const field of ["containers", "initContainers"] as const) {
    const list = Array.isArray(s[field]) ? (s[field] as unknown[]) : [];
    for (const c of list) {
      if (isObj(c) && isObj(c.securityContext) && c.securityContext.privileged === true && c.name !== SIDECAR_NAME) {
        return `container "${String(c.name)}" is privileged: it holds every capability, NET_ADMIN and NET_RAW included, whatever is dropped; run it unprivileged`;
      }
    }
  }
  return null;
}

/** A volume, port or port name of the pod that the sidecar needs too. */
function conflict(doc: Document, at: PathKey[], kind: string, plan: SidecarPlan): string | null {
  const js = doc.getIn([...at, ...WORKLOADS[kind]!.spec]) as unknown;
  const s = isMap(js) ? (js.toJSON() as Record<string, any>) : {};
  const ours = new Set(plan.volumes.map((v) => v.name as string));
  for (const v of (s.volumes ?? []) as Record<string, unknown>[]) {
    if (ours.has(v.name as string)) return `the pod already has a volume named "${String(v.name)}", which the sidecar mounts; rename the pod's`;
  }
  const ports = ((plan.container.ports ?? []) as Record<string, unknown>[]);
  for (const c of [...(s.containers ?? []), ...(s.initContainers ?? [])] as Record<string, any>[]) {
    for (const p of (c.ports ?? []) as Record<string, unknown>[]) {
      for (const q of ports) {
        if (p.containerPort === q.containerPort) return `container "${c.name}" declares port ${String(p.containerPort)}, which the sidecar listens on (containers of a pod share one network namespace)`;
        if (p.name !== undefined && p.name === q.name) return `container "${c.name}" names a port "${String(p.name)}", a name the sidecar's port has (port names are unique in a pod)`;
      }
    }
  }
  return null;
}

function injectOne(doc: Document, at: PathKey[], kind: string, plan: SidecarPlan): void {
  const shape = WORKLOADS[kind]!;
  const spec = [...at, ...shape.spec];
  // steps are recorded relative to the pod template ("spec.containers.0...")
  const ed = new Editor(doc, [...at, ...shape.meta.slice(0, -1)]);
  // capabilities first, at the containers' original positions (the sidecar goes in after)
  for (const field of ["containers", "initContainers"] as const) {
    const list = doc.getIn([...spec, field], true);
    if (!isSeq(list)) continue;
    list.items.forEach((_, i) => dropNetCaps(ed, [...spec, field, i]));
  }
  ed.insert([...spec, "initContainers"], plan.container as { name: string }, "start");
  for (const v of plan.volumes) ed.insert([...spec, "volumes"], v as { name: string });
  const annPath = [...at, ...shape.meta, "annotations"];
  for (const [k, v] of Object.entries(plan.annotations)) ed.setNew([...annPath, k], v);
  const annotations = ed.map(annPath);
  const record: Record_ = { v: 1, steps: ed.steps };
  annotations.set(RECORD_ANNOTATION, JSON.stringify(record));
}

/** NET_ADMIN and NET_RAW into `drop` (unless it drops ALL already), out of `add`. */
function dropNetCaps(ed: Editor, container: PathKey[]): void {
  const caps = [...container, "securityContext", "capabilities"];
  const c = ed.get(caps);
  const js = isMap(c) ? (c.toJSON() as Record<string, unknown>) : {};
  const drop = Array.isArray(js.drop) ? (js.drop as unknown[]) : [];
  const add = Array.isArray(js.add) ? (js.add as unknown[]) : [];
  for (const cap of DROPPED) if (add.includes(cap)) ed.removeScalar([...caps, "add"], cap);
  if (drop.includes("ALL")) return;
  for (const cap of DROPPED) if (!drop.includes(cap)) ed.insert([...caps, "drop"], cap);
}

function restoreOne(doc: Document, at: PathKey[], kind: string): boolean {
  const shape = WORKLOADS[kind]!;
  const annPath = [...at, ...shape.meta, "annotations"];
  const raw = doc.getIn([...annPath, RECORD_ANNOTATION]);
  if (typeof raw !== "string") return false;
  let record: Record_;
  try {
    record = JSON.parse(raw) as Record_;
    if (record.v !== 1 || !Array.isArray(record.steps)) throw new Error("unknown record");
  } catch {
    throw new EditError(`${kind}: annotation ${RECORD_ANNOTATION} is not what egressctl inject wrote; remove the sidecar by hand`);
  }
  // the annotation goes first: the record may have created the annotations map itself
  doc.deleteIn([...annPath, RECORD_ANNOTATION]);
  undo(doc, record.steps, [...at, ...shape.meta.slice(0, -1)]);
  return true;
}

function generatedDoc(workload: Document, extra: Record<string, unknown>, label: string): Document {
  const d = workload.clone();
  d.contents = d.createNode(withGenerated(extra, label)) as YAMLMap;
  d.commentBefore = null;
  d.comment = null;
  return d;
}

function withGenerated(obj: Record<string, unknown>, label: string): Record<string, unknown> {
  const meta = isObj(obj.metadata) ? obj.metadata : {};
  const annotations = isObj(meta.annotations) ? meta.annotations : {};
  return { ...obj, metadata: { ...meta, annotations: { ...annotations, [GENERATED_ANNOTATION]: label } } };
}

function isGenerated(doc: Document): boolean {
  return typeof doc.getIn(["metadata", "annotations", GENERATED_ANNOTATION]) === "string";
}

/** In a List, generated items are dropped the same way. */
function dropGeneratedItems(doc: Document): void {
  const items = doc.getIn(["items"], true);
  if (!isSeq(items) || doc.getIn(["kind"]) !== "List") return;
  items.items = items.items.filter((it) => !(isMap(it) && typeof (it.toJSON() as any)?.metadata?.annotations?.[GENERATED_ANNOTATION] === "string"));
}

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}
