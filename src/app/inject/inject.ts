// The inject use case: manifests in, manifests out, or the reason nothing is printed.
// The policy is judged first, as `validate` judges it (an invalid policy is exit 3 and
// nothing is printed); every workload is then injected (or restored, --uninject), and a
// workload that cannot be isolated (hostNetwork, a privileged container) stops the whole
// run with exit 4 before anything reaches stdout, as serve refuses such a pod.
import type { Document } from "yaml";
import { apiDocument } from "../../core/api/responses.ts";
import { Exit, type ExitCode } from "../../core/exit-codes.ts";
import { EditError } from "../../core/inject/edit.ts";
import { injectDocs, uninjectDocs } from "../../core/inject/inject.ts";
import { printManifests, readManifests, type Format } from "../../core/inject/manifests.ts";
import { sidecarPlan, type InjectOptions } from "../../core/inject/sidecar.ts";
import { loadPolicyText, type Problem } from "../../core/policy/load.ts";
import { humanLine } from "../../core/policy/report.ts";
import { syntaxOfFile } from "../../core/policy/source.ts";
import { shippedTemplate } from "./template.ts";

export interface Input {
  /** a file name, or "stdin" */
  source: string;
  text: string;
}

export type InjectOutcome =
  | { ok: true; output: string; workloads: string[]; warnings: string[] }
  | { ok: false; exit: ExitCode; messages: string[]; problems?: Problem[] };

export type Settings = Omit<InjectOptions, "policy" | "policyJson">;

/** `policy`: the policy file's source and text; judged before anything else */
export function runInject(inputs: Input[], policy: Input, settings: Settings): InjectOutcome {
  const judged = loadPolicyText(policy.text, { source: policy.source, syntax: syntaxOfFile(policy.source) });
  if (!judged.policy) return { ok: false, exit: Exit.invalidPolicy, messages: [`${policy.source} is not a valid policy; nothing was injected`], problems: judged.problems };
  const opts: InjectOptions = { ...settings, policy: policy.text, policyJson: `${JSON.stringify(apiDocument(judged.policy), null, 2)}\n` };
  const template = shippedTemplate();
  const read = readAll(inputs);
  if ("error" in read) return { ok: false, exit: Exit.usage, messages: [read.error] };
  let r: ReturnType<typeof injectDocs>;
  try {
    r = injectDocs(read.docs, (w) => sidecarPlan(template, opts, w));
  } catch (e) {
    if (e instanceof EditError) return { ok: false, exit: Exit.runtime, messages: [`cannot inject: ${e.message}; nothing was injected`] };
    throw e;
  }
  if (r.refusals.length) {
    const exit = r.refusals.some((x) => x.exit === "isolation") ? Exit.unavailable : Exit.runtime;
    return { ok: false, exit, messages: r.refusals.map((x) => `${x.workload}: ${x.reason}; nothing was injected`) };
  }
  const warnings = judged.problems.filter((p) => p.severity === "warning").map((p) => humanLine(policy.source, p));
  if (r.injected.length === 0) warnings.push("no workload found (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob): printed unchanged");
  return { ok: true, output: printManifests(r.docs, read.format), workloads: r.injected, warnings };
}

export function runUninject(inputs: Input[]): InjectOutcome {
  const read = readAll(inputs);
  if ("error" in read) return { ok: false, exit: Exit.usage, messages: [read.error] };
  let r: ReturnType<typeof uninjectDocs>;
  try {
    r = uninjectDocs(read.docs);
  } catch (e) {
    if (e instanceof EditError) return { ok: false, exit: Exit.runtime, messages: [`cannot uninject: ${e.message}`] };
    throw e;
  }
  const warnings = r.restored.length ? [] : ["no injected workload found: printed unchanged"];
  return { ok: true, output: printManifests(r.docs, read.format), workloads: r.restored, warnings };
}

/** Every input's documents, in order; printed in the first input's form. */
function readAll(inputs: Input[]): { docs: Document[]; format: Format } | { error: string } {
  const docs: Document[] = [];
  let format: Format | undefined;
  for (const i of inputs) {
    const r = readManifests(i.text, i.source);
    if (!r.ok) return { error: r.error };
    format ??= r.format;
    docs.push(...r.docs);
  }
  return { docs, format: format ?? "yaml" };
}
