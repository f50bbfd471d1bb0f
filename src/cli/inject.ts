// `egressctl inject [FILE...] --policy FILE ...` and `egressctl inject --uninject [FILE...]`:
// read manifests (files, or stdin), print them with egressctl added as a native sidecar
// (or taken out again). Nothing is printed unless every workload could be handled.
import { defineCommand } from "citty";
import { readFileSync } from "node:fs";
import { runInject, runUninject, type Input, type Settings } from "../app/inject/inject.ts";
import { parseUpstreamList } from "../core/dns/upstreams.ts";
import { humanLine } from "../core/policy/report.ts";
import { VERSION } from "../version.ts";
import { ActionableError, Exit } from "./exit.ts";
import { log } from "./log.ts";

export default defineCommand({
  meta: {
    name: "inject",
    description: `Add egressctl to Kubernetes workloads as a native sidecar, as deploy/kubernetes/
does (istioctl kube-inject style): Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet,
Job and CronJob, YAML (several documents) or JSON, from files or stdin. Every other
container loses NET_ADMIN and NET_RAW; the policy goes into a ConfigMap printed beside
the workload. Injecting again gives the same output; --uninject restores the input.
hostNetwork pods and privileged containers are refused (exit 4), an invalid policy is
exit 3; either way nothing is printed. The whole story: docs/install.md#inject.

Examples:
  egressctl inject deploy.yaml --policy policy.yaml --cluster-dns 10.96.0.10 | kubectl apply -f -
  kubectl get deploy web -o yaml | egressctl inject --policy p.yaml --cluster-dns 10.96.0.10 --image reg.example/egressctl:0.1.0
  egressctl inject job.yaml --policy p.yaml --upstream 10.96.0.10 --allow-cluster-service otel-collector.observability.svc.cluster.local
  egressctl inject sts.yaml --policy p.yaml --cluster-dns 10.96.0.10 --policy-volume pvc:egress-policy
  egressctl inject --uninject injected.yaml`,
  },
  args: {
    file: { type: "positional", required: false, description: "manifest files (YAML or JSON); none or \"-\" reads stdin" },
    policy: { type: "string", valueHint: "FILE", description: "the egress policy (validated first; goes into a ConfigMap)" },
    image: { type: "string", valueHint: "IMAGE", description: `the sidecar's image (default egressctl:${VERSION})` },
    "cluster-dns": { type: "string", valueHint: "ADDR", description: "the cluster's DNS service address (kubectl -n kube-system get svc kube-dns): the upstream unless --upstream" },
    upstream: { type: "string", valueHint: "ADDRS", description: "upstream resolvers, comma-separated literal addresses with optional port" },
    "token-secret": { type: "string", valueHint: "NAME[:KEY]", description: "the Secret holding the policy API token (default egressctl-api:token); none: no token, so the API refuses every change" },
    "inbound-from": { type: "string", valueHint: "CIDRS", description: "EGRESSCTL_INBOUND_FROM for the sidecar: any, none or CIDRs (docs/security.md)" },
    "allow-cluster-service": { type: "string", valueHint: "NAME", description: "an in-cluster name the operator trusts (allow.always: its answers may open cluster addresses); repeat for more" },
    "policy-volume": { type: "string", valueHint: "emptydir|pvc:CLAIM", description: "keep the live policy (API changes included) on a volume: emptydir for the pod's lifetime, pvc:CLAIM across pods" },
    uninject: { type: "boolean", description: "take egressctl out again and restore the containers as they were" },
  },
  run({ args, rawArgs }) {
    const inputs = readInputs(args._);
    const outcome = args.uninject ? runUninject(inputs) : runInject(inputs, readPolicy(args.policy), settings(args, rawArgs));
    if (!outcome.ok) {
      for (const p of outcome.problems ?? []) log.error(humanLine(args.policy ?? "policy", p));
      for (const m of outcome.messages) log.error(m);
      process.exitCode = outcome.exit;
      return;
    }
    for (const w of outcome.warnings) log.warn(w);
    process.stdout.write(outcome.output);
  },
});

function readInputs(files: string[]): Input[] {
  const names = files.length ? files : ["-"];
  return names.map((f) => ({ source: f === "-" ? "stdin" : f, text: readText(f) }));
}

function readPolicy(file: string | undefined): Input {
  if (!file) throw new ActionableError("--policy FILE is required: the policy the sidecar enforces (egressctl validate checks it)", Exit.usage);
  return { source: file, text: readText(file) };
}

function readText(file: string): string {
  try {
    return readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (e) {
    throw new ActionableError(`${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`, Exit.usage);
  }
}

function settings(args: Record<string, any>, rawArgs: string[]): Settings {
  const upstream = args.upstream ?? args["cluster-dns"];
  if (!upstream) {
    throw new ActionableError("the sidecar needs its upstream: --cluster-dns ADDR (kubectl -n kube-system get svc kube-dns -o jsonpath='{.spec.clusterIP}') or --upstream ADDRS", Exit.usage);
  }
  const ups = parseUpstreamList(upstream);
  if (ups.problems.length || ups.upstreams.length === 0) throw new ActionableError(`${args.upstream ? "--upstream" : "--cluster-dns"}: ${ups.problems.join("; ") || "no address"}`, Exit.usage);
  return {
    image: args.image ?? `egressctl:${VERSION}`,
    upstream: upstream.split(/[,\s]+/).filter(Boolean).join(","),
    tokenSecret: tokenSecret(args["token-secret"] ?? "egressctl-api:token"),
    ...(args["inbound-from"] !== undefined ? { inboundFrom: args["inbound-from"] } : {}),
    allowAlways: repeated(rawArgs, "--allow-cluster-service"),
    ...(args["policy-volume"] !== undefined ? { policyVolume: policyVolume(args["policy-volume"]) } : {}),
  };
}

function tokenSecret(spec: string): Settings["tokenSecret"] {
  if (spec === "none") return null;
  const [name, key = "token"] = spec.split(":");
  if (!name || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name)) throw new ActionableError(`--token-secret: '${spec}' is not NAME[:KEY] or none`, Exit.usage);
  return { name, key };
}

function policyVolume(spec: string): NonNullable<Settings["policyVolume"]> {
  if (spec === "emptydir") return { emptyDir: true };
  const m = /^pvc:([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(spec);
  if (m) return { claim: m[1]! };
  throw new ActionableError(`--policy-volume: '${spec}' is not emptydir or pvc:CLAIM`, Exit.usage);
}

/** every value of a flag given several times (citty keeps only one) */
function repeated(raw: string[], flag: string): string[] {
  const out: string[] = [];
  raw.forEach((a, i) => {
    if (a === flag && raw[i + 1] !== undefined) out.push(raw[i + 1]!);
    else if (a.startsWith(`${flag}=`)) out.push(a.slice(flag.length + 1));
  });
  return out;
}
