// Raw inputs for the host-network heuristics (judged in src/core/probe/host-signals.ts).
// Interface names come from /proc/net/dev, which always follows the reader's network
// namespace; /sys/class/net only does when sysfs was mounted in this namespace (as
// `ip netns exec` and container runtimes do), so the two are cross-checked.
import { existsSync } from "node:fs";
import type { NetnsFacts } from "../../core/probe/types.ts";
import { listDir, readLink, readText } from "./read.ts";

const RTF_REJECT = 0x0200;

export function netnsFacts(env: { assumeSandbox: boolean }): NetnsFacts {
  const errors: string[] = [];
  const dev = readText("/proc/net/dev");
  const names = dev.ok ? parseProcNetDev(dev.value) : (errors.push(`/proc/net/dev: ${dev.error}`), []);
  const sys = listDir("/sys/class/net");
  if (!sys.ok) errors.push(`/sys/class/net: ${sys.error}`);
  const sysNames = sys.ok ? sys.value.filter((n) => n !== "bonding_masters") : [];
  const sysfsMatchesNetns = sys.ok && sameSet(names, sysNames);
  const interfaces = names.map((name) => ({ name, physical: sysfsMatchesNetns && existsSync(`/sys/class/net/${name}/device`) }));

  const routes = new Set<string>();
  const r4 = readText("/proc/net/route");
  if (r4.ok) for (const i of defaultRoutes4(r4.value)) routes.add(i);
  else errors.push(`/proc/net/route: ${r4.error}`);
  const r6 = readText("/proc/net/ipv6_route");
  if (r6.ok) for (const i of defaultRoutes6(r6.value)) routes.add(i);

  const self = readLink("/proc/self/ns/net");
  if (!self.ok) errors.push(`/proc/self/ns/net: ${self.error}`);
  const pid1 = readLink("/proc/1/ns/net");
  const pidns = readLink("/proc/self/ns/pid");
  const facts: NetnsFacts = {
    interfaces,
    defaultRouteInterfaces: [...routes],
    selfNetns: self.ok ? self.value : null,
    pid1Netns: pid1.ok ? pid1.value : null,
    selfPidns: pidns.ok ? pidns.value : null,
    sysfsMatchesNetns,
    assumeSandbox: env.assumeSandbox,
    errors,
  };
  if (!pid1.ok) facts.pid1NetnsError = `/proc/1/ns/net: ${pid1.error}`;
  return facts;
}

/** Interface names from /proc/net/dev (two header lines, then "  name: counters"). */
export function parseProcNetDev(text: string): string[] {
  return text.split("\n").slice(2).map((l) => l.split(":")[0]!.trim()).filter((n) => n !== "");
}

/** Interfaces of IPv4 default routes: destination and mask both 0. */
export function defaultRoutes4(text: string): string[] {
  return text.split("\n").slice(1).map((l) => l.trim().split(/\s+/))
    .filter((c) => c.length >= 8 && c[1] === "00000000" && c[7] === "00000000")
    .map((c) => c[0]!);
}

/** Interfaces of IPv6 default routes (::/0), leaving out the unreachable ones on lo. */
export function defaultRoutes6(text: string): string[] {
  return text.split("\n").map((l) => l.trim().split(/\s+/))
    .filter((c) => c.length >= 10 && /^0{32}$/.test(c[0]!) && c[1] === "00")
    .filter((c) => (parseInt(c[8]!, 16) & RTF_REJECT) === 0 && c[9] !== "lo")
    .map((c) => c[9]!);
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
