// deploy/kubernetes/no-native-sidecar/, played by `podman kube play` with this run's
// image: the ConfigMap volume, the emptyDirs on read-only roots, the securityContexts,
// the fieldRef and the app's `egressctl wait -- CMD` wrapper all run for real.
//
// What the lab changes, and why: podman 4.3 cannot put a pod in a namespace given by path
// (so the pod gets `--network none`: loopback only, hence the upstream is 127.0.0.1, let
// through by EGRESSCTL_ALLOW_LOCAL_UPSTREAM since serve refuses the namespace's own
// addresses otherwise, and the containerPorts, which podman would publish, are dropped); the Secret becomes a
// literal value; the app's image is egressctl's own, its command after `--` prints the
// version. The native-sidecar variant cannot be played at all: podman 4.3 refuses init
// containers that have probes (its startupProbe is the point of that variant), so that
// one is checked by test/unit/deploy/kubernetes.test.ts only.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse, stringify } from "yaml";
import { waitFor } from "../../support/lab.ts";
import { podman, podmanProblem, podName, runDir, testImage } from "../../support/podman.ts";

const problem = await podmanProblem();
if (problem) console.warn(`kube play tests skipped: podman cannot run here: ${problem}`);

const K8S = resolve(import.meta.dir, "../../../deploy/kubernetes");

describe.skipIf(problem !== null)("deploy/kubernetes/no-native-sidecar under podman kube play", () => {
  let pod: string;
  const logs = async (c: string) => {
    const r = await podman(["logs", `${pod}-${c}`]);
    return r.stdout + r.stderr;
  };

  beforeAll(async () => {
    const img = await testImage();
    const d = parse(readFileSync(join(K8S, "no-native-sidecar/deployment.yaml"), "utf8"));
    const name = podName("sandbox-pod-0").replace(/-pod-0$/, "");
    d.metadata.name = name;
    pod = `${name}-pod-0`; // what kube play names a Deployment's pod
    const spec = d.spec.template.spec;
    const sidecar = spec.containers.find((c: any) => c.name === "egressctl");
    const app = spec.containers.find((c: any) => c.name === "app");
    for (const c of spec.containers) {
      c.image = img.ref;
      delete c.ports;
    }
    sidecar.env.push({ name: "EGRESSCTL_ALLOW_LOCAL_UPSTREAM", value: "1" });
    for (const e of sidecar.env) {
      if (e.name === "OPENSANDBOX_EGRESS_DNS_UPSTREAM") e.value = "127.0.0.1";
      if (e.valueFrom?.secretKeyRef) {
        e.value = "lab-token";
        delete e.valueFrom;
      }
    }
    const dash = app.command.indexOf("--");
    expect(dash).toBeGreaterThan(0);
    app.command = ["/usr/bin/egressctl", ...app.command.slice(1, dash + 1), "/usr/bin/egressctl", "--version"];
    const file = join(runDir(), "play.yaml");
    writeFileSync(file, stringify(d));
    const r = await podman(["kube", "play", "--network", "none", "--configmap", join(K8S, "policy/configmap.yaml"), file], { cwd: runDir() });
    expect({ code: r.code, err: r.stderr.split("\n").filter((l) => !l.includes("systemd")).join("\n") }).toMatchObject({ code: 0 });
  }, 300_000);
  afterAll(async () => {
    if (pod) await podman(["pod", "rm", "-f", "-t", "0", pod]);
  });

  test("the sidecar serves the ConfigMap's policy on a read-only root, with NET_ADMIN only, and measures dns+nftables", async () => {
    await waitFor("the sidecar ready", async () => (await logs("egressctl")).includes('"event":"ready"'), 30_000);
    const ready = (await logs("egressctl")).split("\n").map((l) => (l.startsWith("{") ? JSON.parse(l) : {}));
    expect(ready.find((e) => e.event === "policy.applied")).toMatchObject({ source: "file:/etc/egressctl/policy/policy.yaml", rules: 4 });
    expect(ready.find((e) => e.event === "ready")).toMatchObject({ measured: "dns+nftables", metrics: ":9090", sandbox: pod, status: "/run/egressctl/egressctl.sock" });
    expect((await podman(["inspect", "--format", "{{.EffectiveCaps}} {{.HostConfig.ReadonlyRootfs}}", `${pod}-egressctl`])).stdout.trim()).toBe("[CAP_NET_ADMIN] true");
    const w = await podman(["exec", `${pod}-egressctl`, "/usr/bin/egressctl", "wait", "--timeout", "10s"]);
    expect(w.stdout).toBe("ready: serve enforces dns+nftables\n");
  });

  test("the app holds no capability, runs as 65534 on a read-only root, and its command runs only through egressctl wait", async () => {
    expect((await podman(["inspect", "--format", "{{.EffectiveCaps}} {{.Config.User}} {{.HostConfig.ReadonlyRootfs}}", `${pod}-app`])).stdout.trim()).toBe("[] 65534:65534 true");
    // the version is printed only by the command wait execs, once the sidecar is ready
    await waitFor("the app's command ran", async () => /^egressctl \d+\.\d+\.\d+ /m.test(await logs("app")), 60_000);
    expect(await logs("app")).not.toContain("timed out");
  });
});
