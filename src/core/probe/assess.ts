// The one decision probe and serve share: given the raw facts of this namespace and what
// the operator asked for, which enforcement mode runs, why every stronger mode was not
// picked, and whether to refuse instead (exit 4). Pure: facts in, a value out.
import { hostSignals, type HostSignal } from "./host-signals.ts";
import { MODES, strength, type Mode } from "./modes.ts";
import type { ProbeFacts } from "./types.ts";
import { unavailability } from "./availability.ts";

export interface AssessOptions {
  /** the policy's require_full_isolation: anything less than dns+nftables is refused */
  requireFullIsolation?: boolean;
  /** --mode / --require; "auto" picks the strongest available */
  wantMode?: Mode | "auto";
  /** --allow-host-network: run even where the namespace looks like the host's */
  allowHostNetwork?: boolean;
}

export interface Downgrade {
  from: Mode;
  to: Mode;
  reason: string;
}

export interface Assessment {
  mode: Mode;
  /** how DNS would be redirected to the proxy; null when disabled */
  redirect: "nftables" | "iptables" | null;
  available: Mode[];
  reasons: string[];
  downgrades: Downgrade[];
  hostNetworkSuspected: boolean;
  hostSignals: HostSignal[];
  refusal?: { exitCode: 4; message: string };
}

export function assess(facts: ProbeFacts, opts: AssessOptions = {}): Assessment {
  const why = unavailability(facts);
  const available = MODES.filter((m) => why[m] === null);
  const best = available[available.length - 1]!;
  const want = opts.wantMode ?? "auto";
  const reasons: string[] = [];
  const refusals: string[] = [];
  const downgrades = downgradesTo(best, why);
  for (const d of downgrades) reasons.push(`${d.from} -> ${d.to}: ${d.reason}`);

  let mode = best;
  if (want !== "auto") {
    if (why[want] !== null) refusals.push(`mode ${want} was required but is unavailable: ${why[want]}`);
    else if (want !== best) {
      mode = want;
      reasons.push(`mode ${want} was asked for (${best} is available)`);
    }
  }
  if (opts.requireFullIsolation && mode !== "dns+nftables") {
    refusals.push(`require_full_isolation is set, but only ${mode} can run here`);
  }
  const redirect = mode === "disabled" ? null : why["dns+nftables"] === null ? "nftables" : "iptables";
  reasons.push(describe(mode, redirect, facts));
  if (!facts.ipv6.enabled) reasons.push(`IPv6 is off here (${facts.ipv6.error ?? "disabled or no ::1"}): only IPv4 is enforced`);

  const signals = hostSignals(facts.netns);
  const fired = signals.filter((s) => s.fired);
  const firedText = fired.map((s) => `${s.id}: ${s.detail}`).join("; ");
  const suspected = fired.length > 0 && !facts.netns.assumeSandbox;
  if (fired.length > 0 && facts.netns.assumeSandbox) {
    reasons.push(`host-network signals fired (${firedText}) but EGRESSCTL_ASSUME_SANDBOX=1 says this is a sandbox`);
  } else if (suspected && opts.allowHostNetwork) {
    reasons.push(`this looks like the host's network namespace (${firedText}); allowed by --allow-host-network`);
  } else if (suspected) {
    refusals.push(
      `this looks like the host's network namespace (${firedText}); egressctl would firewall the host. ` +
        "Run it in the sandbox's namespace, or set EGRESSCTL_ASSUME_SANDBOX=1 (this is a sandbox) or pass --allow-host-network (firewall this namespace anyway)",
    );
  }
  const result: Assessment = { mode, redirect, available, reasons, downgrades, hostNetworkSuspected: suspected, hostSignals: signals };
  if (refusals.length) result.refusal = { exitCode: 4, message: refusals.join("; ") };
  return result;
}

/** The steps from the strongest mode down to `best`, one per distinct reason. */
function downgradesTo(best: Mode, why: Record<Mode, string | null>): Downgrade[] {
  const out: Downgrade[] = [];
  let from: Mode = "dns+nftables";
  for (let s = strength(from) - 1; s >= strength(best); s--) {
    const to = MODES[s]!;
    // skip a step whose reason is the same as the next one's (no CAP_NET_ADMIN blocks both)
    if (to !== best && why[to] === why[from]) continue;
    out.push({ from, to, reason: why[from]! });
    from = to;
  }
  return out;
}

function describe(mode: Mode, redirect: Assessment["redirect"], f: ProbeFacts): string {
  if (mode === "disabled") return "disabled: NOTHING is enforced; DNS is not redirected and no packet is filtered";
  const via = redirect === "nftables"
    ? `nftables (${f.nftables.kernel.checkedWith ?? "unknown"} backend)`
    : `iptables nat (${f.iptables.variant ?? "unknown"} variant)`;
  const l2 = mode === "dns+nftables" ? "; the nftables filter drops every destination not allowed" : "; no packet filter, so direct connections to IPs are NOT blocked";
  return `${mode}: DNS redirected via ${via}${l2}`;
}
