// Test-side helpers for the DNS proxy lab tests: start the harness in the sandbox,
// follow its event lines, ask for stats, run kdig.
import type { Subprocess } from "bun";
import { type Lab, waitFor } from "../../support/lab.ts";
import type { HarnessConfig } from "./harness.ts";

export const BUN = process.execPath;
const HARNESS = new URL("./harness.ts", import.meta.url).pathname;

export interface Harness {
  proc: Subprocess;
  events: Record<string, unknown>[];
  stats(): Promise<Record<string, unknown> & { rss: number }>;
  waitEvent(what: string, pred: (e: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

let n = 0;
/** `wrap`: a command the harness runs under (e.g. setpriv dropping capabilities) */
export async function startHarness(lab: Lab, cfg: HarnessConfig, wrap: string[] = []): Promise<Harness> {
  const id = ++n;
  const statsFile = `${lab.dir}/stats-${id}.json`;
  const path = lab.file(`harness-${id}.json`, JSON.stringify({ ...cfg, statsFile }));
  const proc = lab.spawn("sandbox", [...wrap, BUN, HARNESS, path]);
  const events: Record<string, unknown>[] = [];
  let stderr = "";
  void (async () => {
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of proc.stdout) {
      buf += dec.decode(chunk);
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        events.push(JSON.parse(buf.slice(0, i)));
        buf = buf.slice(i + 1);
      }
    }
  })();
  void new Response(proc.stderr).text().then((t) => (stderr = t));
  const h: Harness = {
    proc,
    events,
    async waitEvent(what, pred, timeoutMs = 10_000) {
      await waitFor(what, () => {
        if (proc.exitCode !== null) throw new Error(`harness exited ${proc.exitCode}: ${stderr}`);
        return events.some(pred);
      }, timeoutMs);
      return events.find(pred)!;
    },
    async stats() {
      const { rmSync, readFileSync, existsSync } = await import("node:fs");
      rmSync(statsFile, { force: true });
      proc.kill("SIGUSR1");
      await waitFor("stats file", () => existsSync(statsFile) && readFileSync(statsFile, "utf8").endsWith("}"));
      return JSON.parse(readFileSync(statsFile, "utf8"));
    },
    async stop() {
      await lab.stop(proc);
    },
  };
  await h.waitEvent("proxy ready", (e) => e.type === "ready", 15_000);
  return h;
}

export async function kdig(lab: Lab, args: string[]): Promise<string> {
  const r = await lab.exec("sandbox", ["kdig", "+timeout=5", "+retry=0", ...args]);
  return r.stdout + r.stderr;
}

/** kdig +short style lines of the answer section, sorted. */
export async function answers(lab: Lab, server: string, port: number, name: string, type: string, extra: string[] = []): Promise<string[]> {
  const r = await lab.exec("sandbox", ["kdig", "+timeout=5", "+retry=0", "+short", `@${server}`, "-p", String(port), ...extra, name, type]);
  return r.stdout.split("\n").filter((l) => l.trim() !== "").sort();
}

const STUB = new URL("../../support/dns-stub.ts", import.meta.url).pathname;

/** Starts the fault-injecting stub upstream in the world namespace (see dns-stub.ts). */
export async function startStub(lab: Lab, cfg: Record<string, unknown>): Promise<{ proc: Subprocess; queries: string[] }> {
  const path = lab.file(`stub-${++n}.json`, JSON.stringify(cfg));
  const proc = lab.spawn("world", [BUN, STUB, path]);
  const queries: string[] = [];
  let ready = false;
  void (async () => {
    let buf = "";
    for await (const chunk of proc.stdout) {
      buf += new TextDecoder().decode(chunk);
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        const e = JSON.parse(buf.slice(0, i));
        if (e.type === "ready") ready = true;
        else queries.push(e.name);
        buf = buf.slice(i + 1);
      }
    }
  })();
  await waitFor("stub ready", () => {
    if (proc.exitCode !== null) throw new Error("stub exited");
    return ready;
  });
  return { proc, queries };
}
