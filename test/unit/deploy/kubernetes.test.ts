// deploy/kubernetes/ cannot rot: every YAML object is validated against the Kubernetes
// API schema (kubernetes-models, generated from Kubernetes' OpenAPI spec), every file is
// part of a kustomization, and the invariants hold against what the code reads today:
// the serve and wait flags from the commands' own definitions, the environment names
// from the config resolver (recorded as it reads them), the status socket's directory,
// the image's entrypoint and version, and the policy through egressctl's own validator.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import pkg from "../../../package.json";
import serveCmd from "../../../src/cli/serve.ts";
import waitCmd from "../../../src/cli/wait.ts";
import { DEFAULT_STATUS_SOCKET, parseHttpAddr, resolveServeConfig } from "../../../src/core/config/serve-config.ts";
import { parseDuration } from "../../../src/core/config/duration.ts";
import { loadPolicyText } from "../../../src/core/policy/load.ts";
import { unknownFields } from "./strict-fields.ts";

const ROOT = resolve(import.meta.dir, "../../..");
const K8S = join(ROOT, "deploy/kubernetes");
const ENTRYPOINT = "/usr/bin/egressctl"; // deploy/image/Containerfile's ENTRYPOINT (checked below)

type Obj = Record<string, any>;

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? yamlFiles(p) : /\.ya?ml$/.test(n) ? [p] : [];
  });
}

function parseFile(path: string): Obj[] {
  const docs = parseAllDocuments(readFileSync(path, "utf8"));
  for (const d of docs) if (d.errors.length) throw new Error(`${relative(ROOT, path)}: ${d.errors[0]!.message}`);
  return docs.map((d) => d.toJS()).filter((o) => o !== null);
}

const isKustomization = (o: Obj) => o.kind === "Kustomization" && String(o.apiVersion).startsWith("kustomize.config.k8s.io/");

/**
 * what `kustomize build DIR` would emit before image transformers: objects and the files
 * they came from, with the kustomization's inline JSON 6902 patches applied
 */
function build(dir: string, seen: Set<string>): { obj: Obj; file: string }[] {
  const kfile = join(dir, "kustomization.yaml");
  const [k] = parseFile(kfile);
  seen.add(kfile);
  const objects = (k!.resources as string[]).flatMap((r) => {
    const p = resolve(dir, r);
    if (!existsSync(p)) throw new Error(`${relative(ROOT, kfile)}: resource ${r} does not exist`);
    if (statSync(p).isDirectory()) return build(p, seen);
    seen.add(p);
    return parseFile(p).map((obj) => ({ obj, file: relative(ROOT, p) }));
  });
  for (const { target, patch } of (k!.patches ?? []) as { target: Obj; patch: string }[]) {
    const hits = objects.filter((o) => o.obj.kind === target.kind && o.obj.metadata?.name === target.name);
    if (hits.length !== 1) throw new Error(`${relative(ROOT, kfile)}: patch target ${target.kind}/${target.name} matches ${hits.length} objects`);
    hits[0]!.obj = applyJsonPatch(hits[0]!.obj, parseAllDocuments(patch)[0]!.toJS());
    hits[0]!.file = relative(ROOT, kfile);
  }
  return objects;
}

/** RFC 6902 add, replace and remove, as kustomize applies them (a missing path is an error) */
function applyJsonPatch(doc: Obj, ops: { op: string; path: string; value?: unknown }[]): Obj {
  const out = structuredClone(doc);
  for (const { op, path, value } of ops) {
    const keys = path.split("/").slice(1).map((k) => k.replace(/~1/g, "/").replace(/~0/g, "~"));
    const last = keys.pop()!;
    const parent = keys.reduce((o: any, key) => {
      if (o?.[key] === undefined) throw new Error(`patch ${op} ${path}: no ${key}`);
      return o[key];
    }, out);
    if (Array.isArray(parent)) {
      const i = last === "-" ? parent.length : Number(last);
      if (!(i >= 0 && i <= parent.length) || (op !== "add" && i >= parent.length)) throw new Error(`patch ${op} ${path}: no index ${last}`);
      if (op === "add") parent.splice(i, 0, value);
      else if (op === "replace") parent[i] = value;
      else if (op === "remove") parent.splice(i, 1);
      else throw new Error(`patch: unsupported op ${op}`);
    } else {
      if (op !== "add" && !(last in parent)) throw new Error(`patch ${op} ${path}: no ${last}`);
      if (op === "remove") delete parent[last];
      else if (op === "add" || op === "replace") parent[last] = value;
      else throw new Error(`patch: unsupported op ${op}`);
    }
  }
  return out;
}

/** the model class of apiVersion/kind in kubernetes-models (e.g. apps/v1 Deployment) */
async function model(o: Obj): Promise<new (d: Obj) => { validate(): void }> {
  const mod = await import(`kubernetes-models/${o.apiVersion}`).catch(() => ({}));
  const M = (mod as Obj)[o.kind];
  if (!M) throw new Error(`no Kubernetes schema for ${o.apiVersion} ${o.kind}`);
  return M;
}

/** every environment name resolveServeConfig reads, recorded as it reads them */
function envNamesServeReads(): Set<string> {
  const names = new Set<string>();
  const env = new Proxy({} as Record<string, string | undefined>, { get: (_t, k) => (typeof k === "string" && names.add(k), undefined) });
  resolveServeConfig({}, env);
  return names;
}

const VARIANTS = [
  { dir: K8S, native: true, persistent: false },
  { dir: join(K8S, "no-native-sidecar"), native: false, persistent: false },
  { dir: join(K8S, "persistent-policy"), native: true, persistent: true },
];

describe("deploy/kubernetes", () => {
  const seen = new Set<string>();
  const built = VARIANTS.map((v) => ({ ...v, objects: build(v.dir, seen) }));

  test("every YAML file is part of a kustomization", () => {
    const orphans = yamlFiles(K8S).filter((f) => !seen.has(f)).map((f) => relative(ROOT, f));
    expect(orphans).toEqual([]);
  });

  test("every object validates against the Kubernetes API schema", async () => {
    const problems: string[] = [];
    for (const v of built) {
      for (const { obj, file } of v.objects) {
        try {
          new (await model(obj))(obj).validate();
        } catch (e) {
          problems.push(`${file} ${obj.kind}/${obj.metadata?.name}: ${(e as Error).message}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  // one compiler run for the manifests and for a copy with a misspelt field (the control)
  let strict: string[] | undefined;
  const strictFindings = () => {
    if (strict) return strict;
    const objects = built.flatMap((v) => v.objects).map(({ obj, file }) => ({ apiVersion: obj.apiVersion, kind: obj.kind, label: `${file} ${obj.kind}/${obj.metadata?.name}`, value: obj }));
    const broken = structuredClone(built[0]!.objects.find((o) => o.obj.kind === "Deployment")!.obj);
    broken.spec.template.spec.initContainers[0].securityContext.readOnlyRootFilesytem = true;
    return (strict = unknownFields(ROOT, [...objects, { apiVersion: broken.apiVersion, kind: broken.kind, label: "control", value: broken }]));
  };

  test("no object has a field the Kubernetes API does not know (kubectl's strict field validation)", () => {
    expect(strictFindings().filter((f) => !f.startsWith("control: "))).toEqual([]);
  }, 60_000);

  test("the strict check finds a misspelt field at any depth (a copy with one, as a control)", () => {
    const found = strictFindings().filter((f) => f.startsWith("control: "));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/'"?readOnlyRootFilesytem"?' does not exist in type 'ISecurityContext'/);
  }, 60_000);

  test("the schema check itself rejects what the API server would (so the test above can fail)", async () => {
    const d = built[0]!.objects.find((o) => o.obj.kind === "Deployment")!.obj;
    const broken = structuredClone(d);
    broken.spec.template.spec.initContainers[0].startupProbe.exec.command = "egressctl wait";
    const Deployment = await model(broken);
    expect(() => new Deployment(broken).validate()).toThrow(/command must be array/);
  });

  for (const v of built) {
    describe(relative(ROOT, v.dir), () => {
      const deployment = v.objects.find((o) => o.obj.kind === "Deployment")!.obj;
      const configMaps = v.objects.filter((o) => o.obj.kind === "ConfigMap").map((o) => o.obj);
      const spec = deployment.spec.template.spec;
      const all: Obj[] = [...(spec.initContainers ?? []), ...spec.containers];
      const sidecar = all.find((c) => c.name === "egressctl")!;
      const apps = all.filter((c) => c !== sidecar);
      const volume = (name: string) => spec.volumes.find((vol: Obj) => vol.name === name);

      test(v.native ? "the sidecar is a native sidecar: an init container with restartPolicy Always" : "the sidecar is an ordinary container", () => {
        expect(sidecar).toBeDefined();
        if (v.native) {
          expect(spec.initContainers).toContain(sidecar);
          expect(sidecar.restartPolicy).toBe("Always");
        } else {
          expect(spec.containers).toContain(sidecar);
          expect(spec.initContainers ?? []).toEqual([]);
        }
        expect(apps.length).toBeGreaterThan(0);
      });

      test("capabilities: NET_ADMIN on the sidecar only; every capability (NET_RAW included) dropped in the app; read-only roots", () => {
        expect(sidecar.securityContext.capabilities).toEqual({ drop: ["ALL"], add: ["NET_ADMIN"] });
        for (const c of all) {
          expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
          expect(c.securityContext.privileged ?? false).toBe(false);
          expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
        }
        for (const a of apps) {
          expect(a.securityContext.capabilities.drop).toContain("ALL");
          expect(a.securityContext.capabilities.add ?? []).toEqual([]);
        }
        expect(spec.shareProcessNamespace ?? false).toBe(false);
        expect(spec.hostNetwork ?? false).toBe(false);
      });

      test("the image is this version's, with the entrypoint the probes name", () => {
        expect(sidecar.image).toBe(`egressctl:${pkg.version}`);
        const k = parseFile(join(v.dir, "kustomization.yaml"))[0]!;
        expect(k.images).toContainEqual({ name: "egressctl", newName: "egressctl", newTag: pkg.version });
        expect(readFileSync(join(ROOT, "deploy/image/Containerfile"), "utf8")).toContain(`ENTRYPOINT ["${ENTRYPOINT}"]`);
      });

      if (!v.persistent) {
        test("serve's flags exist, the policy is a file of the ConfigMap mounted as a directory (reloads), and it validates", () => {
          const args: string[] = sidecar.args;
          expect(args[0]).toBe("serve");
          const flags = args.filter((a) => a.startsWith("--")).map((a) => a.slice(2));
          for (const f of flags) expect(Object.keys(serveCmd.args!)).toContain(f);
          const file = args.slice(1).filter((a, i, l) => !a.startsWith("--") && !(l[i - 1] ?? "").startsWith("--"));
          expect(file).toHaveLength(1);
          const mount = sidecar.volumeMounts.find((m: Obj) => m.mountPath === dirname(file[0]!));
          expect(mount).toBeDefined();
          expect(mount.subPath).toBeUndefined(); // a subPath mount is never updated
          expect(mount.readOnly).toBe(true);
          const cm = configMaps.find((c) => c.metadata.name === volume(mount.name).configMap?.name);
          expect(cm).toBeDefined();
          const text = cm!.data[basename(file[0]!)];
          const r = loadPolicyText(text, { source: "configmap" });
          expect(r.problems.filter((p) => p.severity === "error")).toEqual([]);
          expect(r.policy).toBeDefined();
        });
      } else {
        test("the persisted policy: no FILE argument (it would win), the seed in RULES as JSON from the ConfigMap, POLICY_FILE on the claim", () => {
          const args: string[] = sidecar.args;
          expect(args[0]).toBe("serve");
          for (const f of args.filter((a) => a.startsWith("--")).map((a) => a.slice(2))) expect(Object.keys(serveCmd.args!)).toContain(f);
          expect(args.slice(1).filter((a, i, l) => !a.startsWith("--") && !(l[i - 1] ?? "").startsWith("--"))).toEqual([]);
          const env: Obj[] = sidecar.env;
          const rules = env.find((e) => e.name === "OPENSANDBOX_EGRESS_RULES")!.valueFrom.configMapKeyRef;
          const cm = configMaps.find((c) => c.metadata.name === rules.name)!;
          const r = loadPolicyText(cm.data[rules.key], { source: "configmap", syntax: "json", strict: true });
          expect(r.problems).toEqual([]);
          expect(r.policy!.rules.length).toBeGreaterThan(0);
          const file: string = env.find((e) => e.name === "OPENSANDBOX_EGRESS_POLICY_FILE")!.value;
          const mount = sidecar.volumeMounts.find((m: Obj) => m.mountPath === dirname(file));
          expect(mount.readOnly ?? false).toBe(false);
          const claim = volume(mount.name).persistentVolumeClaim.claimName;
          expect(v.objects.some((o) => o.obj.kind === "PersistentVolumeClaim" && o.obj.metadata.name === claim)).toBe(true);
          // the ConfigMap's policy is no longer a mounted file (the seed is read at start)
          expect(spec.volumes.some((vol: Obj) => vol.configMap)).toBe(false);
        });
      }

      test("the status socket's directory is a writable emptyDir", () => {
        const m = sidecar.volumeMounts.find((x: Obj) => x.mountPath === dirname(DEFAULT_STATUS_SOCKET));
        expect(m).toBeDefined();
        expect(m.readOnly ?? false).toBe(false);
        expect(volume(m.name).emptyDir).toBeDefined();
      });

      test("environment: only names serve reads; mode pinned, upstream explicit, token from a Secret", () => {
        const reads = envNamesServeReads();
        expect(reads.size).toBeGreaterThan(10); // the recorder saw the resolver at work
        const env: Obj[] = sidecar.env;
        for (const e of env) expect([...reads]).toContain(e.name);
        const value = (n: string) => env.find((e) => e.name === n);
        expect(value("OPENSANDBOX_EGRESS_MODE")?.value).toMatch(/^dns\+nft(ables)?$/);
        expect(value("OPENSANDBOX_EGRESS_DNS_UPSTREAM")?.value).toMatch(/^[0-9a-f.:\[\],]+$/i);
        expect(value("OPENSANDBOX_EGRESS_TOKEN")).toEqual({ name: "OPENSANDBOX_EGRESS_TOKEN", valueFrom: { secretKeyRef: { name: "egressctl-api", key: "token" } } });
        // the recorder reads what the resolver reads: a name it does not read is not in it
        expect(reads.has("OPENSANDBOX_EGRESS_NO_SUCH_SETTING")).toBe(false);
      });

      test("probes: the startup probe runs egressctl wait within its own timeout; liveness and Prometheus use the metrics address", () => {
        const metricsFlag = sidecar.args[sidecar.args.indexOf("--metrics-addr") + 1];
        const metrics = parseHttpAddr(metricsFlag);
        if (metrics === null || typeof metrics === "string") throw new Error(`--metrics-addr ${metricsFlag}: ${metrics ?? "off"}`);
        const port = metrics.port;
        const probe = sidecar.startupProbe;
        const cmd: string[] = probe.exec.command;
        expect(cmd.slice(0, 2)).toEqual([ENTRYPOINT, "wait"]);
        for (const f of cmd.filter((a) => a.startsWith("--"))) expect(Object.keys(waitCmd.args!)).toContain(f.slice(2));
        const timeout = parseDuration(cmd[cmd.indexOf("--timeout") + 1]!);
        expect(typeof timeout).toBe("number");
        expect(timeout as number).toBeLessThan(probe.timeoutSeconds * 1000);
        expect(sidecar.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "egress-metrics" });
        expect(sidecar.ports).toContainEqual({ name: "egress-metrics", containerPort: port });
        expect(deployment.spec.template.metadata.annotations).toEqual({ "prometheus.io/scrape": "true", "prometheus.io/port": String(port), "prometheus.io/path": "/metrics" });
      });

      if (!v.native) {
        test("the app's command is wrapped in egressctl wait, asking the sidecar's metrics address", () => {
          const metricsFlag: string = sidecar.args[sidecar.args.indexOf("--metrics-addr") + 1];
          for (const a of apps) {
            const cmd: string[] = a.command;
            expect(basename(cmd[0]!)).toBe("egressctl");
            expect(cmd[1]).toBe("wait");
            const dash = cmd.indexOf("--");
            expect(dash).toBeGreaterThan(1);
            expect(cmd.length).toBeGreaterThan(dash + 1);
            const asked = cmd[cmd.indexOf("--metrics-addr") + 1]!;
            expect((parseHttpAddr(asked) as { port: number }).port).toBe((parseHttpAddr(metricsFlag) as { port: number }).port);
            expect(typeof parseDuration(cmd[cmd.indexOf("--timeout") + 1]!)).toBe("number");
          }
        });
      }
    });
  }
});
