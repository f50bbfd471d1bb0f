// doctor's judgement: what it gathered (input.ts) in, a report out: one finding per
// check (ok / FAIL / warn / info), the facts behind them, and an explanation per NAME or
// IP asked about. Exit 1 when serve is unreachable or any finding FAILs, which happens
// only when enforcement is weaker than intended; 0 otherwise. Pure; docs/doctor.md.
import { readKernelState, type KernelState } from "../status/kernel-state.ts";
import { IPT_CHAIN, IPT_GUARD } from "../ruleset/iptables-redirect.ts";
import type { DoctorInput, DnsProbe, IptablesRead, ServeStatus, Violation } from "./input.ts";
import { readStaticSets } from "./kernel-sets.ts";
import { explainTarget, type TargetContext, type TargetExplanation } from "./targets.ts";
import { alwaysFindings, alwaysFromStatus } from "./always.ts";
import { parseAddress } from "../net/ip.ts";
import { exposureFindings } from "./exposure.ts";
import type { PrivilegeScan } from "../caps/privileged.ts";

export type Status = "ok" | "fail" | "warn" | "info";
export type Section = "serve" | "mode" | "kernel" | "dns" | "upstreams" | "exposure" | "violations" | "policy" | "always";
export const SECTIONS: Section[] = ["serve", "mode", "kernel", "dns", "upstreams", "exposure", "violations", "policy", "always"];

export interface Finding {
  section: Section;
  /** stable identifier of the check, e.g. "kernel.digest" */
  check: string;
  status: Status;
  message: string;
}

export interface DoctorReport {
  ok: boolean;
  exitCode: 0 | 1;
  socket: string;
  serve: { reachable: boolean; ready: boolean | null; version: string | null; uptimeSeconds: number | null; error: string | null };
  mode: { intended: string | null; measured: string | null; audit: boolean; reasons: string[] } | null;
  policy: { source: string | null; digest: string | null; defaultAction: string | null; rules: number | null; file: string | null; fileDigest: string | null } | null;
  kernel: { read: boolean; error: string | null; present: boolean; digest: string | null; filterHooked: boolean; natHooked: boolean; guardHooked: boolean; learnedElements: number } | null;
  dns: { intercepted: boolean | null; name: string; target: string; rcode: string | null; ede: string[]; error: string | null } | null;
  upstreams: { upstream: string; up: boolean; failures: number }[];
  /** what egressctl cannot stop by itself: --inbound-from, and processes holding NET_RAW/NET_ADMIN (doctor's own scan) */
  exposure: { inbound: "any" | "none" | string[] | null; privileged: PrivilegeScan | { error: string } | null };
  violations: Violation[];
  findings: Finding[];
  explanations: TargetExplanation[];
}

const RANK: Record<string, number> = { disabled: 0, "dns-only": 1, "dns+nftables": 2 };

export function buildReport(input: DoctorInput): DoctorReport {
  const findings: Finding[] = [];
  const add = (section: Section, check: string, status: Status, message: string) => findings.push({ section, check, status, message });
  const sv = input.serve;
  const st: ServeStatus = sv.reachable ? sv.status : {};
  const kernelState = ownKernel(input);
  const report: DoctorReport = {
    ok: true,
    exitCode: 0,
    socket: input.socket,
    serve: sv.reachable
      ? { reachable: true, ready: sv.health.status === 200, version: st.version ?? null, uptimeSeconds: st.uptimeSeconds ?? null, error: null }
      : { reachable: false, ready: null, version: null, uptimeSeconds: null, error: sv.error },
    mode: sv.reachable ? { intended: st.mode ?? null, measured: st.measuredLevel ?? null, audit: st.audit === true, reasons: st.reasons ?? [] } : null,
    policy: sv.reachable || input.policy
      ? { source: st.policy?.source ?? null, digest: st.policy?.digest ?? null, defaultAction: st.policy?.defaultAction ?? null, rules: st.policy?.rules ?? null,
          file: input.policy?.file ?? null, fileDigest: input.policy?.digest ?? null }
      : null,
    kernel: kernelSummary(input, kernelState),
    dns: null,
    upstreams: (st.dns?.upstreams ?? []).map((u) => ({ upstream: u.upstream, up: u.up, failures: u.failures ?? 0 })),
    exposure: { inbound: st.inbound?.from ?? null, privileged: input.privileged },
    violations: sv.reachable ? sv.violations : [],
    findings,
    explanations: [],
  };

  // serve
  if (!sv.reachable) {
    add("serve", "serve.reachable", "fail", `serve is not reachable at ${input.socket}: ${sv.error}`);
  } else {
    const up = st.uptimeSeconds === undefined ? "" : `, up ${st.uptimeSeconds} s`;
    add("serve", "serve.reachable", "ok", `serve is reachable at ${input.socket} (version ${st.version ?? "?"}${up})`);
    if (sv.health.status === 200) add("serve", "serve.ready", "ok", `ready: ${sv.health.body.trim()}`);
    else add("serve", "serve.ready", "warn", `not ready yet: /healthz answered ${sv.health.status} ${sv.health.body.trim()}`);
    if (st.reloads?.failed) add("serve", "serve.reloads", "warn", `${st.reloads.failed} policy reload(s) rejected; last: ${st.reloads.lastError ?? "?"}`);
    webhookFinding(st, add);
  }

  if (sv.reachable) modeFindings(st, add);
  kernelFindings(input, st, kernelState, add);
  if (input.dns) report.dns = dnsFinding(input.dns, st, add);
  else if (sv.reachable) add("dns", "dns.intercepted", "info", st.mode === "disabled" ? "not checked: enforcement is disabled" : "not checked: serve reports no upstream to send a query to");

  // DNS that bypasses the proxy by configuration
  const exempt = st.nameserverExempt ?? [];
  if (exempt.length) {
    add("dns", "dns.exempt", "warn", `DNS to ${exempt.join(", ")} is exempt (OPENSANDBOX_EGRESS_NAMESERVER_EXEMPT): names resolved there are not judged${st.mode === "dns+nftables" ? ", and their addresses are not learned" : ""}`);
  }

  // upstreams
  if (sv.reachable) {
    if (report.upstreams.length === 0) add("upstreams", "upstreams", "info", "serve reports no upstream health");
    for (const u of report.upstreams) {
      add("upstreams", "upstreams.health", u.up ? "ok" : "warn", u.up ? `${u.upstream} is up` : `${u.upstream} is DOWN (${u.failures} failures in a row); queries go to the next upstream`);
    }
  }
  exposureFindings(input, st, add);
  if (sv.reachable) {
    const n = report.violations.length;
    add("violations", "violations", "info", n === 0 ? "no recent denials" : `${n} most recent denial(s), newest first`);
  }

  // policy file
  if (input.policy) {
    const served = st.policy?.digest;
    if (!served) add("policy", "policy.file", "info", `${input.policy.file}: rules below are named from this file (serve's digest is not known)`);
    else if (served === input.policy.digest) add("policy", "policy.file", "ok", `${input.policy.file} is the policy serve enforces (sha256:${short(served)})`);
    else add("policy", "policy.file", "warn", `${input.policy.file} (sha256:${short(input.policy.digest)}) is NOT the policy serve enforces (sha256:${short(served)}): rules below are named from the file`);
  }

  if (st.always) alwaysFindings(st.always, add);

  report.explanations = input.targets.map((t) =>
    explainTarget(t, {
      policy: input.policy?.policy ?? null,
      learned: sv.reachable ? sv.learned : {},
      violations: report.violations,
      kernel: kernelState && kernelState.state.present ? kernelState : null,
      mode: st.mode ?? null,
      audit: st.audit === true,
      defaultAction: st.policy?.defaultAction ?? input.policy?.policy.defaultAction ?? null,
      always: st.always ? alwaysFromStatus(st.always) : null,
      guard: guardOf(st),
      now: input.now,
    }));

  report.ok = findings.every((f) => f.status !== "fail");
  report.exitCode = report.ok ? 0 : 1;
  return report;
}

type Add = (section: Section, check: string, status: Status, message: string) => void;

/** /status guard: how the address guard runs, with the namespace's own addresses parsed back */
function guardOf(st: ServeStatus): TargetContext["guard"] {
  if (!st.guard) return null;
  const local: { 4: Map<bigint, string>; 6: Map<bigint, string> } = { 4: new Map(), 6: new Map() };
  for (const entry of st.guard.local ?? []) {
    const at = entry.indexOf(": ");
    const a = parseAddress(at < 0 ? entry : entry.slice(0, at));
    if (a) local[a.family].set(a.value, at < 0 ? "address" : entry.slice(at + 2));
  }
  return { privateAnswers: st.guard.privateAnswers === "learn" ? "learn" : "guard", local };
}

/** the deny webhook: an outage loses notifications, never enforcement, so at most warn */
function webhookFinding(st: ServeStatus, add: Add): void {
  const w = st.webhook;
  if (!w) return;
  const counts = `${w.delivered ?? 0} delivered, ${w.failed ?? 0} failed, ${(w.dropped ?? 0) + (w.ratelimited ?? 0)} dropped, ${w.queued ?? 0} waiting`;
  const lost = (w.failed ?? 0) + (w.dropped ?? 0) + (w.ratelimited ?? 0);
  add("serve", "serve.webhook", lost > 0 ? "warn" : "ok", `deny webhook ${w.url ?? "?"}: ${counts}`);
}

function modeFindings(st: ServeStatus, add: Add): void {
  const intended = st.mode ?? "unknown";
  // a mode serve chose is not a failure (it is what serve intends), but below
  // dns+nftables the operator must hear what is left unenforced
  if (intended === "disabled") add("mode", "mode.intended", "warn", "intended mode disabled: NOTHING is enforced: DNS is not intercepted and no packet is filtered");
  else if (intended === "dns-only") add("mode", "mode.intended", "warn", "intended mode dns-only: names are enforced, addresses are NOT: nothing filters packets, so a direct connection to any address goes through");
  else add("mode", "mode.intended", "info", `intended mode ${intended}`);
  for (const r of st.reasons ?? []) add("mode", "mode.reason", "info", `why: ${r}`);
  const measured = st.measuredLevel;
  const findings = st.selfTestFindings ?? [];
  if (!measured) add("mode", "mode.measured", "warn", "no self-test result yet");
  else if ((RANK[measured] ?? -1) < (RANK[intended] ?? -1)) {
    add("mode", "mode.measured", "fail", `the self-test measured ${measured}, below the intended ${intended}: enforcement is weaker than intended`);
    for (const f of findings) add("mode", "mode.selftest", "fail", `self-test: ${f}`);
  } else {
    add("mode", "mode.measured", "ok", `the self-test measured ${measured}`);
    for (const f of findings) add("mode", "mode.selftest", "info", `self-test: ${f}`);
  }
  if (st.audit) add("mode", "mode.audit", "warn", "audit mode: denials are logged, nothing is blocked");
}

function ownKernel(input: DoctorInput): { state: KernelState; sets: ReturnType<typeof readStaticSets> } | null {
  const k = input.kernel;
  if (!k || "error" in k) return null;
  return { state: readKernelState(k.listing, k.chainText), sets: readStaticSets(k.listing) };
}

function kernelSummary(input: DoctorInput, own: ReturnType<typeof ownKernel>): DoctorReport["kernel"] {
  const k = input.kernel;
  if (!k) return null;
  if ("error" in k) return { read: false, error: k.error, present: false, digest: null, filterHooked: false, natHooked: false, guardHooked: false, learnedElements: 0 };
  const s = own!.state;
  return { read: true, error: null, present: s.present, digest: s.digest, filterHooked: s.filterHooked, natHooked: s.natHooked, guardHooked: s.guardHooked, learnedElements: s.learned[4] + s.learned[6] };
}

/**
 * The iptables fallback: each of its chains must be hooked where serve loaded it. The
 * redirect and the guard unhooked are failures (DNS leaves unjudged); the untracking
 * chains unhooked only risk a stale flow carrying a later query past the proxy.
 */
function iptablesFindings(r: IptablesRead, add: Add): void {
  if ("error" in r) {
    add("kernel", "kernel.iptables", "warn", `cannot read the iptables chains: ${r.error}`);
    return;
  }
  const missing = r.hooks.filter((h) => !h.hooked);
  const families = [...new Set(r.hooks.map((h) => `IPv${h.family}`))].join(" and ");
  if (missing.length === 0) {
    add("kernel", "kernel.iptables", "ok", `the iptables chains (redirect, DNS guard, untracking) are hooked for ${families}`);
    return;
  }
  const text = missing.map((h) => `${h.chain} (IPv${h.family})`).join(", ");
  const serious = missing.some((h) => h.chain === IPT_CHAIN || h.chain === IPT_GUARD);
  add("kernel", "kernel.iptables", serious ? "fail" : "warn", `iptables chains NOT hooked: ${text}`);
}

function kernelFindings(input: DoctorInput, st: ServeStatus, own: ReturnType<typeof ownKernel>, add: Add): void {
  const k = input.kernel;
  if (!input.serve.reachable) {
    // no belief to compare with: say what is in force, for the operator
    if (!k) return;
    if ("error" in k) add("kernel", "kernel.read", "warn", `cannot read table inet egressctl: ${k.error}`);
    else if (!own!.state.present) add("kernel", "kernel.table", "info", "table inet egressctl is absent: nftables enforces nothing");
    else add("kernel", "kernel.table", "info", `table inet egressctl stays in force (policy sha256:${short(own!.state.digest)}): a stopped serve leaves its ruleset, so traffic is still filtered but nothing new is learned`);
    return;
  }
  const intended = st.mode ?? "unknown";
  if (!st.kernel) {
    add("kernel", "kernel.serve", "info", intended === "disabled" ? "no kernel state: enforcement is disabled" : "serve does not use an nftables table (iptables redirect): nothing to compare");
    if (input.iptables) iptablesFindings(input.iptables, add);
    return;
  }
  if (st.kernel.matches) add("kernel", "kernel.serve", "ok", "serve reads the kernel table back and it carries the policy serve loaded");
  else add("kernel", "kernel.serve", "fail", `serve reports the kernel table does NOT match its policy (kernel: ${st.kernel.digest ?? "none"})`);
  if (!k) return;
  if ("error" in k) {
    add("kernel", "kernel.read", "warn", `cannot read table inet egressctl here: ${k.error}`);
    return;
  }
  const s = own!.state;
  if (!s.present) {
    add("kernel", "kernel.table", "fail", "table inet egressctl is MISSING");
    return;
  }
  add("kernel", "kernel.table", "ok", `table inet egressctl is present (${s.learned[4] + s.learned[6]} learned element(s))`);
  if (s.natHooked) add("kernel", "kernel.nat", "ok", "DNS redirect chain hooked to nat output");
  else add("kernel", "kernel.nat", "fail", "the DNS redirect chain is NOT hooked to nat output");
  if (s.guardHooked) add("kernel", "kernel.guard", "ok", "DNS guard chain hooked to filter output (port-53 packets leave only through the proxy)");
  else add("kernel", "kernel.guard", "fail", "the DNS guard chain is NOT hooked to filter output: DNS in a flow opened from outside leaves unjudged");
  if (intended === "dns+nftables") {
    if (s.filterHooked) add("kernel", "kernel.filter", "ok", "filter chain hooked to output");
    else add("kernel", "kernel.filter", "fail", "the filter chain is NOT hooked to output: packets are not filtered");
  }
  const want = st.policy?.digest;
  if (want && s.digest === want) add("kernel", "kernel.digest", "ok", `the chains carry serve's policy sha256:${short(want)}`);
  else if (want) add("kernel", "kernel.digest", "fail", `the chains carry policy ${s.digest ? `sha256:${short(s.digest)}` : "none"}, serve loaded sha256:${short(want)}`);
}

function dnsFinding(p: DnsProbe, st: ServeStatus, add: Add): NonNullable<DoctorReport["dns"]> {
  const out = { intercepted: null as boolean | null, name: p.name, target: p.target, rcode: null as string | null, ede: [] as string[], error: null as string | null };
  const sent = `a query for ${p.name} to ${p.target}`;
  if ("error" in p.result) {
    out.error = p.result.error;
    out.intercepted = false;
    add("dns", "dns.intercepted", "fail", `DNS is NOT intercepted: ${sent} got no answer from egressctl (${p.result.error})`);
    return out;
  }
  out.rcode = p.result.rcode;
  out.ede = p.result.ede.map((e) => e.text);
  const ours = p.result.ede.find((e) => e.text.startsWith("blocked by egressctl"));
  if (ours) {
    out.intercepted = true;
    add("dns", "dns.intercepted", "ok", `DNS is intercepted: ${sent} was answered by egressctl (${p.result.rcode}, "${ours.text}")`);
    return out;
  }
  const moved = p.queriesBefore !== null && p.queriesAfter !== null && p.queriesAfter > p.queriesBefore;
  if (st.policy?.defaultAction === "allow" && moved) {
    // an allowed probe name is forwarded, so the answer carries no egressctl EDE
    add("dns", "dns.intercepted", "warn", `probably intercepted: ${sent} was answered ${p.result.rcode} without egressctl's EDE (the policy allows the name, so serve forwarded it) and the proxy's query counter rose`);
    return out;
  }
  out.intercepted = false;
  add("dns", "dns.intercepted", "fail", `DNS is NOT intercepted: ${sent} was answered ${p.result.rcode} by someone else (no "blocked by egressctl" EDE)`);
  return out;
}

function short(d: string | null | undefined): string {
  return d ? d.slice(0, 12) : "none";
}
