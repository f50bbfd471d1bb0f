// The image, tested by running it: `make image`'s script builds it once per run
// (test/support/podman.ts); its contents are exactly the binary, the libraries it loads
// and the CA bundle; the docker-archive loads into an empty store; and it runs as the
// sidecar inside a lab sandbox namespace with NET_ADMIN only and a read-only root,
// while an application without any capability in the same namespace is allowed and
// denied as the policy says, and `podman exec` runs doctor and wait in the sidecar.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { as } from "../../support/attacker.ts";
import { startKnot } from "../../support/knot.ts";
import { LAB, Lab } from "../../support/lab.ts";
import { startWorld } from "../../support/world.ts";
import { containerName, podman, podmanProblem, runDir, testImage, type BuiltImage } from "../../support/podman.ts";
import { BIN } from "../../support/serve.ts";

/** deploy/kubernetes's startup probe, exactly as the kubelet would run it in the sidecar */
const STARTUP_PROBE: string[] = (() => {
  const d = parse(readFileSync(join(import.meta.dir, "../../../deploy/kubernetes/deployment.yaml"), "utf8"));
  return d.spec.template.spec.initContainers.find((c: { name: string }) => c.name === "egressctl").startupProbe.exec.command;
})();

const problem = await podmanProblem();
if (problem) console.warn(`image tests skipped: podman cannot run here: ${problem}`);

/** every absolute path ldd names for a file (the loader included) */
function lddPaths(file: string): string[] {
  const r = Bun.spawnSync(["ldd", file]);
  return [...r.stdout.toString().matchAll(/(\/\S+)/g)].map((m) => m[1]!);
}

describe.skipIf(problem !== null)("the image", () => {
  let img: BuiltImage;
  beforeAll(async () => {
    img = await testImage();
  }, 300_000);

  test("holds the binary, exactly the libraries it loads (libnftables' included), the CA bundle, and nothing else", async () => {
    const libnft = Bun.spawnSync(["sh", "-c", "ldconfig -p | awk '/libnftables\\.so\\.1 .*x86-64/ && !f { f = $NF } END { print f }'"]).stdout.toString().trim();
    expect(libnft).not.toBe("");
    const libs = new Set([...lddPaths(BIN), ...lddPaths(libnft), libnft].map((p) => p.slice(1)));
    const expected = ["usr/bin/egressctl", "etc/ssl/certs/ca-certificates.crt", ...libs].sort();

    // the docker-archive: manifest, config, one layer; read as docker load reads it
    const x = join(runDir(), "archive");
    mkdirSync(x, { recursive: true });
    expect(Bun.spawnSync(["tar", "-xf", img.tar, "-C", x]).exitCode).toBe(0);
    const manifest = JSON.parse(readFileSync(join(x, "manifest.json"), "utf8"));
    expect(manifest).toHaveLength(1);
    expect(manifest[0].RepoTags).toEqual([img.ref]);
    expect(manifest[0].Layers).toHaveLength(1);
    const config = JSON.parse(readFileSync(join(x, manifest[0].Config), "utf8")).config;
    expect(config.Entrypoint).toEqual(["/usr/bin/egressctl"]);
    expect(config.Cmd).toEqual(["serve"]);
    expect(config.Env).toContain("OPENSANDBOX_EGRESS_MODE=dns+nftables");
    expect(config.Healthcheck.Test).toEqual(["CMD", "/usr/bin/egressctl", "wait", "--timeout", "2s"]);
    const listing = Bun.spawnSync(["tar", "-tvf", join(x, manifest[0].Layers[0])]).stdout.toString();
    const files = listing.split("\n").filter((l) => l.startsWith("-") || l.startsWith("l")).map((l) => l.split(/\s+/).slice(5).join(" ").replace(/^\.?\//, "")).sort();
    expect(files).toEqual(expected);
    // no shell, no package manager: nothing to run but egressctl
    const sh = await podman(["run", "--rm", "--entrypoint", "/bin/sh", img.ref, "-c", "true"]);
    expect(sh.code).not.toBe(0);
    expect(sh.stderr).toMatch(/no such file or directory/i);
    const size = Number((await podman(["image", "inspect", "--format", "{{.Size}}", img.ref])).stdout.trim());
    console.info(`image ${img.ref}: ${(size / 1e6).toFixed(1)} MB (${libs.size} libraries)`);
  });

  test("the saved archive loads into an empty store (podman load; the docker-archive format docker load reads)", async () => {
    const root = join(runDir(), "store");
    const store = ["--root", join(root, "root"), "--runroot", join(root, "run"), "--storage-driver", "vfs"];
    try {
      const load = await podman([...store, "load", "-i", img.tar]);
      expect({ code: load.code, err: load.stderr }).toMatchObject({ code: 0 });
      expect(load.stdout + load.stderr).toContain(`Loaded image: ${img.ref}`);
      const id = (ref: string, s: string[] = []) => podman([...s, "image", "inspect", "--format", "{{.Id}}", ref]).then((r) => r.stdout.trim());
      expect(await id(img.ref, store)).toBe(await id(img.ref));
      const v = await podman([...store, "run", "--rm", img.ref, "--version"]);
      expect(v.stdout).toMatch(/^egressctl \d+\.\d+\.\d+ \(commit [0-9a-f]{12}(-dirty)?\)\n$/);
    } finally {
      await podman([...store, "rmi", "-af"]);
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe.skipIf(problem !== null)("the image as the sidecar of a lab sandbox", () => {
  let lab: Lab;
  let img: BuiltImage;
  let name: string;
  beforeAll(async () => {
    img = await testImage();
    lab = await Lab.create();
    await startKnot(lab);
    await startWorld(lab);
    const dir = join(lab.dir, "policy");
    mkdirSync(dir);
    writeFileSync(join(dir, "policy.yaml"), "defaultAction: deny\negress:\n  - { action: allow, target: api.example.com }\n");
    name = containerName("sidecar");
    const run = await podman([
      "run", "-d", "--name", name,
      "--network", `ns:/run/netns/${lab.sandbox}`,
      "--cap-drop", "ALL", "--cap-add", "NET_ADMIN",
      "--read-only",
      "-v", `${dir}:/etc/egressctl:ro`,
      "-e", `OPENSANDBOX_EGRESS_DOH_BLOCKLIST=${LAB.dohV4}`,
      img.ref, "serve", "--upstream", LAB.dnsV4, "/etc/egressctl/policy.yaml",
    ]);
    expect({ code: run.code, err: run.stderr }).toMatchObject({ code: 0 });
  }, 300_000);
  afterAll(async () => {
    if (name) await podman(["rm", "-f", "-t", "0", name]);
    await lab?.exec("sandbox", ["nft", "delete", "table", "inet", "egressctl"]);
    await lab?.destroy();
  });

  test("podman exec egressctl wait returns once enforced; the health check and the Kubernetes startup probe (both egressctl wait) pass", async () => {
    const w = await podman(["exec", name, "/usr/bin/egressctl", "wait", "--timeout", "30s"]);
    expect({ code: w.code, out: w.stdout, err: w.stderr }).toEqual({ code: 0, out: "ready: serve enforces dns+nftables\n", err: "" });
    expect((await podman(["healthcheck", "run", name])).code).toBe(0);
    expect((await podman(["inspect", "--format", "{{.State.Health.Status}}", name])).stdout.trim()).toBe("healthy");
    // the Kubernetes startup probe's command passes too
    expect((await podman(["exec", name, ...STARTUP_PROBE])).code).toBe(0);
  });

  test("the sidecar holds NET_ADMIN and nothing else, on a read-only root", async () => {
    const pid = (await podman(["inspect", "--format", "{{.State.Pid}}", name])).stdout.trim();
    const caps = readFileSync(`/proc/${pid}/status`, "utf8");
    for (const set of ["CapEff", "CapPrm", "CapBnd"]) expect(caps).toMatch(new RegExp(`^${set}:\\s+0000000000001000$`, "m")); // bit 12 = CAP_NET_ADMIN
    expect((await podman(["inspect", "--format", "{{.HostConfig.ReadonlyRootfs}}", name])).stdout.trim()).toBe("true");
  });

  test("an application without any capability in the namespace: the allowed name resolves and connects, the rest is refused", async () => {
    const app = (argv: string[]) => lab.exec("sandbox", as("nobody", argv));
    const curl = (target: string) => app(["curl", "-s", "-o", "/dev/null", "--connect-timeout", "3", "--max-time", "5", `http://${target}/`]).then((r) => r.code);
    const caps = await app(["grep", "^CapEff", "/proc/self/status"]);
    expect(caps.stdout).toMatch(/^CapEff:\s+0+$/m);
    expect(await curl("api.example.com")).toBe(0);
    expect(await curl("evil.example.com")).toBe(6); // NXDOMAIN: the name is denied
    expect(await curl("198.51.100.66")).toBe(7); // an address nobody resolved: refused
    const dig = await app(["kdig", "+timeout=3", "+retry=0", `@${LAB.dnsV4}`, "evil.example.com", "A"]);
    expect(dig.stdout).toContain("status: NXDOMAIN");
  });

  test("podman exec egressctl doctor explains, from inside the sidecar", async () => {
    const d = await podman(["exec", name, "/usr/bin/egressctl", "doctor", "api.example.com", "198.51.100.66"]);
    expect({ code: d.code, err: d.stderr }).toMatchObject({ code: 0 });
    expect(d.stdout).toContain("dns+nftables");
    expect(d.stdout).toContain("api.example.com");
    expect(d.stdout).toContain("198.51.100.66");
  });

  test("podman stop: serve exits 0 on SIGTERM and leaves the ruleset in force", async () => {
    expect((await podman(["stop", "-t", "10", name])).code).toBe(0);
    expect((await podman(["inspect", "--format", "{{.State.ExitCode}}", name])).stdout.trim()).toBe("0");
    const logs = await podman(["logs", name]);
    expect(logs.stderr + logs.stdout).toMatch(/"event":"stopped".*left in force/);
    expect((await lab.exec("sandbox", ["nft", "list", "table", "inet", "egressctl"])).code).toBe(0);
    expect((await lab.exec("sandbox", as("nobody", ["curl", "-s", "-o", "/dev/null", "--connect-timeout", "3", "http://198.51.100.66/"]))).code).toBe(7);
  });

  test("a sidecar whose self-test does not measure dns+nftables is unhealthy, and fails the startup probe, until it does", async () => {
    // an intruder keeps unmarked DNS from being redirected: the self-test measures disabled
    const intruder = "table inet intruder { chain out { type filter hook output priority -300; meta mark != 0x0045474c udp dport 53 drop; }; }";
    expect((await lab.exec("sandbox", ["nft", intruder])).code).toBe(0);
    const degraded = containerName("degraded");
    try {
      const run = await podman(["run", "-d", "--name", degraded, "--network", `ns:/run/netns/${lab.sandbox}`, "--cap-drop", "ALL", "--cap-add", "NET_ADMIN", "--read-only",
        img.ref, "serve", "--upstream", LAB.dnsV4, "--selftest-interval", "1"]);
      expect(run.code).toBe(0);
      const probe = await podman(["exec", degraded, "/usr/bin/egressctl", "wait", "--timeout", "3s"]);
      expect(probe.code).toBe(1);
      expect(probe.stderr).toContain("the self-test to measure dns+nftables (it measured disabled");
      expect((await podman(["healthcheck", "run", degraded])).code).not.toBe(0);
      const startup = await podman(["exec", degraded, ...STARTUP_PROBE]);
      expect(startup.code).toBe(1);
      expect(startup.stderr).toContain("still waiting for the self-test to measure dns+nftables");
      expect((await podman(["inspect", "--format", "{{.State.Health.Status}}", degraded])).stdout.trim()).not.toBe("healthy");
      // repaired: the next self-test (every second here) measures it, and it is healthy
      await lab.exec("sandbox", ["nft", "delete", "table", "inet", "intruder"]);
      expect((await podman(["exec", degraded, "/usr/bin/egressctl", "wait", "--timeout", "20s"])).code).toBe(0);
      expect((await podman(["healthcheck", "run", degraded])).code).toBe(0);
    } finally {
      await lab.exec("sandbox", ["nft", "delete", "table", "inet", "intruder"]);
      await podman(["rm", "-f", "-t", "0", degraded]);
    }
  });

  test("started without NET_ADMIN, the image refuses to run degraded: exit 4 and why", async () => {
    const r = await podman(["run", "--rm", "--network", `ns:/run/netns/${lab.sandbox}`, "--cap-drop", "ALL", "--read-only", img.ref, "serve", "--upstream", LAB.dnsV4]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/"event":"serve.refused".*dns\+nftables/);
  });
});
