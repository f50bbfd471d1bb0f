// The lab: a throwaway pair of network namespaces on the real kernel.
//
//   [sandbox netns] --veth-- [world netns]
//     egressctl, clients        Knot (upstream DNS), world-server.py (every documentation
//                               address answers HTTP/TCP/UDP), DoH/DoT stand-ins
//
// Names are unique per run (egl-<pid>-<n>-sb / -w) so two runs never collide. Every lab
// removes itself on destroy(), and all live labs are removed on exit and on SIGINT/SIGTERM,
// so a failed run leaves nothing behind. Only processes the lab started are ended, by PID.
// Used by the tests, `make demo` and the benchmarks alike.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { LAB } from "./addresses.ts";

export { LAB };

export type Side = "sandbox" | "world";

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  timeoutMs?: number;
  stdin?: string;
  env?: Record<string, string>;
  cwd?: string;
}

const live = new Set<Lab>();
let counter = 0;
let hooked = false;

export class Lab {
  readonly sandbox: string;
  readonly world: string;
  /** scratch directory of this lab (configs, zone files, sockets); removed on destroy */
  readonly dir: string;
  private procs = new Set<Subprocess>();

  private constructor(readonly id: string) {
    this.sandbox = `${id}-sb`;
    this.world = `${id}-w`;
    this.dir = mkdtempSync(join(tmpdir(), `${id}-`));
  }

  /** Builds the two namespaces, the veth between them, addresses and routes. */
  static async create(): Promise<Lab> {
    installExitHooks();
    const lab = new Lab(`egl-${process.pid}-${++counter}`);
    live.add(lab);
    try {
      await lab.build();
    } catch (err) {
      await lab.destroy();
      throw err;
    }
    return lab;
  }

  private async build(): Promise<void> {
    const { sandbox: sb, world: w } = this;
    const vs = `v${this.id.slice(4)}s`.slice(0, 15);
    const vw = `v${this.id.slice(4)}w`.slice(0, 15);
    await must(["ip", "netns", "add", sb]);
    await must(["ip", "netns", "add", w]);
    // /etc/netns/<ns>/resolv.conf is bind-mounted over /etc/resolv.conf by `ip netns
    // exec`, so glibc, curl and python in the sandbox resolve through the lab.
    mkdirSync(`/etc/netns/${sb}`, { recursive: true });
    writeFileSync(`/etc/netns/${sb}/resolv.conf`, `nameserver ${LAB.dnsV4}\noptions timeout:2 attempts:1\n`);
    await must(["ip", "link", "add", vs, "netns", sb, "type", "veth", "peer", "name", vw, "netns", w]);
    for (const [ns, dev, v4, v6] of [
      [sb, vs, LAB.sandboxV4, LAB.sandboxV6],
      [w, vw, LAB.worldV4, LAB.worldV6],
    ] as const) {
      await must(["ip", "-n", ns, "link", "set", "lo", "up"]);
      await must(["ip", "-n", ns, "addr", "add", `${v4}/24`, "dev", dev]);
      await must(["ip", "-n", ns, "addr", "add", `${v6}/64`, "dev", dev, "nodad"]);
      await must(["ip", "-n", ns, "link", "set", dev, "up"]);
    }
    await must(["ip", "-n", sb, "route", "add", "default", "via", LAB.worldV4]);
    await must(["ip", "-n", sb, "-6", "route", "add", "default", "via", LAB.worldV6]);
    // Whole documentation ranges become local addresses of the world (AnyIP routes), so
    // any address in them is a reachable "host" without creating thousands of links.
    for (const r of LAB.hostRangesV4) await must(["ip", "-n", w, "route", "add", "local", r, "dev", "lo", "table", "local"]);
    for (const r of LAB.hostRangesV6) await must(["ip", "-n", w, "-6", "route", "add", "local", r, "dev", "lo", "table", "local"]);
  }

  /** Runs a command inside one side of the lab and collects its output. */
  async exec(side: Side, argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const p = Bun.spawn(["ip", "netns", "exec", this.ns(side), ...argv], {
      stdin: opts.stdin === undefined ? "ignore" : new Blob([opts.stdin]),
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, ...opts.env },
      cwd: opts.cwd,
    });
    this.procs.add(p);
    const timer = setTimeout(() => p.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
    try {
      const [stdout, stderr, code] = await Promise.all([
        new Response(p.stdout).text(),
        new Response(p.stderr).text(),
        p.exited,
      ]);
      return { code, stdout, stderr };
    } finally {
      clearTimeout(timer);
      this.procs.delete(p);
    }
  }

  /** Starts a long-running process inside one side; ended by PID on destroy(). */
  spawn(side: Side, argv: string[], opts: { env?: Record<string, string>; stdout?: "pipe" | "ignore" | "inherit"; stderr?: "pipe" | "ignore" | "inherit" } = {}): Subprocess<"ignore", "pipe", "pipe"> {
    const p = Bun.spawn(["ip", "netns", "exec", this.ns(side), ...argv], {
      stdin: "ignore",
      stdout: opts.stdout ?? "pipe",
      stderr: opts.stderr ?? "pipe",
      env: { ...process.env, ...opts.env },
    });
    this.procs.add(p);
    void p.exited.then(() => this.procs.delete(p));
    return p as Subprocess<"ignore", "pipe", "pipe">;
  }

  /** Ends one process this lab started and waits for it. */
  async stop(p: Subprocess, signal: NodeJS.Signals = "SIGTERM", graceMs = 3000): Promise<number> {
    if (p.exitCode !== null || p.signalCode !== null) return p.exitCode ?? 128;
    p.kill(signal);
    const t = setTimeout(() => p.kill("SIGKILL"), graceMs);
    const code = await p.exited;
    clearTimeout(t);
    return code;
  }

  ns(side: Side): string {
    return side === "sandbox" ? this.sandbox : this.world;
  }

  /** Writes a file into the lab's scratch directory and returns its path. */
  file(name: string, content: string): string {
    const path = join(this.dir, name);
    writeFileSync(path, content);
    return path;
  }

  async destroy(): Promise<void> {
    for (const p of this.procs) p.kill("SIGKILL");
    await Promise.all([...this.procs].map((p) => p.exited));
    this.procs.clear();
    destroyNamespaces(this);
    live.delete(this);
  }
}

function destroyNamespaces(lab: Lab): void {
  for (const ns of [lab.sandbox, lab.world]) {
    Bun.spawnSync(["ip", "netns", "del", ns], { stderr: "ignore", stdout: "ignore" });
  }
  rmSync(`/etc/netns/${lab.sandbox}`, { recursive: true, force: true });
  rmSync(lab.dir, { recursive: true, force: true });
}

function installExitHooks(): void {
  if (hooked) return;
  hooked = true;
  const cleanAll = () => {
    for (const lab of live) {
      for (const p of (lab as unknown as { procs: Set<Subprocess> }).procs) p.kill("SIGKILL");
      destroyNamespaces(lab);
    }
    live.clear();
  };
  process.on("exit", cleanAll);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(sig, () => {
      cleanAll();
      process.exit(130);
    });
  }
}

async function must(argv: string[]): Promise<void> {
  const p = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe" });
  const [err, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`lab: '${argv.join(" ")}' failed (${code}): ${err.trim()}`);
}

/**
 * Reads a process's stdout until it has printed `marker` (its "ready" line, say). The
 * reader is handed back still locked, with what was read, for callers that read on;
 * release it otherwise. `exited` words the error when the process ends first.
 */
export async function waitForOutput(
  proc: Subprocess<"ignore" | "pipe", "pipe", "pipe">,
  marker: string,
  what: string,
  exited: () => Promise<string> | string = () => `${what}: the process exited first`,
) {
  return waitForText(proc.stdout, marker, what, exited);
}

/** The same for any stream of a process (its stderr, say). */
export async function waitForText(
  stream: ReadableStream<Uint8Array>,
  marker: string,
  what: string,
  exited: () => Promise<string> | string = () => `${what}: the stream ended first`,
) {
  const reader = stream.getReader();
  const dec = new TextDecoder();
  let seen = "";
  await waitFor(what, async () => {
    const { value, done } = await reader.read();
    if (done) throw new Error(await exited());
    seen += dec.decode(value, { stream: true });
    return seen.includes(marker);
  });
  return { reader, seen };
}

/** Polls `check` until it returns true or the time is up; for readiness, never for timing. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await Bun.sleep(25);
  }
  throw new Error(`lab: timed out after ${timeoutMs} ms waiting for ${what}`);
}
