// The lab's address plan. Only documentation ranges (RFC 5737, RFC 3849) and loopback:
// nothing a lab test sends can ever reach a real host, even by mistake.
export const LAB = {
  /** the veth link between the sandbox and the world */
  sandboxV4: "192.0.2.2",
  worldV4: "192.0.2.1",
  sandboxV6: "2001:db8:1::2",
  worldV6: "2001:db8:1::1",
  /** every address in these ranges is a local "host" of the world namespace */
  hostRangesV4: ["198.51.100.0/24", "203.0.113.0/24"],
  hostRangesV6: ["2001:db8:100::/64", "2001:db8:200::/64"],
  /** the real upstream resolver (Knot) and a second one used for failover tests */
  dnsV4: "198.51.100.53",
  dnsV6: "2001:db8:100::53",
  dns2V4: "198.51.100.54",
  dns2V6: "2001:db8:100::54",
  /** stand-ins for a DoH and a DoT provider */
  dohV4: "203.0.113.143",
  dohV6: "2001:db8:200::143",
  dotV4: "203.0.113.153",
  dotV6: "2001:db8:200::153",
} as const;
