// deploy/docker/compose.yaml, run in the lab: the file is translated into the podman
// commands docker compose would run (test/support/compose.ts says why podman-compose
// cannot), with the lab's substitutions only: the sidecar joins the lab's sandbox
// namespace instead of a compose network, the images are this run's (egressctl) and the
// lab's curl, the policy names lab hosts. Everything else (capabilities, read-only roots,
// tmpfs, environment, health check, network_mode service:egress, depends_on
// service_healthy) comes from the file as written.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { composeRuns, type ServiceRun } from "../../support/compose.ts";
import { startKnot } from "../../support/knot.ts";
import { LAB, Lab, waitFor } from "../../support/lab.ts";
import { startWorld } from "../../support/world.ts";
import { appOutcomes, containerName, ENFORCED, labAppImage, podman, podmanProblem, RUN, testImage } from "../../support/podman.ts";

const problem = await podmanProblem();
if (problem) console.warn(`compose tests skipped: podman cannot run here: ${problem}`);

const FILE = resolve(import.meta.dir, "../../../deploy/docker/compose.yaml");

describe.skipIf(problem !== null)("deploy/docker/compose.yaml in the lab", () => {
  let lab: Lab;
  let runs: ServiceRun[];
  let egress: ServiceRun;
  let app: ServiceRun;
  let appImage: string;
  const order: string[] = [];

  beforeAll(async () => {
    const [img, appImg] = await Promise.all([testImage(), labAppImage()]);
    appImage = appImg;
    lab = await Lab.create();
    await startKnot(lab);
    await startWorld(lab);
    const policyDir = join(lab.dir, "policy");
    mkdirSync(policyDir);
    writeFileSync(join(policyDir, "policy.yaml"), "defaultAction: deny\negress:\n  - { action: allow, target: api.example.com }\n");

    const compose = parse(readFileSync(FILE, "utf8"));
    compose.name = `${RUN}-sandbox`; // this run's container names
    runs = composeRuns(FILE, compose, { EGRESSCTL_UPSTREAM: LAB.dnsV4, EGRESSCTL_TOKEN: "lab-token" });
    egress = runs.find((r) => r.service === "egress")!;
    app = runs.find((r) => r.service === "app")!;
    for (const r of runs) expect(containerName(`sandbox-${r.service}-1`)).toBe(r.name);

    // the lab's substitutions: the sandbox namespace, this run's image, the lab policy
    expect(egress.flags).not.toContain("--network");
    const flags = egress.flags.map((f) => (f.endsWith(":/etc/egressctl:ro") ? `${policyDir}:/etc/egressctl:ro` : f));
    expect(flags).toContain(`${policyDir}:/etc/egressctl:ro`);
    const started = await podman(["run", "-d", "--name", egress.name, "--network", `ns:/run/netns/${lab.sandbox}`, ...flags, img.ref, ...egress.command]);
    expect({ code: started.code, err: started.stderr }).toMatchObject({ code: 0 });
    order.push(egress.service);
    // depends_on: condition: service_healthy, as compose does it: poll the health check
    for (const dep of app.afterHealthy) {
      const name = runs.find((r) => r.service === dep)!.name;
      await waitFor(`${dep} healthy`, async () => (await podman(["healthcheck", "run", name])).code === 0, 60_000);
      order.push(`${dep} healthy`);
    }
  }, 300_000);
  afterAll(async () => {
    for (const r of runs ?? []) await podman(["rm", "-f", "-t", "0", r.name]);
    await lab?.exec("sandbox", ["nft", "delete", "table", "inet", "egressctl"]);
    await lab?.destroy();
  });

  /** the app service as compose would start it, its command replaced by curl's arguments */
  const runApp = (curlArgs: string[]) => podman(["run", "--rm", "--name", app.name, ...app.flags, appImage, ...curlArgs]);

  test("the file says what it must: NET_ADMIN on the sidecar only, the app in its namespace after it is healthy, no capability", () => {
    expect(app.afterHealthy).toEqual(["egress"]);
    expect(order).toEqual(["egress", "egress healthy"]);
    expect(egress.flags.join(" ")).toContain("--cap-drop ALL --cap-add NET_ADMIN --read-only");
    expect(app.flags).toEqual(expect.arrayContaining(["--network", `container:${egress.name}`, "--cap-drop", "ALL", "--read-only"]));
    expect(app.flags).not.toContain("--cap-add");
  });

  test("the application container holds no capability and runs as 65534", async () => {
    const r = await runApp(["-s", "file:///proc/self/status"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^CapEff:\s+0+$/m);
    expect(r.stdout).toMatch(/^CapBnd:\s+0+$/m);
    expect(r.stdout).toMatch(/^Uid:\s+65534\s/m);
  });

  test("from the application container: the allowed name connects, a denied name does not resolve, an unresolved address is refused", async () => {
    expect(await appOutcomes(runApp)).toEqual(ENFORCED);
  });

  test("the sidecar is healthy by its own health check, and doctor agrees", async () => {
    expect((await podman(["inspect", "--format", "{{.State.Health.Status}}", egress.name])).stdout.trim()).toBe("healthy");
    const d = await podman(["exec", egress.name, "/usr/bin/egressctl", "doctor"]);
    expect(d.code).toBe(0);
  });
});
