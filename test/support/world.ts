// The lab world's hosts: world-server.py answers HTTP/TCP and UDP on every lab address.
import { join } from "node:path";
import type { Subprocess } from "bun";
import { type Lab, waitForOutput } from "./lab.ts";

const SCRIPT = join(import.meta.dir, "world-server.py");

export async function startWorld(lab: Lab, opts: { tcp?: number[]; udp?: number[] } = {}): Promise<Subprocess> {
  const tcp = (opts.tcp ?? [80, 443, 853, 8080]).join(",");
  const udp = (opts.udp ?? [9, 443, 853]).join(",");
  const proc = lab.spawn("world", ["python3", SCRIPT, "--tcp", tcp, "--udp", udp]);
  const { reader } = await waitForOutput(proc, "ready", "world-server ready", () => "world-server exited before it was ready");
  reader.releaseLock();
  return proc;
}
