// doctor's report for people: one section per subject, one line per finding, marked
// ok / FAIL / warn / info, then the explanations and a closing verdict. Pure.
import { SECTIONS, type DoctorReport, type Status } from "./report.ts";
import type { TargetExplanation } from "./targets.ts";

const MARK: Record<Status, string> = { ok: "ok  ", fail: "FAIL", warn: "warn", info: "info" };

export function reportText(r: DoctorReport): string {
  const out: string[] = [];
  for (const section of SECTIONS) {
    const fs = r.findings.filter((f) => f.section === section);
    if (fs.length === 0) continue;
    out.push(section);
    for (const f of fs) out.push(`  ${MARK[f.status]}  ${f.message}`);
    if (section === "violations") for (const v of r.violations) out.push(`        ${violationLine(v)}`);
  }
  if (r.explanations.length) {
    out.push("explain");
    for (const e of r.explanations) out.push(...explanationLines(e));
  }
  const fails = r.findings.filter((f) => f.status === "fail").length;
  out.push("", r.ok ? "result: ok" : `result: FAIL (${fails} problem${fails === 1 ? "" : "s"})`);
  return `${out.join("\n")}\n`;
}

function violationLine(v: Record<string, unknown>): string {
  const at = String(v.at ?? "");
  if (v.event === "dns.denied") return `${at}  dns.denied  ${v.name} ${v.qtype ?? ""}  (${v.rule}${v.link ? `, via ${v.link}` : ""})  from ${v.client}`;
  if (v.event === "dns.guarded") {
    const list = Array.isArray(v.addresses) ? (v.addresses as { address: string }[]).map((a) => a.address).join(", ") : "";
    return `${at}  dns.guarded  ${v.name}  not learned: ${list} (non-public)  from ${v.client}`;
  }
  if (v.event === "net.denied") {
    const name = v.name ? `  learned from ${v.name}` : "";
    return `${at}  net.denied  ${v.destination} ${v.protocol}/${v.port}${name}`;
  }
  return `${at}  ${JSON.stringify(v)}`;
}

function explanationLines(e: TargetExplanation): string[] {
  const lines = [`  ${e.query}: ${e.verdict.toUpperCase()} (${e.basis}): ${e.reason}`];
  if (e.kind === "name") {
    if (e.learned.length === 0 && e.name) lines.push("        learned: no addresses");
    for (const l of e.learned) {
      const k = l.inKernel === null ? "" : l.inKernel ? ", in the kernel set" : ", NOT in the kernel set";
      lines.push(`        learned ${l.address} (IPv${l.family}), expires in ${l.expiresInSec} s${k}`);
    }
  } else {
    if (e.sets.length) lines.push(`        in sets: ${e.sets.join(", ")}`);
    for (const l of e.learnedAs) lines.push(`        learned under ${l.name} (${l.source}), expires in ${l.expiresInSec} s`);
  }
  // what the file says, where something else decided (the kernel, or a mode that enforces less)
  if (e.policy && e.basis !== "policy-file" && e.basis !== "not-intercepted") lines.push(`        --policy: ${e.policy.reason}`);
  for (const n of e.notes) lines.push(`        note: ${n}`);
  return lines;
}
