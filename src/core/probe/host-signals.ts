// Does this network namespace look like the host's rather than a sandbox's? Each
// heuristic is a named signal so the report can say exactly what fired; docs/probe.md
// lists them. Pure: it judges the raw NetnsFacts gathered by src/effects/probe/netns.ts.
import type { NetnsFacts } from "./types.ts";

export type SignalId = "init-netns" | "pid1-netns" | "physical-nic" | "host-device" | "default-route-physical";

export interface HostSignal {
  id: SignalId;
  fired: boolean;
  detail: string;
}

/**
 * Linux 6.18 gave the initial namespaces fixed inode numbers; 0xEFFFFFF9 is the initial
 * network namespace (PROC_NET_INIT_INO). Older kernels allocate it at boot, so there the
 * absence of this value proves nothing.
 */
export const INIT_NETNS = `net:[${0xeffffff9}]`;
/** PROC_PID_INIT_INO: our PID namespace is the machine's, so PID 1 is the real init. */
export const INIT_PIDNS = `pid:[${0xeffffffc}]`;

/**
 * Devices that exist on a container host but not inside a pod or container: bridges
 * (docker0, br-<id>, cni0, virbr0, podman0, lxcbr0), CNI overlay and host-side devices
 * (flannel.1, cali*, vxlan.calico, cilium_*, lxc* veths, weave, kube-ipvs0, kube-bridge,
 * nodelocaldns). Per-namespace fallback devices (tunl0, sit0, ip6tnl0, gre0, ...) are not
 * listed: the kernel creates them in every namespace once their module is loaded.
 */
const HOST_DEVICE = /^(docker0|br-[0-9a-f]{12}|cni0|virbr\d+|podman\d+|lxcbr\d+|flannel\.\d+|cali[0-9a-f]|vxlan\.calico|cilium_|lxc[0-9a-f]|weave|kube-ipvs0|kube-bridge|nodelocaldns)/;

export function hostSignals(n: NetnsFacts): HostSignal[] {
  // sysfs mounted for another namespace would describe the wrong interfaces
  const sysfsNote = n.sysfsMatchesNetns ? "" : " (sysfs belongs to another namespace: not trusted)";
  const physical = n.sysfsMatchesNetns ? n.interfaces.filter((i) => i.physical).map((i) => i.name) : [];
  const hostDevs = n.interfaces.map((i) => i.name).filter((x) => HOST_DEVICE.test(x));
  const routed = n.defaultRouteInterfaces.filter((r) => physical.includes(r));
  const pid1Comparable = n.selfPidns === INIT_PIDNS && n.pid1Netns !== null;
  return [
    {
      id: "init-netns",
      fired: n.selfNetns === INIT_NETNS,
      detail: n.selfNetns === INIT_NETNS
        ? `this is the machine's initial network namespace (${INIT_NETNS})`
        : `this namespace is ${n.selfNetns ?? "unknown"}, not the initial one (${INIT_NETNS} on Linux >= 6.18)`,
    },
    {
      id: "pid1-netns",
      fired: pid1Comparable && n.pid1Netns === n.selfNetns,
      detail: pid1Comparable
        ? `PID 1 (the machine's init) is in ${n.pid1Netns}`
        : n.selfPidns !== INIT_PIDNS
          ? "not compared: PID 1 is this container's own process"
          : `not compared: ${n.pid1NetnsError ?? "PID 1's namespace is unreadable"}`,
    },
    { id: "physical-nic", fired: physical.length > 0, detail: list(physical, "interfaces backed by a device") + sysfsNote },
    { id: "host-device", fired: hostDevs.length > 0, detail: list(hostDevs, "host bridges or CNI devices") },
    {
      id: "default-route-physical",
      fired: routed.length > 0,
      detail: list(routed, "default route via a device-backed interface") + sysfsNote,
    },
  ];
}

function list(names: string[], what: string): string {
  return names.length ? `${what}: ${names.join(", ")}` : `no ${what}`;
}
