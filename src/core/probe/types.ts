// The raw facts probe gathers about the namespace it runs in. Plain data, JSON-safe:
// the effects in src/effects/probe fill it in (reading only), the pure core judges it.
// Every fact that could not be read carries an `error` string instead of throwing, so a
// half-readable /proc still yields a report (and an honest downgrade).

export interface KernelFact {
  release: string | null;
  error?: string;
}

export interface CapabilityFact {
  /** CAP_NET_ADMIN (bit 12) in the effective set */
  netAdmin: boolean;
  /** CapEff from /proc/self/status, as the kernel prints it (hex) */
  effective: string | null;
  error?: string;
}

/** "available" means: usable by egressctl under the current settings (overrides count) */
export interface ToolFact {
  available: boolean;
  /** the library name or binary path that was found */
  path?: string;
  error?: string;
}

export interface NftKernelFact {
  /** the kernel accepted a check-mode transaction (nothing was committed) */
  accepts: boolean;
  /** which backend asked the kernel */
  checkedWith?: "library" | "binary";
  error?: string;
}

export interface NftablesFacts {
  library: ToolFact;
  binary: ToolFact;
  kernel: NftKernelFact;
}

export interface IptablesFacts {
  /** a binary is present (and not disabled by override) */
  available: boolean;
  path?: string;
  variant: "nft" | "legacy" | null;
  /** `iptables -t nat -L -n` succeeded, so a DNS redirect via the nat table can work */
  natUsable: boolean;
  /** why natUsable is believed without listing (legacy: listing would create the table) */
  note?: string;
  error?: string;
}

export interface Ipv6Facts {
  /** IPv6 usable in this namespace: stack present, not disabled, loopback ::1 exists */
  enabled: boolean;
  /** net.ipv6.conf.all.disable_ipv6, null when unreadable or the stack is absent */
  disableIpv6: number | null;
  /** ::1 is configured (on lo) */
  loopback: boolean;
  error?: string;
}

export interface InterfaceFact {
  name: string;
  /** /sys/class/net/NAME/device exists: backed by hardware (or a VM's virtual NIC) */
  physical: boolean;
}

/** Raw inputs for the host-network heuristics (see host-signals.ts and docs/probe.md). */
export interface NetnsFacts {
  interfaces: InterfaceFact[];
  /** interfaces that carry an IPv4 or IPv6 default route */
  defaultRouteInterfaces: string[];
  /** readlink /proc/self/ns/net, e.g. "net:[4026531833]" */
  selfNetns: string | null;
  /** readlink /proc/1/ns/net; null when unreadable (error in pid1NetnsError) */
  pid1Netns: string | null;
  pid1NetnsError?: string;
  /** readlink /proc/self/ns/pid: tells whether PID 1 is the machine's init */
  selfPidns: string | null;
  /** false when /sys/class/net lists other interfaces than /proc/net/dev (sysfs of another namespace) */
  sysfsMatchesNetns: boolean;
  /** EGRESSCTL_ASSUME_SANDBOX=1: the operator says this namespace is a sandbox's */
  assumeSandbox: boolean;
  errors: string[];
}

export interface ProbeFacts {
  kernel: KernelFact;
  capabilities: CapabilityFact;
  nftables: NftablesFacts;
  iptables: IptablesFacts;
  ipv6: Ipv6Facts;
  netns: NetnsFacts;
}
