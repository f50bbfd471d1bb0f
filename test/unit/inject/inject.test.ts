// egressctl inject: goldens for every workload kind (each output validated against the
// Kubernetes API schema and for unknown fields, as deploy/kubernetes is), idempotence,
// the round trip inject -> uninject = input (byte for byte), the invariants, the options,
// and the refusals. Regenerate the goldens after an intended change with
//   UPDATE_GOLDEN=1 bun test test/unit/inject
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import { runInject, runUninject, type Input, type Settings } from "../../../src/app/inject/inject.ts";
import { shippedTemplate } from "../../../src/app/inject/template.ts";
import { RECORD_ANNOTATION } from "../../../src/core/inject/inject.ts";
import { unknownFields } from "../deploy/strict-fields.ts";

const ROOT = resolve(import.meta.dir, "../../..");
const DIR = join(ROOT, "test/fixtures/inject");
const POLICY: Input = { source: "policy.yaml", text: readFileSync(join(DIR, "policy.yaml"), "utf8") };
const BASE: Settings = { image: "egressctl:test", upstream: "10.96.0.10", tokenSecret: { name: "egressctl-api", key: "token" }, allowAlways: [] };

type Obj = Record<string, any>;

const read = (name: string): Input => ({ source: name, text: readFileSync(join(DIR, "in", name), "utf8") });
const inject = (inputs: Input[], s: Settings = BASE) => {
  const r = runInject(inputs, POLICY, s);
  if (!r.ok) throw new Error(r.messages.join("; "));
  return r;
};
const objects = (text: string): Obj[] =>
  text.trimStart().startsWith("{") ? [JSON.parse(text)].flatMap((o) => (o.kind === "List" ? o.items : [o])) : parseAllDocuments(text).map((d) => d.toJS()).filter(Boolean);
const podSpec = (o: Obj): Obj => (o.kind === "Pod" ? o.spec : o.kind === "CronJob" ? o.spec.jobTemplate.spec.template.spec : o.spec.template.spec);

function golden(name: string, text: string): void {
  const file = join(DIR, "out", name);
  if (process.env.UPDATE_GOLDEN === "1") writeFileSync(file, text);
  if (!existsSync(file)) throw new Error(`${file} missing; run with UPDATE_GOLDEN=1`);
  expect(text).toBe(readFileSync(file, "utf8"));
}

async function schemaProblems(objs: Obj[], label: string): Promise<string[]> {
  const problems: string[] = [];
  for (const o of objs) {
    const mod = (await import(`kubernetes-models/${o.apiVersion}`)) as Obj;
    try {
      new mod[o.kind](o).validate();
    } catch (e) {
      problems.push(`${label} ${o.kind}/${o.metadata?.name}: ${(e as Error).message}`);
    }
  }
  return problems;
}

const FIXTURES = readdirSync(join(DIR, "in")).sort();

describe("inject: every workload kind", () => {
  const outputs = new Map<string, string>();
  for (const f of FIXTURES) {
    describe(f, () => {
      const input = read(f);
      const out = inject([input]).output;
      outputs.set(f, out);

      test("matches its golden", () => golden(f, out));

      test("injecting again prints the same", () => {
        expect(inject([{ source: f, text: out }]).output).toBe(out);
      });

      // YAML byte for byte; JSON comes back as the same value, re-indented
      test(f.endsWith(".json") ? "--uninject restores the input (the same JSON value)" : "--uninject restores the input byte for byte", () => {
        const back = runUninject([{ source: f, text: out }]);
        if (!back.ok) throw new Error(back.messages.join("; "));
        if (f.endsWith(".json")) expect(JSON.parse(back.output)).toEqual(JSON.parse(input.text));
        else expect(back.output).toBe(input.text);
      });

      test("every object validates against the Kubernetes API schema", async () => {
        expect(await schemaProblems(objects(out), f)).toEqual([]);
      });

      test("the sidecar is the first init container, as deploy/kubernetes has it; no other container keeps NET_ADMIN or NET_RAW", () => {
        const shipped = shippedTemplate().container;
        const before = objects(input.text);
        const after = objects(out);
        const workloads = after.filter((o) => o.kind !== "ConfigMap" && o.kind !== "Service");
        expect(workloads.length).toBeGreaterThan(0);
        for (const w of workloads) {
          const spec = podSpec(w);
          const [first, ...rest] = spec.initContainers;
          expect({ ...first, image: shipped.image, env: shipped.env, volumeMounts: shipped.volumeMounts }).toEqual(shipped);
          expect(first.image).toBe("egressctl:test");
          const orig = before.find((b) => b.kind === w.kind && b.metadata.name === w.metadata.name)!;
          const origAll: Obj[] = [...(podSpec(orig).initContainers ?? []), ...podSpec(orig).containers];
          for (const c of [...rest, ...spec.containers]) {
            const caps = c.securityContext.capabilities;
            expect(caps.drop.includes("ALL") || (caps.drop.includes("NET_ADMIN") && caps.drop.includes("NET_RAW"))).toBe(true);
            expect(caps.add ?? []).not.toContain("NET_ADMIN");
            expect(caps.add ?? []).not.toContain("NET_RAW");
            // what else it drops and adds is kept
            const o = origAll.find((x) => x.name === c.name)!.securityContext?.capabilities ?? {};
            for (const d of o.drop ?? []) expect(caps.drop).toContain(d);
            for (const a of (o.add ?? []).filter((x: string) => x !== "NET_ADMIN" && x !== "NET_RAW")) expect(caps.add).toContain(a);
          }
          const meta = w.kind === "Pod" ? w.metadata : w.kind === "CronJob" ? w.spec.jobTemplate.spec.template.metadata : w.spec.template.metadata;
          expect(typeof meta.annotations[RECORD_ANNOTATION]).toBe("string");
        }
        const maps = after.filter((o) => o.kind === "ConfigMap");
        expect(maps).toHaveLength(workloads.length);
        for (const m of maps) expect(m.data["policy.yaml"]).toBe(POLICY.text);
      });
    });
  }

  test("no object of any output has a field the Kubernetes API does not know", () => {
    const objs = [...outputs].flatMap(([f, out]) => objects(out).map((o) => ({ apiVersion: o.apiVersion, kind: o.kind, label: `${f} ${o.kind}/${o.metadata.name}`, value: o })));
    expect(unknownFields(ROOT, objs)).toEqual([]);
  }, 60_000);

  test("several files: one stream, in order, each workload with its ConfigMap", () => {
    const out = inject([read("job.yaml"), read("pod.yaml")]).output;
    expect(objects(out).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(["Job/build-42", "ConfigMap/build-42-egressctl-policy", "Pod/sandbox-1", "ConfigMap/sandbox-1-egressctl-policy"]);
  });
});

describe("inject: options", () => {
  const dep = read("deployment.yaml");
  const sidecar = (out: string) => podSpec(objects(out).find((o) => o.kind === "Deployment")!).initContainers[0];
  const env = (c: Obj, name: string) => c.env.find((e: Obj) => e.name === name);

  test("--allow-cluster-service: an allow.always ConfigMap mounted where serve reads the always lists", () => {
    const out = inject([dep], { ...BASE, allowAlways: ["otel-collector.observability.svc.cluster.local"] }).output;
    golden("deployment.allow-cluster-service.yaml", out);
    const rules = objects(out).find((o) => o.metadata.name === "web-egressctl-rules")!;
    expect(rules.data["allow.always"]).toContain("\notel-collector.observability.svc.cluster.local\n");
    expect(sidecar(out).volumeMounts).toContainEqual({ name: "egressctl-rules", mountPath: "/var/egress/rules", readOnly: true });
  });

  test("--policy-volume pvc:CLAIM: the ConfigMap seeds OPENSANDBOX_EGRESS_RULES, the live policy is kept on the claim", () => {
    const out = inject([dep], { ...BASE, policyVolume: { claim: "web-policy" } }).output;
    golden("deployment.policy-volume.yaml", out);
    const c = sidecar(out);
    expect(c.args.some((a: string) => a.startsWith("/etc/egressctl/policy"))).toBe(false);
    expect(env(c, "OPENSANDBOX_EGRESS_POLICY_FILE").value).toBe("/var/lib/egressctl/policy.json");
    expect(env(c, "OPENSANDBOX_EGRESS_RULES").valueFrom.configMapKeyRef).toEqual({ name: "web-egressctl-policy", key: "policy.json" });
    const cm = objects(out).find((o) => o.kind === "ConfigMap")!;
    expect(JSON.parse(cm.data["policy.json"])).toEqual({ defaultAction: "deny", egress: [{ action: "allow", target: "pypi.org" }, { action: "allow", target: "*.pypi.org" }] });
    expect(podSpec(objects(out)[0]!).volumes).toContainEqual({ name: "egressctl-state", persistentVolumeClaim: { claimName: "web-policy" } });
  });

  test("--policy-volume emptydir, --token-secret none, --inbound-from, --image", () => {
    const out = inject([dep], { ...BASE, image: "reg.example/egressctl:9", tokenSecret: null, inboundFrom: "10.0.0.0/8", policyVolume: { emptyDir: true } }).output;
    const c = sidecar(out);
    expect(c.image).toBe("reg.example/egressctl:9");
    expect(env(c, "OPENSANDBOX_EGRESS_TOKEN")).toBeUndefined();
    expect(env(c, "EGRESSCTL_INBOUND_FROM").value).toBe("10.0.0.0/8");
    expect(podSpec(objects(out)[0]!).volumes).toContainEqual({ name: "egressctl-state", emptyDir: {} });
    expect(runUninject([{ source: "x", text: out }])).toMatchObject({ ok: true, output: dep.text });
  });

  test("injecting with other options replaces the earlier injection (no second sidecar, no stale ConfigMap)", () => {
    const first = inject([dep], { ...BASE, allowAlways: ["a.svc"] }).output;
    const second = inject([{ source: "x", text: first }], BASE).output;
    expect(second).toBe(inject([dep]).output);
  });

  test("the app's own Prometheus annotations are kept", () => {
    const d = objects(inject([dep]).output)[0]!;
    expect(d.spec.template.metadata.annotations["prometheus.io/port"]).toBe("8080");
  });
});

describe("inject: refusals print nothing", () => {
  const withSpec = (extra: string) => ({ source: "pod.yaml", text: read("pod.yaml").text.replace("  restartPolicy: Never\n", `  restartPolicy: Never\n${extra}`) });

  test("hostNetwork: exit 4, saying why", () => {
    const r = runInject([withSpec("  hostNetwork: true\n")], POLICY, BASE);
    expect(r).toMatchObject({ ok: false, exit: 4 });
    expect(!r.ok && r.messages[0]).toMatch(/Pod\/sandbox-1: hostNetwork: true/);
  });

  test("a privileged container: exit 4", () => {
    const text = read("pod.yaml").text.replace('    command: ["python3", "-m", "http.server"]\n', '    command: ["python3", "-m", "http.server"]\n    securityContext: {privileged: true}\n');
    const r = runInject([{ source: "pod.yaml", text }], POLICY, BASE);
    expect(r).toMatchObject({ ok: false, exit: 4 });
    expect(!r.ok && r.messages[0]).toMatch(/container "app" is privileged/);
  });

  test("a volume or port the sidecar needs is taken: exit 1, naming it", () => {
    const vol = runInject([withSpec("  volumes:\n  - {name: egressctl-run, emptyDir: {}}\n")], POLICY, BASE);
    expect(vol).toMatchObject({ ok: false, exit: 1 });
    expect(!vol.ok && vol.messages[0]).toMatch(/volume named "egressctl-run"/);
    const text = read("pod.yaml").text.replace('    command: ["python3", "-m", "http.server"]\n', '    command: ["python3", "-m", "http.server"]\n    ports: [{containerPort: 9090}]\n');
    const port = runInject([{ source: "pod.yaml", text }], POLICY, BASE);
    expect(!port.ok && port.messages[0]).toMatch(/declares port 9090/);
  });

  test("an invalid policy: exit 3 with its problems", () => {
    const r = runInject([read("pod.yaml")], { source: "bad.yaml", text: "defaultAction: deny\negress:\n  - { action: allow, target: http://x.example.com/ }\n" }, BASE);
    expect(r).toMatchObject({ ok: false, exit: 3 });
    expect(!r.ok && r.problems!.length).toBeGreaterThan(0);
  });

  test("a manifest that is not YAML: exit 2", () => {
    expect(runInject([{ source: "x.yaml", text: "a: [" }], POLICY, BASE)).toMatchObject({ ok: false, exit: 2 });
  });
});
