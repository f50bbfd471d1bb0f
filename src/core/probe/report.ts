// Renders facts + assessment for people (a table) and for scripts (--json). The JSON
// shape is a contract (docs/probe.md): add fields, never rename or remove them without
// raising schemaVersion.
import type { Assessment } from "./assess.ts";
import type { ProbeFacts, ToolFact } from "./types.ts";

export const SCHEMA_VERSION = 1;

export function toJson(f: ProbeFacts, a: Assessment, version: string): object {
  return {
    schemaVersion: SCHEMA_VERSION,
    egressctl: version,
    kernel: f.kernel,
    capabilities: f.capabilities,
    nftables: f.nftables,
    iptables: f.iptables,
    ipv6: f.ipv6,
    hostNetwork: {
      suspected: a.hostNetworkSuspected,
      assumeSandbox: f.netns.assumeSandbox,
      signals: a.hostSignals,
      netns: f.netns.selfNetns,
      interfaces: f.netns.interfaces,
      defaultRouteInterfaces: f.netns.defaultRouteInterfaces,
      errors: f.netns.errors,
    },
    mode: a.mode,
    redirect: a.redirect,
    available: a.available,
    reasons: a.reasons,
    downgrades: a.downgrades,
    refusal: a.refusal ?? null,
  };
}

export function toText(f: ProbeFacts, a: Assessment): string {
  const { nftables: n, iptables: i, ipv6: v6 } = f;
  const fired = a.hostSignals.filter((s) => s.fired).map((s) => s.id);
  const rows: [string, string][] = [
    ["kernel", f.kernel.release ?? `unknown (${f.kernel.error})`],
    ["CAP_NET_ADMIN", f.capabilities.netAdmin ? "yes" : `NO${f.capabilities.error ? ` (${f.capabilities.error})` : ""}`],
    ["nft library", tool(n.library)],
    ["nft binary", tool(n.binary)],
    ["nft kernel", n.kernel.accepts ? `accepts a transaction (checked with ${n.kernel.checkedWith})` : `no: ${n.kernel.error}`],
    ["iptables", i.available ? `yes  ${i.path} (${i.variant ?? "unknown variant"}), nat ${i.natUsable ? "usable" : `unusable: ${i.error}`}` : `no: ${i.error}`],
    ["IPv6", `${v6.enabled ? "yes" : "no"}  (disable_ipv6=${v6.disableIpv6 ?? "?"}, ::1 ${v6.loopback ? "present" : "absent"})`],
    [
      "host network",
      a.hostNetworkSuspected
        ? `SUSPECTED: ${fired.join(", ")}`
        : fired.length ? `signals ${fired.join(", ")} overridden by EGRESSCTL_ASSUME_SANDBOX=1` : "no (looks like a sandbox)",
    ],
  ];
  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  const lines = rows.map(([k, v]) => k.padEnd(width) + v);
  lines.push("", `mode: ${a.mode}`, ...a.reasons.map((r) => `  - ${r}`));
  if (a.refusal) lines.push("", `serve would refuse to run (exit ${a.refusal.exitCode}): ${a.refusal.message}`);
  return lines.join("\n") + "\n";
}

function tool(t: ToolFact): string {
  return t.available ? `yes  ${t.path ?? ""}`.trimEnd() : `no: ${t.error ?? "not found"}`;
}
