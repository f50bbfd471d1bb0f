// The doctor use case: gather what a running serve shows (status socket), what the
// kernel holds (table inet egressctl) and what one DNS query meets, then let the core
// judge it. Every effect comes in as a parameter (effects.ts has the real ones), so
// tests can run the whole use case on canned data.
import { PROBE_SUFFIX, probeTarget } from "../../core/dns/probe-names.ts";
import { exemptMatcher } from "../../core/ruleset/nameserver-exempt.ts";
import type { DnsProbe, DoctorInput, IptablesRead, KernelRead, LearnedMap, ServeStatus, ServeView, Violation } from "../../core/doctor/input.ts";
import { buildReport, type DoctorReport } from "../../core/doctor/report.ts";
import type { PrivilegeScan } from "../../core/caps/privileged.ts";
import type { Policy } from "../../core/policy/types.ts";

export interface DoctorEffects {
  /** GET path on the status socket; throws when the socket cannot be reached */
  get(path: string): Promise<{ status: number; body: string }>;
  /** `nft -j list table inet egressctl` and the text of its base chains */
  readKernel(): KernelRead;
  /** whether the iptables fallback's chains are hooked (`iptables -C`, nothing changed) */
  readIptables(): IptablesRead;
  /** one query (type A, with EDNS) for `name` to `address` port 53 from an ordinary socket */
  queryDns(address: string, family: 4 | 6, name: string): Promise<DnsProbe["result"]>;
  /** /proc's processes holding NET_RAW or NET_ADMIN in this network namespace, trusting doctor, serve (`servePid`) and their kin */
  scanPrivileged(servePid: number | null): PrivilegeScan;
  /** a unique label for the probe name */
  nonce(): string;
  now(): number;
}

export interface DoctorOptions {
  socket: string;
  targets: string[];
  policy: { file: string; policy: Policy; digest: string } | null;
}


export async function runDoctor(o: DoctorOptions, fx: DoctorEffects): Promise<DoctorReport> {
  const serve = await readServe(fx);
  const status = serve.reachable ? serve.status : null;
  // the kernel is read when serve says it uses nftables, or when serve is gone (what is left in force?)
  const kernel = !status || status.kernel ? safeRead(() => fx.readKernel()) : null;
  const iptables = status?.redirect === "iptables" ? safeRead(() => fx.readIptables()) : null;
  const dns = status ? await probeDns(status, fx) : null;
  const privileged = safeRead(() => fx.scanPrivileged(status?.pid ?? null));
  const input: DoctorInput = { socket: o.socket, serve, kernel, dns, iptables, privileged, policy: o.policy, targets: o.targets, now: fx.now() };
  return buildReport(input);
}

async function readServe(fx: DoctorEffects): Promise<ServeView> {
  try {
    const health = await fx.get("/healthz");
    const status = json<ServeStatus>(await fx.get("/status"), "/status");
    const violations = json<Violation[]>(await fx.get("/violations?limit=10"), "/violations");
    const learned = json<LearnedMap>(await fx.get("/learned"), "/learned");
    return { reachable: true, health, status, violations: Array.isArray(violations) ? violations : [], learned: learned ?? {} };
  } catch (e) {
    return { reachable: false, error: (e as Error).message };
  }
}

function json<T>(r: { status: number; body: string }, path: string): T {
  if (r.status !== 200) throw new Error(`${path} answered ${r.status} ${r.body.trim()}`);
  try {
    return JSON.parse(r.body) as T;
  } catch {
    throw new Error(`${path} answered something that is not JSON`);
  }
}

function safeRead<T>(read: () => T): T | { error: string } {
  try {
    return read();
  } catch (e) {
    return { error: (e as Error).message };
  }
}

async function probeDns(status: ServeStatus, fx: DoctorEffects): Promise<DnsProbe | null> {
  if (status.mode === "disabled") return null;
  const upstreams = (status.dns?.upstreams ?? []).map((u) => upstreamAddress(u.upstream)).filter((u) => u !== null);
  if (upstreams.length === 0) return null;
  // not to an exempt nameserver: DNS to those is let out unredirected on purpose
  const target = probeTarget(upstreams, exemptMatcher(status.nameserverExempt ?? []));
  const name = `doctor-${fx.nonce()}${PROBE_SUFFIX}`;
  const before = status.dns?.queries ?? null;
  const result = await fx.queryDns(target.address, target.family, name).catch((e) => ({ error: (e as Error).message }));
  let after: number | null = null;
  try {
    after = json<ServeStatus>(await fx.get("/status"), "/status").dns?.queries ?? null;
  } catch {
    // the counter is only a second opinion
  }
  const shown = target.family === 6 ? `[${target.address}]:53` : `${target.address}:53`;
  return { name, target: shown, result, queriesBefore: before, queriesAfter: after };
}

/** "198.51.100.53:53" or "[2001:db8::53]:53" (an upstream's label) → its address */
export function upstreamAddress(label: string): { address: string; family: 4 | 6 } | null {
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(label);
  if (v6) return { address: v6[1]!, family: 6 };
  const v4 = /^(\d+\.\d+\.\d+\.\d+)(?::\d+)?$/.exec(label);
  return v4 ? { address: v4[1]!, family: 4 } : null;
}
