// Which processes beside serve could bypass egressctl from inside the namespace: those
// holding CAP_NET_RAW (an AF_PACKET socket sends frames below netfilter; SO_MARK forges
// the proxy's exemption) or CAP_NET_ADMIN (rewrites the ruleset) in their effective set,
// or in their bounding set (an exec of a file with those capabilities gains them). Only
// visible where serve shares the PID namespace with the application. Pure: parsed
// /proc entries in, findings out; the effects read /proc (src/effects/sys/proc-scan.ts).
export const CAP_NET_ADMIN = 12n;
const CAP_NET_RAW = 13n;
const NET_CAPS = [[CAP_NET_ADMIN, "NET_ADMIN"], [CAP_NET_RAW, "NET_RAW"]] as const;
/** the names of NET_ADMIN and NET_RAW among the bits of a capability set */
const netCaps = (set: bigint) => NET_CAPS.filter(([bit]) => (set >> bit) & 1n).map(([, n]) => n);

export interface ProcEntry {
  pid: number;
  ppid: number;
  name: string;
  uid: number;
  state: string;
  capEff: bigint;
  capBnd: bigint;
  /** the network namespace's identity (`net:[4026532...]`), null when it cannot be read */
  netns: string | null;
}

export interface PrivilegedProcess {
  pid: number;
  name: string;
  uid: number;
  /** the capabilities found, with where: effective, or only bounding (can be regained by exec) */
  effective: ("NET_ADMIN" | "NET_RAW")[];
  bounding: ("NET_ADMIN" | "NET_RAW")[];
  /** false: its network namespace could not be read (no ptrace access), so it may share serve's */
  netnsKnown: boolean;
}

export interface PrivilegeScan {
  /** processes examined: in serve's network namespace (or unknown), not trusted ones */
  examined: number;
  found: PrivilegedProcess[];
}

/** `/proc/PID/status` text → the fields a scan needs; null when it is not one */
export function parseProcStatus(pid: number, text: string, netns: string | null): ProcEntry | null {
  const f = new Map<string, string>();
  for (const line of text.split("\n")) {
    const i = line.indexOf(":");
    if (i > 0) f.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  const hex = (k: string) => (/^[0-9a-f]+$/i.test(f.get(k) ?? "") ? BigInt(`0x${f.get(k)}`) : null);
  const capEff = hex("CapEff");
  const capBnd = hex("CapBnd");
  if (capEff === null || capBnd === null) return null;
  return {
    pid,
    ppid: Number(f.get("PPid") ?? 0),
    name: f.get("Name") ?? "?",
    uid: Number((f.get("Uid") ?? "0").split(/\s+/)[1] ?? 0), // the effective uid
    state: (f.get("State") ?? "?").slice(0, 1),
    capEff,
    capBnd,
    netns,
  };
}

/** pid and every ancestor of it that `procs` holds */
export function withAncestors(procs: ReadonlyMap<number, ProcEntry>, pid: number): Set<number> {
  const out = new Set<number>();
  for (let p: number | undefined = pid; p && !out.has(p); p = procs.get(p)?.ppid) out.add(p);
  return out;
}

/**
 * Processes in `netns` (or whose namespace is unknown) holding NET_RAW or NET_ADMIN,
 * except the `trusted` ones (the scanner and its ancestors, serve and its ancestors and
 * children: whoever started serve gave it NET_ADMIN, so holds it too). Zombies and kernel
 * threads cannot act and are skipped.
 */
export function findPrivileged(procs: readonly ProcEntry[], netns: string, trusted: ReadonlySet<number>): PrivilegeScan {
  const found: PrivilegedProcess[] = [];
  let examined = 0;
  for (const p of procs) {
    if (trusted.has(p.pid) || p.state === "Z" || p.pid === 2 || p.ppid === 2) continue;
    if (p.netns !== null && p.netns !== netns) continue;
    examined++;
    const effective = netCaps(p.capEff);
    const bounding = netCaps(p.capBnd).filter((c) => !effective.includes(c));
    if (effective.length || bounding.length) found.push({ pid: p.pid, name: p.name, uid: p.uid, effective, bounding, netnsKnown: p.netns !== null });
  }
  return { examined, found };
}

/** one line per process, for logs and doctor */
export function describePrivileged(p: PrivilegedProcess): string {
  const held = [...p.effective.map((c) => `${c} (effective)`), ...p.bounding.map((c) => `${c} (bounding set: regained by exec)`)];
  return `pid ${p.pid} (${p.name}, uid ${p.uid}) holds ${held.join(", ")}${p.netnsKnown ? "" : "; its network namespace could not be read"}`;
}
