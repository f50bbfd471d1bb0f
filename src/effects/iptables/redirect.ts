// Loads and removes the iptables DNS redirect (DNS-only fallback). Touches only the
// EGRESSCTL-DNS chain and the one OUTPUT rule that jumps to it.
import { IPT_CHAIN, renderIptablesRedirect } from "../../core/ruleset/iptables-redirect.ts";

const FAMILIES = [
  { save: "iptables", restore: "iptables-restore" },
  { save: "ip6tables", restore: "ip6tables-restore" },
] as const;

function run(argv: string[], stdin?: string): { ok: boolean; out: string } {
  const p = Bun.spawnSync(argv, { stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin), stdout: "pipe", stderr: "pipe" });
  return { ok: p.exitCode === 0, out: `${p.stdout.toString()}${p.stderr.toString()}`.trim() };
}

/** Installs (or refreshes) the redirect for IPv4 and, when ip6tables works, IPv6. */
export function installIptablesRedirect(proxyPort: number): { ok: true } | { ok: false; error: string } {
  for (const [i, f] of FAMILIES.entries()) {
    const hooked = run([f.save, "-t", "nat", "-C", "OUTPUT", "-j", IPT_CHAIN]).ok;
    const r = run([f.restore, "--noflush"], renderIptablesRedirect(proxyPort, hooked));
    // IPv6 may legitimately be absent; IPv4 must work
    if (!r.ok && i === 0) return { ok: false, error: `${f.restore}: ${r.out}` };
  }
  return { ok: true };
}

export function removeIptablesRedirect(): void {
  for (const f of FAMILIES) {
    while (run([f.save, "-t", "nat", "-D", "OUTPUT", "-j", IPT_CHAIN]).ok) {
      // a crashed earlier run may have hooked it more than once
    }
    run([f.save, "-t", "nat", "-F", IPT_CHAIN]);
    run([f.save, "-t", "nat", "-X", IPT_CHAIN]);
  }
}
