// Shared helpers for the serve integration tests (modes, faults, reload): real clients in
// the lab's sandbox namespace (kdig, curl, getent, python3) and the kernel state of
// egressctl's table, read back with `nft -j`.
import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { afterAll, afterEach, beforeAll } from "bun:test";
import { IPT_HOOKS } from "../../../src/core/ruleset/iptables-redirect.ts";
import { startKnot } from "../../support/knot.ts";
import type { Zone } from "../../support/zones.ts";
import { LAB, Lab, waitFor, waitForOutput } from "../../support/lab.ts";
import { startWorld } from "../../support/world.ts";
import { BIN, startServe, type Served } from "../../support/serve.ts";

export { BIN };

/** the lab's DoH stand-ins instead of the built-in list of real providers */
export const LAB_ENV: Record<string, string> = {
  OPENSANDBOX_EGRESS_DOH_BLOCKLIST: `${LAB.dohV4},${LAB.dohV6}`,
  OPENSANDBOX_EGRESS_DNS_UPSTREAM_TIMEOUT: "1",
};

/** A policy document (JSON is YAML): deny by default, allow the given names. */
export function policyText(allow: string[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ defaultAction: "deny", egress: allow.map((target) => ({ action: "allow", target })), ...extra });
}

let n = 0;
/** Writes a policy into the lab's scratch directory under a fresh name. */
export function writePolicy(lab: Lab, text: string, name = `policy-${++n}.json`): string {
  return lab.file(name, text);
}

/** Replaces a file the way editors and config maps do: write a new file, rename it over. */
export function replaceFile(path: string, text: string): void {
  const tmp = join(`${path}.tmp-${++n}`);
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** `serve FILE --upstream UPSTREAMS ...extra` (FILE may be null). */
export function args(policy: string | null, upstreams: string = LAB.dnsV4, extra: string[] = []): string[] {
  return ["serve", ...(policy ? [policy] : []), "--upstream", upstreams, ...extra];
}

/** every serve a test started, ended (if still running) after each test */
const started: Served[] = [];

/**
 * The lab of one test file: namespaces, Knot and the world's hosts before all tests;
 * after each test, any serve still running is killed and egressctl's table removed (a
 * stopped serve leaves it in force); after all, the lab is destroyed.
 */
export function useLab(init: (lab: Lab) => void | Promise<void>, opts: { zones?: Zone[] } = {}): void {
  let lab: Lab | undefined;
  beforeAll(async () => {
    lab = await Lab.create();
    await startKnot(lab, { zones: opts.zones });
    await startWorld(lab);
    await init(lab);
  });
  afterEach(async () => {
    for (const s of started.splice(0)) if (s.proc.exitCode === null && s.proc.signalCode === null) await s.stop("SIGKILL");
    if (lab) await dropTable(lab);
  });
  afterAll(async () => {
    await lab?.destroy();
  });
}

export async function serve(lab: Lab, argv: string[], opts: { env?: Record<string, string>; prefix?: string[]; socket?: string } = {}): Promise<Served> {
  const s = await startServe(lab, argv, { env: { ...LAB_ENV, ...opts.env }, prefix: opts.prefix, socket: opts.socket });
  started.push(s);
  return s;
}

/** Runs serve and expects it to exit on its own (a refusal); returns code and output. */
export async function serveExit(
  lab: Lab,
  argv: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; events: Record<string, any>[]; stderr: string }> {
  const r = await lab.exec("sandbox", [BIN, ...argv, "--status-socket", join(lab.dir, `refused-${++n}.sock`)], {
    env: { EGRESSCTL_ASSUME_SANDBOX: "1", EGRESSCTL_ALWAYS_RULES_DIR: join(lab.dir, "always-rules"), ...LAB_ENV, ...env },
    timeoutMs: 15_000,
  });
  return { code: r.code, events: jsonLines(r.stderr), stderr: r.stderr };
}

export function jsonLines(text: string): Record<string, any>[] {
  const out: Record<string, any>[] = [];
  for (const l of text.split("\n")) {
    try {
      out.push(JSON.parse(l));
    } catch {
      // not a JSON line
    }
  }
  return out;
}

export async function status(s: Served): Promise<Record<string, any>> {
  const r = await s.get("/status");
  if (r.status !== 200) throw new Error(`/status answered ${r.status}: ${r.body}`);
  return JSON.parse(r.body);
}

export interface Dig {
  /** NOERROR, NXDOMAIN, SERVFAIL, ... or "NOANSWER" when no reply came at all */
  rcode: string;
  /** A/AAAA data of the answer section, sorted */
  addresses: string[];
  raw: string;
}

/** One kdig query from the sandbox, as an application would send it (port 53). */
export async function dig(lab: Lab, name: string, opts: { server?: string; type?: string; tcp?: boolean; timeout?: number } = {}): Promise<Dig> {
  const argv = ["kdig", `+timeout=${opts.timeout ?? 4}`, "+retry=0", ...(opts.tcp ? ["+tcp"] : []), `@${opts.server ?? LAB.dnsV4}`, name, opts.type ?? "A"];
  const r = await lab.exec("sandbox", argv, { timeoutMs: 20_000 });
  const raw = r.stdout + r.stderr;
  const m = /status: ([A-Z]+)/.exec(raw);
  const addresses: string[] = [];
  let section = "";
  for (const line of r.stdout.split("\n")) {
    const h = /^;; ([A-Z]+) SECTION:/.exec(line);
    if (h) section = h[1]!;
    else if (line.startsWith(";;") || line.trim() === "") continue;
    else if (section === "ANSWER") {
      const f = line.trim().split(/\s+/);
      if (f.length >= 5 && (f[3] === "A" || f[3] === "AAAA")) addresses.push(f[4]!);
    }
  }
  return { rcode: m ? m[1]! : "NOANSWER", addresses: addresses.sort(), raw };
}

/** glibc's resolver, as most programs use it: the addresses, or [] when it fails. */
export async function getent(lab: Lab, name: string): Promise<string[]> {
  const r = await lab.exec("sandbox", ["getent", "ahostsv4", name]);
  if (r.code !== 0) return [];
  return [...new Set(r.stdout.split("\n").map((l) => l.split(/\s+/)[0]!).filter(Boolean))].sort();
}

/** curl from the sandbox: exit code 0 (reached), 6 (name not resolved), 7 (refused/unreachable), 28 (timed out). */
export async function curl(lab: Lab, target: string, port = 80): Promise<number> {
  const h = target.includes(":") ? `[${target}]` : target;
  const r = await lab.exec("sandbox", ["curl", "-s", "-g", "-o", "/dev/null", "--connect-timeout", "3", "--max-time", "5", `http://${h}:${port}/`]);
  return r.code;
}

/** the egressctl table as nft's JSON objects (metainfo left out), or null when absent */
export async function table(lab: Lab): Promise<Record<string, any>[] | null> {
  const r = await lab.exec("sandbox", ["nft", "-j", "list", "table", "inet", "egressctl"]);
  if (r.code !== 0) return null;
  return JSON.parse(r.stdout).nftables.filter((o: object) => !("metainfo" in o));
}

/** the chains of each mode's table, sorted as chains() lists them */
export const FULL_CHAINS = ["deny", "deny_always", "deny_cidr", "deny_default", "deny_dns", "deny_doh", "deny_dot", "deny_inbound", "deny_rthdr", "dns_guard", "dns_notrack_in", "dns_notrack_out", "dns_redirect", "output"];
export const DNS_ONLY_CHAINS = ["deny", "deny_dns", "dns_guard", "dns_notrack_in", "dns_notrack_out", "dns_redirect"];

export async function chains(lab: Lab): Promise<string[]> {
  return ((await table(lab)) ?? []).filter((o) => "chain" in o).map((o) => o.chain.name).sort();
}

/** addresses in a learned set (learned4 / learned6), in kernel order */
export async function learned(lab: Lab, set = "learned4"): Promise<string[]> {
  const r = await lab.exec("sandbox", ["nft", "-j", "list", "set", "inet", "egressctl", set]);
  if (r.code !== 0) return [];
  const s = JSON.parse(r.stdout).nftables.find((o: any) => "set" in o)?.set;
  return (s?.elem ?? []).map((e: any) => (typeof e === "string" ? e : e.elem?.val ?? e.val ?? JSON.stringify(e)));
}

/**
 * The policy digest in the kernel: the comment egressctl puts on its chains. Read from
 * the text listing, because nft 1.0.6 leaves chain comments out of its JSON.
 */
export async function kernelDigest(lab: Lab): Promise<string | null> {
  const r = await lab.exec("sandbox", ["nft", "list", "table", "inet", "egressctl"]);
  const m = /comment "egressctl policy sha256:([0-9a-f]{64})"/.exec(r.stdout);
  return r.code === 0 && m ? m[1]! : null;
}

/** how many tables named egressctl exist in the sandbox (any family) */
export async function egressctlTables(lab: Lab): Promise<number> {
  const r = await lab.exec("sandbox", ["nft", "-j", "list", "tables"]);
  return JSON.parse(r.stdout).nftables.filter((o: any) => o.table?.name === "egressctl").length;
}

/**
 * Removes what a stopped serve leaves in force in the sandbox, between tests: egressctl's
 * table, and the iptables redirect of the dns-only fallback.
 */
export async function dropTable(lab: Lab): Promise<void> {
  await lab.exec("sandbox", ["nft", "add table inet egressctl; delete table inet egressctl"]);
  for (const ipt of ["iptables", "ip6tables"]) {
    for (const h of IPT_HOOKS) {
      while ((await lab.exec("sandbox", [ipt, "-t", h.table, "-D", h.hook, "-j", h.chain])).code === 0) {
        // hooked more than once by a broken run: remove every jump
      }
      await lab.exec("sandbox", [ipt, "-t", h.table, "-F", h.chain]);
      await lab.exec("sandbox", [ipt, "-t", h.table, "-X", h.chain]);
    }
  }
}

/**
 * A client loop in the sandbox: kdig queries and curls, until stop(). Returns how many
 * rounds ran. Runs as one shell whose PID this test owns.
 */
export function loadLoop(lab: Lab, names: string[]): { proc: Subprocess; stop(): Promise<void> } {
  const flag = join(lab.dir, `load-${++n}.run`);
  writeFileSync(flag, "");
  const body = names
    .map((nm) => `kdig +timeout=1 +retry=0 @${LAB.dnsV4} ${nm} A >/dev/null 2>&1; curl -s -o /dev/null --connect-timeout 1 --max-time 2 http://${nm}/ >/dev/null 2>&1`)
    .join("; ");
  const proc = lab.spawn("sandbox", ["bash", "-c", `while [ -e '${flag}' ]; do ${body}; done`], { stdout: "ignore", stderr: "ignore" });
  return {
    proc,
    async stop() {
      const { rmSync } = await import("node:fs");
      rmSync(flag, { force: true });
      const t = setTimeout(() => proc.kill("SIGKILL"), 10_000);
      await proc.exited;
      clearTimeout(t);
    },
  };
}

export async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  await waitFor(what, check, timeoutMs);
}

/** The fault-injecting stub upstream (test/support/dns-stub.ts) in the world namespace, with the names it was asked. */
export { startStub } from "../dns/support.ts";
