// Loads and removes the iptables DNS redirect (DNS-only fallback). Touches only our
// chains (EGRESSCTL-DNS in nat, EGRESSCTL-NOTRACK-OUT/-IN in raw, EGRESSCTL-DNS-GUARD
// in filter) and the one rule in each built-in chain that jumps to them.
import type { CidrList } from "../../core/ruleset/cidr-list.ts";
import { IPT_HOOKS, renderIptablesRedirect, type IptablesChain } from "../../core/ruleset/iptables-redirect.ts";

const FAMILIES = [
  { family: 4, save: "iptables", restore: "iptables-restore" },
  { family: 6, save: "ip6tables", restore: "ip6tables-restore" },
] as const;

function run(argv: string[], stdin?: string): { ok: boolean; code: number | null; out: string } {
  const p = Bun.spawnSync(argv, { stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin), stdout: "pipe", stderr: "pipe" });
  return { ok: p.exitCode === 0, code: p.exitCode, out: `${p.stdout.toString()}${p.stderr.toString()}`.trim() };
}

/**
 * Installs (or refreshes) the redirect for IPv4 and IPv6. Where IPv6 is enabled its
 * redirect must load too: otherwise DNS over IPv6 would leave unjudged while serve
 * reported dns-only. (-w everywhere: the xtables lock is shared by every namespace.)
 */
export function installIptablesRedirect(proxyPort: number, ipv6: boolean, exempt: CidrList): { ok: true } | { ok: false; error: string } {
  for (const f of FAMILIES) {
    if (f.family === 6 && !ipv6) continue;
    const hooked = new Set<IptablesChain>(IPT_HOOKS.filter((h) => checkHook(f.save, h).ok).map((h) => h.chain));
    const r = run([f.restore, "-w", "--noflush"], renderIptablesRedirect(f.family, proxyPort, hooked, exempt[f.family]));
    if (!r.ok) return { ok: false, error: `${f.restore}: ${r.out}` };
  }
  return { ok: true };
}

/**
 * Which of our chains are hooked, per family (IPv6 only where `ipv6`): what doctor checks
 * in the fallback. An error when iptables cannot tell (not root, no binary, the lock
 * held for 5 s): `-C` exits 1 for a missing rule and 2 for a missing chain, 4 when the
 * rule set cannot be read at all.
 */
export function iptablesHooks(ipv6: boolean): { family: 4 | 6; chain: IptablesChain; hooked: boolean }[] | { error: string } {
  const out: { family: 4 | 6; chain: IptablesChain; hooked: boolean }[] = [];
  try {
    for (const f of FAMILIES.filter((f) => f.family === 4 || ipv6)) {
      for (const h of IPT_HOOKS) {
        const p = checkHook(f.save, h, ["-w", "5"]);
        if (p.code !== 0 && p.code !== 1 && p.code !== 2) return { error: `${f.save}: ${p.out || `exit ${p.code}`}` };
        out.push({ family: f.family, chain: h.chain, hooked: p.ok });
      }
    }
  } catch (e) {
    return { error: (e as Error).message };
  }
  return out;
}

/** Whether any chain of ours is hooked in either family (left by an earlier serve). */
export function iptablesRedirectPresent(): boolean {
  return FAMILIES.some((f) => IPT_HOOKS.some((h) => checkHook(f.save, h).ok));
}

/** `-C` for the jump to our chain: exit 0 hooked, 1 no such rule, 2 no such chain */
function checkHook(binary: string, h: (typeof IPT_HOOKS)[number], wait: string[] = ["-w"]): ReturnType<typeof run> {
  return run([binary, ...wait, "-t", h.table, "-C", h.hook, "-j", h.chain]);
}

export function removeIptablesRedirect(): void {
  for (const f of FAMILIES) {
    for (const h of IPT_HOOKS) {
      while (run([f.save, "-w", "-t", h.table, "-D", h.hook, "-j", h.chain]).ok) {
        // a crashed earlier run may have hooked it more than once
      }
      run([f.save, "-w", "-t", h.table, "-F", h.chain]);
      run([f.save, "-w", "-t", h.table, "-X", h.chain]);
    }
  }
}
