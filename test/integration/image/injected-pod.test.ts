// A Pod as `egressctl inject` prints it, run in the lab with this run's image: the
// sidecar container exactly as injected (its flags from test/support/pod-run.ts, which
// translates every field it knows and refuses the rest), in the lab's sandbox namespace,
// started first; its startup probe run as the kubelet runs it; then the application's
// container, with inject's securityContext, in the sidecar's namespace. podman kube play
// cannot run this pod: podman 4.3 refuses init containers with probes and runs init
// containers to completion, so a native sidecar is played container by container here.
// The lab's substitutions: the upstream is the lab's Knot, the Secret's value is given,
// and the application's image is the lab's curl (its command replaced by curl's).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import { runInject } from "../../../src/app/inject/inject.ts";
import { startKnot } from "../../support/knot.ts";
import { LAB, Lab, waitFor } from "../../support/lab.ts";
import { podRuns, type ContainerRun } from "../../support/pod-run.ts";
import { appOutcomes, containerName, ENFORCED, labAppImage, podman, podmanProblem, runDir, testImage } from "../../support/podman.ts";
import { startWorld } from "../../support/world.ts";

const problem = await podmanProblem();
if (problem) console.warn(`injected pod tests skipped: podman cannot run here: ${problem}`);

const FIXTURE = resolve(import.meta.dir, "../../fixtures/inject/in/pod.yaml");

describe.skipIf(problem !== null)("an injected Pod, container by container", () => {
  let lab: Lab;
  let sidecar: ContainerRun;
  let app: ContainerRun;
  let sidecarName: string;
  let appImage: string;

  beforeAll(async () => {
    const [img, appImg] = await Promise.all([testImage(), labAppImage()]);
    appImage = appImg;
    lab = await Lab.create();
    await startKnot(lab);
    await startWorld(lab);
    const r = runInject(
      [{ source: "pod.yaml", text: readFileSync(FIXTURE, "utf8") }],
      { source: "policy.yaml", text: "defaultAction: deny\negress:\n  - { action: allow, target: api.example.com }\n" },
      { image: img.ref, upstream: LAB.dnsV4, tokenSecret: { name: "egressctl-api", key: "token" }, allowAlways: [] },
    );
    if (!r.ok) throw new Error(r.messages.join("; "));
    const docs = parseAllDocuments(r.output).map((d) => d.toJS());
    const pod = docs.find((d) => d.kind === "Pod");
    const configMaps = Object.fromEntries(docs.filter((d) => d.kind === "ConfigMap").map((d) => [d.metadata.name, d.data]));
    const runs = podRuns(pod.spec, { podName: pod.metadata.name, configMaps, secrets: { "egressctl-api": { token: "lab-token" } }, scratch: runDir() });
    expect(runs.map((x) => `${x.role}:${x.name}`)).toEqual(["sidecar:egressctl", "app:app"]);
    [sidecar, app] = runs as [ContainerRun, ContainerRun];

    sidecarName = containerName("injected-egressctl");
    const started = await podman(["run", "-d", "--name", sidecarName, "--network", `ns:/run/netns/${lab.sandbox}`, ...sidecar.flags, sidecar.image, ...sidecar.args]);
    expect({ code: started.code, err: started.stderr }).toMatchObject({ code: 0 });
    // the kubelet starts the app's container only once the sidecar's startup probe passed
    const probe = sidecar.startupProbe!;
    await waitFor("the startup probe", async () => (await podman(["exec", sidecarName, ...probe.command])).code === 0, probe.periodSeconds * probe.failureThreshold * 1000);
  }, 300_000);
  afterAll(async () => {
    if (sidecarName) await podman(["rm", "-f", "-t", "0", sidecarName]);
    await lab?.exec("sandbox", ["nft", "delete", "table", "inet", "egressctl"]);
    await lab?.destroy();
  });

  const runApp = (curlArgs: string[]) => podman(["run", "--rm", "--name", containerName(`injected-app-${Date.now()}`), "--network", `container:${sidecarName}`, ...app.flags, appImage, ...curlArgs]);

  test("the sidecar holds NET_ADMIN only, on a read-only root; the app's container lost NET_ADMIN and NET_RAW", async () => {
    expect(sidecar.flags.join(" ")).toContain("--cap-drop ALL --cap-add NET_ADMIN --read-only");
    expect(app.flags.join(" ")).toContain("--cap-drop NET_ADMIN --cap-drop NET_RAW");
    const r = await runApp(["-s", "file:///proc/self/status"]);
    expect(r.code).toBe(0);
    const eff = BigInt(`0x${/^CapEff:\s+([0-9a-f]+)$/m.exec(r.stdout)![1]}`);
    expect((eff >> 12n) & 1n).toBe(0n); // CAP_NET_ADMIN
    expect((eff >> 13n) & 1n).toBe(0n); // CAP_NET_RAW
    expect(eff).not.toBe(0n); // the rest of the runtime's default set is kept
  });

  test("from the application's container: the allowed name connects, a denied name does not resolve, an unresolved address is refused", async () => {
    expect(await appOutcomes(runApp)).toEqual(ENFORCED);
  });

  test("doctor in the sidecar: enforcement is what serve intends", async () => {
    const d = await podman(["exec", sidecarName, "/usr/bin/egressctl", "doctor", "api.example.com"]);
    expect({ code: d.code, out: d.stdout }).toMatchObject({ code: 0 });
  });
});
