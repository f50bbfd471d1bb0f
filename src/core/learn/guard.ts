// The address guard: which addresses of an allowed answer may be learned (and so opened
// on every port). Two reasons not to:
//   - an explicit deny rule covers the address (the DNS-rebinding guard of old): the
//     policy said no to that address whatever name leads to it;
//   - the address is not public (src/core/net/special.ts: loopback, private, link-local
//     incl. cloud metadata, ULA, multicast, reserved, their IPv6 embeddings, and this
//     namespace's own addresses and gateways): a name, often under a wildcard anyone can
//     add records to, must not open internal networks. Only an explicit allow rule
//     covering the address (and no deny rule: with "deny wins", the matcher already says
//     deny then) opens it, or `privateAnswers: "learn"` (EGRESSCTL_PRIVATE_ANSWERS).
// The answer itself is passed on untouched; an address not learned stays closed, so the
// application's connection is refused at once. The default action is no reason either
// way: with defaultAction deny every learned address would otherwise be refused, and
// with defaultAction allow the filter opens every address anyway, so the non-public
// check has nothing to add there and stays quiet.
// Pure: a function of (address, context); the verdict is cached per address text.
import type { LearnedAddress } from "../dns/answer.ts";
import type { AddressMatcher } from "../net/intervals.ts";
import { parseAddress } from "../net/ip.ts";
import { nonPublic, type LocalAddresses } from "../net/special.ts";
import type { Action, Decision } from "../policy/types.ts";

export type GuardVerdict =
  | { readonly learn: true }
  | { readonly learn: false; readonly why: "deny-rule"; readonly rule: string }
  | { readonly learn: false; readonly why: "non-public"; readonly reason: string };

/** `name`: the allowed query name the answer is for (for exemptions by name) */
export type AddressGuard = (a: LearnedAddress, name: string) => GuardVerdict;

export type PrivateAnswers = "guard" | "learn";

export interface GuardContext {
  /** the policy's address matcher (explicit rules; default action when none covers) */
  matchAddress: AddressMatcher;
  defaultAction: Action;
  /** "learn": non-public answers are learned like any other (EGRESSCTL_PRIVATE_ANSWERS) */
  privateAnswers: PrivateAnswers;
  /** the namespace's own addresses and gateways, as read last */
  local: LocalAddresses;
  /**
   * Names whose non-public answers are learned all the same (an operator's trusted list);
   * consulted only for a non-public verdict, so it costs nothing otherwise.
   */
  trusted?: (name: string) => boolean;
}

const LEARN: GuardVerdict = Object.freeze({ learn: true });

/**
 * The names whose non-public answers are learned (GuardContext.trusted): those an
 * operator lists exactly in allow.always, such as an in-cluster service whose ClusterIP
 * is private. The trust is for names, not zones: a wildcard there (`*.svc.cluster.local`,
 * or a public zone where anyone may add records) still allows, but its answers stay
 * guarded; and a name the user's policy allows is always guarded, since the sandbox's
 * user chose it.
 */
export function trustedName(d: Decision): boolean {
  return d.action === "allow" && d.layer === "allow.always" && d.rule?.kind === "exact";
}

/** addresses whose verdict is remembered per guard (rebuilt with the policy and the local addresses) */
export const GUARD_CACHE = 8192;

export function compileGuard(ctx: GuardContext): AddressGuard {
  const judge = judgeAddress(ctx);
  // The same addresses come back answer after answer. Bounded: when full it starts
  // over, which costs a re-judgement, never a wrong verdict.
  const verdicts = new Map<string, GuardVerdict>();
  return (a, name) => {
    let v = verdicts.get(a.address);
    if (v === undefined) {
      v = judge(a.address);
      if (verdicts.size >= GUARD_CACHE) verdicts.clear();
      verdicts.set(a.address, v);
    }
    return !v.learn && v.why === "non-public" && ctx.trusted?.(name) ? LEARN : v;
  };
}

/** The uncached verdict for one address text. */
function judgeAddress(ctx: GuardContext): (address: string) => GuardVerdict {
  const checkPublic = ctx.privateAnswers === "guard" && ctx.defaultAction === "deny";
  return (address) => {
    const parsed = parseAddress(address);
    if (!parsed) return Object.freeze({ learn: false, why: "non-public", reason: "not an IP address" });
    const d = ctx.matchAddress(parsed);
    if (d.rule && d.action === "deny") return Object.freeze({ learn: false, why: "deny-rule", rule: `egress[${d.rule.index}] deny ${d.rule.raw}` });
    if (!checkPublic || (d.rule && d.action === "allow")) return LEARN;
    const reason = nonPublic(parsed, ctx.local);
    return reason ? Object.freeze({ learn: false, why: "non-public", reason }) : LEARN;
  };
}
