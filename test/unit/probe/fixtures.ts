// Fact builders for the probe unit tests: a healthy sandbox namespace, plus named
// deviations, so each table row says only what differs.
import { INIT_NETNS, INIT_PIDNS } from "../../../src/core/probe/host-signals.ts";
import type { NetnsFacts, ProbeFacts } from "../../../src/core/probe/types.ts";

export function sandboxNetns(over: Partial<NetnsFacts> = {}): NetnsFacts {
  return {
    interfaces: [{ name: "lo", physical: false }, { name: "eth0", physical: false }],
    defaultRouteInterfaces: ["eth0"],
    selfNetns: "net:[4026532301]",
    pid1Netns: "net:[4026532301]",
    selfPidns: "pid:[4026532299]",
    sysfsMatchesNetns: true,
    assumeSandbox: false,
    errors: [],
    ...over,
  };
}

export function healthy(): ProbeFacts {
  return {
    kernel: { release: "6.18.0" },
    capabilities: { netAdmin: true, effective: "000001ffffffffff" },
    nftables: {
      library: { available: true, path: "libnftables.so.1" },
      binary: { available: true, path: "/usr/sbin/nft" },
      kernel: { accepts: true, checkedWith: "library" },
    },
    iptables: { available: true, path: "/usr/sbin/iptables", variant: "nft", natUsable: true },
    ipv6: { enabled: true, disableIpv6: 0, loopback: true },
    netns: sandboxNetns(),
  };
}

type Tweak = (f: ProbeFacts) => void;

export const noCap: Tweak = (f) => (f.capabilities = { netAdmin: false, effective: "0000000000000000" });
export const noLib: Tweak = (f) => (f.nftables.library = { available: false, error: "unavailable (disabled by EGRESSCTL_NFT_BACKEND=none)" });
export const noNftBin: Tweak = (f) => (f.nftables.binary = { available: false, error: "no nft binary on PATH" });
export const kernelRefuses: Tweak = (f) => (f.nftables.kernel = { accepts: false, checkedWith: "binary", error: "Error: Could not process rule: No such file or directory" });
export const noIptables: Tweak = (f) => (f.iptables = { available: false, variant: null, natUsable: false, error: "unavailable (disabled by EGRESSCTL_IPTABLES=none)" });
export const iptNatBroken: Tweak = (f) => (f.iptables = { ...f.iptables, natUsable: false, error: "can't initialize iptables table `nat'" });
export const noIpv6: Tweak = (f) => (f.ipv6 = { enabled: false, disableIpv6: 1, loopback: false, error: "net.ipv6.conf.all.disable_ipv6=1" });
export const hostNs: Tweak = (f) =>
  (f.netns = sandboxNetns({ selfNetns: INIT_NETNS, selfPidns: INIT_PIDNS, pid1Netns: INIT_NETNS, interfaces: [{ name: "lo", physical: false }, { name: "eth0", physical: true }] }));
export const assumeSandbox: Tweak = (f) => (f.netns.assumeSandbox = true);

export function facts(...tweaks: Tweak[]): ProbeFacts {
  const f = healthy();
  for (const t of tweaks) t(f);
  return f;
}
