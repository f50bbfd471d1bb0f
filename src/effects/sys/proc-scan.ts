// Reads /proc for the capability scan (src/core/caps/privileged.ts): every process's
// status and network namespace. Read only. A process that ends while it is read is
// skipped; one whose namespace link cannot be read (no ptrace access to it) is kept with
// an unknown namespace, so it is reported rather than missed.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { findPrivileged, parseProcStatus, withAncestors, type PrivilegeScan, type ProcEntry } from "../../core/caps/privileged.ts";

function readProcs(): ProcEntry[] {
  const out: ProcEntry[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    // the namespace first: a process that ends meanwhile must be skipped, not taken for
    // one whose namespace is unreadable
    let netns: string | null = null;
    try {
      netns = readlinkSync(`/proc/${d}/ns/net`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EACCES" && (e as NodeJS.ErrnoException).code !== "EPERM") continue; // gone
    }
    let status: string;
    try {
      status = readFileSync(`/proc/${d}/status`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    const e = parseProcStatus(Number(d), status, netns);
    if (e) out.push(e);
  }
  return out;
}

/**
 * Scans for privileged processes in this process's network namespace. Trusted: this
 * process and its ancestors, and `also` (e.g. serve's PID, for doctor) with its
 * ancestors and its children.
 */
export function scanPrivileged(also: number | null = null): PrivilegeScan {
  const procs = readProcs();
  const byPid = new Map(procs.map((p) => [p.pid, p]));
  const trusted = withAncestors(byPid, process.pid);
  if (also !== null) {
    for (const p of withAncestors(byPid, also)) trusted.add(p);
    for (const p of procs) if (p.ppid === also) trusted.add(p.pid);
  }
  return findPrivileged(procs, readlinkSync("/proc/self/ns/net"), trusted);
}
