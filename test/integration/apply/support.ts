// Helpers for the apply tests: run the binary in the sandbox, read the kernel table in a
// comparable form, and run clients with their exit code and elapsed time.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { type ExecResult, type Lab } from "../../support/lab.ts";

export const BIN = process.env.EGRESSCTL_BIN ?? resolve(import.meta.dir, "../../../dist/egressctl");
export const CLIENTS = join(import.meta.dir, "clients.py");
/** DoH stand-ins of the lab, replacing the built-in list of real resolvers */
/** no always lists unless a test gives its own directory (the machine's /var/egress/rules is not the lab's) */
export const LAB_ENV = { OPENSANDBOX_EGRESS_DOH_BLOCKLIST: "203.0.113.143,2001:db8:200::143", EGRESSCTL_QUIET: "1", EGRESSCTL_ALWAYS_RULES_DIR: "/nonexistent/egressctl-lab-always-rules" };

export function requireBinary(): void {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run 'make build' first (or set EGRESSCTL_BIN)`);
}

let n = 0;
/** Writes the policy into the lab and runs `egressctl apply FILE ...flags` in the sandbox. */
export async function apply(lab: Lab, policy: string, flags: string[] = [], env: Record<string, string> = {}): Promise<ExecResult> {
  const file = lab.file(`policy-${++n}.yaml`, policy);
  return lab.exec("sandbox", [BIN, "apply", file, ...flags], { env: { ...LAB_ENV, ...env } });
}

export async function mustApply(lab: Lab, policy: string, flags: string[] = [], env: Record<string, string> = {}): Promise<void> {
  const r = await apply(lab, policy, flags, env);
  if (r.code !== 0) throw new Error(`apply failed (${r.code}): ${r.stderr}`);
}

export async function nft(lab: Lab, ...args: string[]): Promise<ExecResult> {
  return lab.exec("sandbox", ["nft", ...args]);
}

/**
 * `nft -j list table inet egressctl` without what changes on its own: handles (objects
 * are re-created on apply) and element expiry (a clock). null when the table is absent.
 */
export async function tableState(lab: Lab): Promise<unknown> {
  const r = await nft(lab, "-j", "list", "table", "inet", "egressctl");
  if (r.code !== 0) return null;
  return strip(JSON.parse(r.stdout).nftables.filter((o: object) => !("metainfo" in o)));
}

/** The same listing, exactly (handles and all): for "nothing happened at all". */
export async function rawTable(lab: Lab): Promise<string> {
  const r = await nft(lab, "-j", "list", "table", "inet", "egressctl");
  return JSON.stringify(strip(JSON.parse(r.stdout), ["expires"]));
}

function strip(v: unknown, keys = ["handle", "expires"]): unknown {
  if (Array.isArray(v)) return v.map((x) => strip(x, keys));
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).filter(([k]) => !keys.includes(k)).map(([k, x]) => [k, strip(x, keys)]));
  }
  return v;
}

export interface Timed extends ExecResult {
  ms: number;
}

/** curl from the sandbox: exit code 0 (reached), 7 (refused/unreachable), 28 (timed out). */
export async function curl(lab: Lab, host: string, port = 80): Promise<Timed> {
  const h = host.includes(":") ? `[${host}]` : host;
  const t = performance.now();
  const r = await lab.exec("sandbox", ["curl", "-s", "-g", "--connect-timeout", "3", "--max-time", "5", `http://${h}:${port}/`]);
  return { ...r, ms: performance.now() - t };
}

/** one UDP datagram from the sandbox: "ok <addr> x", "timeout" or "error <ERRNO>" */
export async function udp(lab: Lab, host: string, port: number): Promise<string> {
  return (await lab.exec("sandbox", ["python3", CLIENTS, "udp", host, String(port)])).stdout.trim();
}
