// Comma-separated address lists from the environment (the DoH blocklist, the exempt
// nameservers): parsed into canonical CIDR texts per family. Bad entries are reported,
// never silently dropped, so a typo is seen; what the caller does with them (refuse, or
// warn and go on) depends on which way the mistake fails.
import { formatCidr, parseCidr, type Family } from "../net/ip.ts";

export interface CidrList {
  /** canonical CIDR texts per family (may overlap; the planner merges them) */
  4: string[];
  6: string[];
}

export const EMPTY_CIDRS: Readonly<CidrList> = Object.freeze({ 4: [], 6: [] });

/** `what` names the list in each problem: "DoH blocklist entry '...' is not ...". */
export function parseCidrList(entries: readonly string[], what: string): { list: CidrList; problems: string[] } {
  const list: CidrList = { 4: [], 6: [] };
  const problems: string[] = [];
  for (const e of entries) {
    const c = parseCidr(e);
    if (!c) problems.push(`${what} entry '${e}' is not an IP address or CIDR`);
    else list[c.family as Family].push(formatCidr(c));
  }
  return { list, problems };
}

/** "a, b,,c" -> ["a", "b", "c"] */
export function splitList(spec: string): string[] {
  return spec.split(",").map((s) => s.trim()).filter(Boolean);
}
