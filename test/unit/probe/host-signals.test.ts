// The host-network heuristics, one signal at a time.
import { expect, test } from "bun:test";
import { hostSignals, INIT_NETNS, INIT_PIDNS, type SignalId } from "../../../src/core/probe/host-signals.ts";
import type { NetnsFacts } from "../../../src/core/probe/types.ts";
import { sandboxNetns } from "./fixtures.ts";

function fired(n: NetnsFacts): SignalId[] {
  return hostSignals(n).filter((s) => s.fired).map((s) => s.id);
}
const ifs = (...names: string[]) => names.map((name) => ({ name, physical: name.startsWith("enp") || name === "eth0!" }));

test.each<[string, Partial<NetnsFacts>, SignalId[]]>([
  ["pod: veth eth0, own namespace", {}, []],
  ["initial namespace (Linux >= 6.18)", { selfNetns: INIT_NETNS }, ["init-netns"]],
  ["hostPID and same netns as init", { selfPidns: INIT_PIDNS, pid1Netns: "net:[4026532301]" }, ["pid1-netns"]],
  ["hostPID, own netns", { selfPidns: INIT_PIDNS, pid1Netns: "net:[4026531993]" }, []],
  ["container PID 1 shares our netns: not evidence", { pid1Netns: "net:[4026532301]" }, []],
  ["PID 1 unreadable", { selfPidns: INIT_PIDNS, pid1Netns: null, pid1NetnsError: "EACCES" }, []],
  ["physical NIC", { interfaces: ifs("lo", "enp3s0"), defaultRouteInterfaces: [] }, ["physical-nic"]],
  ["default route via physical NIC", { interfaces: ifs("lo", "enp3s0"), defaultRouteInterfaces: ["enp3s0"] }, ["physical-nic", "default-route-physical"]],
  ["sysfs of another namespace is not trusted", { interfaces: [{ name: "enp3s0", physical: true }], defaultRouteInterfaces: ["enp3s0"], sysfsMatchesNetns: false }, []],
  ["docker host", { interfaces: ifs("lo", "docker0", "br-0123456789ab", "veth1a2b3c") }, ["host-device"]],
  ["kubernetes node (calico)", { interfaces: ifs("lo", "cali1234abcd", "vxlan.calico", "tunl0") }, ["host-device"]],
  ["kubernetes node (cilium)", { interfaces: ifs("lo", "cilium_host", "cilium_net", "lxc12ab") }, ["host-device"]],
  ["flannel / kube-proxy ipvs", { interfaces: ifs("lo", "flannel.1", "cni0", "kube-ipvs0") }, ["host-device"]],
  ["libvirt host", { interfaces: ifs("lo", "virbr0") }, ["host-device"]],
  ["per-namespace fallback tunnels are not host devices", { interfaces: ifs("lo", "tunl0", "sit0", "ip6tnl0", "gre0", "eth0") }, []],
  ["a pod interface named like calico's would need hex: 'calix' is not", { interfaces: ifs("lo", "calix") }, []],
])("%s", (_name, over, want) => {
  expect(fired(sandboxNetns(over))).toEqual(want);
});

test("every signal carries a detail, fired or not", () => {
  for (const s of hostSignals(sandboxNetns())) expect(s.detail.length).toBeGreaterThan(0);
});

test("init-netns is the fixed inode 0xEFFFFFF9", () => {
  expect(INIT_NETNS).toBe("net:[4026531833]");
});
