// Runs the compiled `egressctl serve` inside a lab's sandbox namespace and gives tests
// a handle on it: wait for ready, read its JSON log lines, query the status socket.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { LAB, type Lab, waitFor } from "./lab.ts";

export const BIN = join(import.meta.dir, "..", "..", "dist", "egressctl");

export interface Served {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  socket: string;
  readyFile: string;
  /** every JSON log line so far, parsed */
  events: Record<string, any>[];
  /** raw stderr so far */
  stderr(): string;
  waitEvent(pred: (e: Record<string, any>) => boolean, timeoutMs?: number): Promise<Record<string, any>>;
  get(path: string): Promise<{ status: number; body: string }>;
  stop(signal?: NodeJS.Signals): Promise<number>;
}

let n = 0;

export function serveArgs(policyPath: string | null, extra: string[] = []): string[] {
  return ["serve", ...(policyPath ? [policyPath] : []), "--upstream", LAB.dnsV4, ...extra];
}

/** Starts serve; resolves once the ready file exists (or rejects if serve exits first). */
export async function startServe(
  lab: Lab,
  args: string[],
  opts: { env?: Record<string, string>; waitReady?: boolean; prefix?: string[]; socket?: string } = {},
): Promise<Served> {
  const id = ++n;
  const socket = opts.socket ?? join(lab.dir, `serve-${id}.sock`);
  const readyFile = join(lab.dir, `serve-${id}.ready`);
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run 'make build' first`);
  const proc = lab.spawn("sandbox", [...(opts.prefix ?? []), BIN, ...args, "--status-socket", socket, "--ready-file", readyFile], {
    // the lab's own always-rules directory (absent unless a test writes it), never the machine's
    env: { EGRESSCTL_ASSUME_SANDBOX: "1", EGRESSCTL_ALWAYS_RULES_DIR: join(lab.dir, "always-rules"), ...opts.env },
  });
  let raw = "";
  const events: Record<string, any>[] = [];
  const pump = (async () => {
    const dec = new TextDecoder();
    let partial = "";
    for await (const chunk of proc.stderr) {
      const text = dec.decode(chunk, { stream: true });
      raw += text;
      partial += text;
      const lines = partial.split("\n");
      partial = lines.pop()!;
      for (const l of lines) {
        try {
          events.push(JSON.parse(l));
        } catch {
          // not a JSON line (pretty format or a crash message): kept in raw
        }
      }
    }
  })();
  void pump;
  const served: Served = {
    proc,
    socket,
    readyFile,
    events,
    stderr: () => raw,
    async waitEvent(pred, timeoutMs = 10_000) {
      let found: Record<string, any> | undefined;
      await waitFor("a serve log event", () => {
        found = events.find(pred);
        return found !== undefined;
      }, timeoutMs);
      return found!;
    },
    async get(path) {
      const r = await lab.exec("sandbox", ["curl", "-sS", "-m", "5", "-w", "\n%{http_code}", "--unix-socket", socket, `http://egressctl${path}`]);
      const i = r.stdout.lastIndexOf("\n");
      return { status: Number(r.stdout.slice(i + 1)), body: r.stdout.slice(0, i) };
    },
    stop: (signal = "SIGTERM") => lab.stop(proc, signal),
  };
  if (opts.waitReady !== false) {
    await waitFor("serve ready", () => {
      if (proc.exitCode !== null) throw new Error(`serve exited ${proc.exitCode} before ready:\n${raw}`);
      return existsSync(readyFile);
    }, 15_000);
  }
  return served;
}
