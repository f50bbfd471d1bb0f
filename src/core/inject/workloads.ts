// Where a workload keeps its pod: the kinds `egressctl inject` understands and the path
// to the pod template's metadata and spec inside each. Pure data.
export type PathKey = string | number;

export interface WorkloadShape {
  /** path to the pod (template) metadata */
  meta: PathKey[];
  /** path to the pod spec */
  spec: PathKey[];
}

const TEMPLATE: WorkloadShape = { meta: ["spec", "template", "metadata"], spec: ["spec", "template", "spec"] };

/** Every kind that runs pods, by `kind`; the apiVersion is not checked (apps/v1, batch/v1, ...). */
export const WORKLOADS: Readonly<Record<string, WorkloadShape>> = {
  Pod: { meta: ["metadata"], spec: ["spec"] },
  Deployment: TEMPLATE,
  StatefulSet: TEMPLATE,
  DaemonSet: TEMPLATE,
  ReplicaSet: TEMPLATE,
  Job: TEMPLATE,
  CronJob: { meta: ["spec", "jobTemplate", "spec", "template", "metadata"], spec: ["spec", "jobTemplate", "spec", "template", "spec"] },
};
