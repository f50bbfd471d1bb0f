// podman for the lab tests: the project's settings (scripts/podman/containers.conf), one
// image build per test run shared by every file that needs it, and cleanup of what this
// run created (containers and images named egl-<pid>-..., removed by name at exit), so
// concurrent runs on one machine never touch each other's.
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pkg from "../../package.json";

const ROOT = resolve(import.meta.dir, "../..");
export const PODMAN_ENV = { ...process.env, CONTAINERS_CONF: join(ROOT, "scripts/podman/containers.conf") } as Record<string, string>;
/** this run's prefix for container and image names */
export const RUN = `egl-${process.pid}`;

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export async function podman(args: string[], opts: { timeoutMs?: number; cwd?: string } = {}): Promise<Run> {
  const p = Bun.spawn(["podman", ...args], { env: PODMAN_ENV, stdout: "pipe", stderr: "pipe", cwd: opts.cwd });
  const timer = setTimeout(() => p.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

const containers = new Set<string>();
const pods = new Set<string>();
const images = new Set<string>();
let scratch: string | null = null;

/** a container name of this run; removed (forcibly) at exit */
export function containerName(what: string): string {
  cleanupAtExit();
  const name = `${RUN}-${what}`;
  containers.add(name);
  return name;
}

/** a pod name of this run; removed (forcibly, with its containers) at exit */
export function podName(what: string): string {
  cleanupAtExit();
  const name = `${RUN}-${what}`;
  pods.add(name);
  return name;
}

/** a scratch directory of this run, removed at exit */
export function runDir(): string {
  return (scratch ??= mkdtempSync(join(tmpdir(), `${RUN}-podman-`)));
}

/**
 * `bun test` runs no exit hooks, so what this run shares between files (the image) is
 * removed by scripts/test.sh after the suite, by this run's name prefix. This catches
 * the rest: a process that does exit normally, and, at the next build, what runs that
 * died (their PID gone) left behind.
 */
let hooked = false;
function cleanupAtExit(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", () => {
    if (pods.size) Bun.spawnSync(["podman", "pod", "rm", "-f", "-t", "0", ...pods], { env: PODMAN_ENV, stdout: "ignore", stderr: "ignore" });
    if (containers.size) Bun.spawnSync(["podman", "rm", "-f", "-t", "0", ...containers], { env: PODMAN_ENV, stdout: "ignore", stderr: "ignore" });
    if (images.size) Bun.spawnSync(["podman", "rmi", "-f", ...images], { env: PODMAN_ENV, stdout: "ignore", stderr: "ignore" });
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });
}

/** removes pods, containers and images named egl-<pid>-... whose run is no longer alive */
async function collectDeadRuns(): Promise<void> {
  const dead = (name: string) => {
    const pid = /^(?:localhost\/)?egl-(\d+)-/.exec(name)?.[1];
    return pid !== undefined && Number(pid) !== process.pid && !existsSync(`/proc/${pid}`);
  };
  const list = async (args: string[]) => (await podman(args)).stdout.split("\n").filter((n) => n && dead(n));
  const p = await list(["pod", "ps", "--format", "{{.Name}}"]);
  if (p.length) await podman(["pod", "rm", "-f", "-t", "0", ...p]);
  const c = await list(["ps", "-a", "--format", "{{.Names}}"]);
  if (c.length) await podman(["rm", "-f", "-t", "0", ...c]);
  const i = await list(["images", "--format", "{{.Repository}}:{{.Tag}}"]);
  if (i.length) await podman(["rmi", "-f", ...i]);
  for (const d of readdirSync(tmpdir())) if (/^egl-\d+-podman-/.test(d) && dead(d)) rmSync(join(tmpdir(), d), { recursive: true, force: true });
}

/**
 * Why podman cannot run a container here, or null when it can. Image tests skip with
 * this reason, and only then.
 */
let canRun: Promise<string | null> | null = null;
export function podmanProblem(): Promise<string | null> {
  return (canRun ??= (async () => {
    if (!Bun.which("podman")) return "podman is not installed (scripts/setup.sh installs it on Debian)";
    const info = await podman(["info", "--format", "{{.Host.OCIRuntime.Name}}"]);
    if (info.code !== 0) return `podman info failed: ${info.stderr.trim()}`;
    return null;
  })());
}

export interface BuiltImage {
  /** name:tag in the local store */
  ref: string;
  /** the docker-archive scripts/image.sh saved */
  tar: string;
  /** what scripts/image.sh printed */
  log: string;
}

let built: Promise<BuiltImage> | null = null;
/**
 * The image, built once per test run by scripts/image.sh (what `make image` runs), under
 * this run's own name so that a concurrent run's build never replaces it.
 */
export function testImage(): Promise<BuiltImage> {
  return (built ??= (async () => {
    cleanupAtExit();
    await collectDeadRuns();
    const ref = `localhost/${RUN}-egressctl:${pkg.version}`;
    const tar = join(runDir(), "egressctl-image.tar");
    images.add(ref);
    const p = Bun.spawn([join(ROOT, "scripts/image.sh")], { cwd: ROOT, env: { ...PODMAN_ENV, EGRESSCTL_IMAGE: ref, EGRESSCTL_IMAGE_TAR: tar }, stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    if (code !== 0) throw new Error(`scripts/image.sh failed (${code}):\n${out}${err}`);
    return { ref, tar, log: out + err };
  })());
}

/** registers an image this run made (besides the test image) for removal at exit */
export function ownImage(ref: string): string {
  cleanupAtExit();
  images.add(ref);
  return ref;
}

let app: Promise<string> | null = null;
/**
 * The lab's stand-in application image: curl and the libraries ldd names for it, from
 * this machine's files (no registry is reachable), entrypoint curl. Built once per run.
 */
export function labAppImage(): Promise<string> {
  return (app ??= (async () => {
    const ref = ownImage(`localhost/${RUN}-app:lab`);
    const stage = join(runDir(), "app-image");
    const curl = Bun.which("curl");
    if (!curl) throw new Error("curl is not installed");
    const ldd = Bun.spawnSync(["ldd", curl]).stdout.toString();
    const files = [curl, ...[...ldd.matchAll(/(\/\S+)/g)].map((m) => m[1]!)];
    for (const f of files) {
      const to = join(stage, "rootfs", f);
      Bun.spawnSync(["install", "-D", "-m", "0755", Bun.spawnSync(["readlink", "-f", f]).stdout.toString().trim(), to]);
    }
    await Bun.write(join(stage, "Containerfile"), `FROM scratch\nCOPY rootfs/ /\nENTRYPOINT ["${curl}"]\n`);
    const r = await podman(["build", "--quiet", "--pull=never", "-t", ref, "-f", join(stage, "Containerfile"), stage]);
    if (r.code !== 0) throw new Error(`building the lab's application image failed: ${r.stderr}`);
    return ref;
  })());
}

/**
 * What the lab's application container (labAppImage: curl) meets for an allowed name
 * (api.example.com), a denied one (evil.example.com) and an address no answer opened
 * (198.51.100.66): curl's exit codes, 0, 6 (not resolved) and 7 (refused) when enforced.
 */
export async function appOutcomes(runApp: (curlArgs: string[]) => Promise<Run>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const target of ["api.example.com", "evil.example.com", "198.51.100.66"]) {
    out[target] = (await runApp(["-s", "-o", "/dev/null", "--connect-timeout", "3", "--max-time", "5", `http://${target}/`])).code;
  }
  return out;
}

export const ENFORCED = { "api.example.com": 0, "evil.example.com": 6, "198.51.100.66": 7 };
