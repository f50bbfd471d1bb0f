// The DNS decision: what to do with one packet from a client. Pure: the policy comes in
// as `decide(name)`, the result is a value the proxy carries out.
//
// - shorter than a header, or a response (QR=1): drop. There is no ID to answer, or
//   answering a response could start a loop between two resolvers.
// - header parses, the rest does not: FORMERR with the header only (12 bytes, so a
//   spoofed source gains no amplification); the client fails at once instead of waiting.
// - opcode other than QUERY: NOTIMP (NOTIFY/UPDATE are not for a stub resolver's proxy).
// - only the first question decides, for every qtype and class. A name with bytes no
//   policy name can contain is denied. Denied: NXDOMAIN (never REFUSED: musl stops its
//   search list on REFUSED), with EDE "Blocked" naming the rule when the query had EDNS.
// - allowed: forward the first question with the client's EDNS options.
// - audit (serve --audit): what would be denied is forwarded like an allowed name, and
//   the action says which rule would have denied it, so it is still reported. Except
//   egressctl's own probe names (probe-names.ts): their local answer is the proof that
//   the redirect holds, for the self-test and doctor alike.
import type { Decision, Layer } from "../policy/types.ts";
import { headerOnlyAnswer, localAnswer, RCODE, upstreamQuery } from "./build.ts";
import { type ParsedQuery, parseQuery } from "./query.ts";
import { HEADER_LEN } from "./wire.ts";
import { isProbeName } from "./probe-names.ts";

export type Decide = (normalisedName: string) => Decision;

export type QueryAction =
  | { kind: "forward"; name: string; qtype: number; qclass: number; q: ParsedQuery; query: Buffer; decision: Decision;
      /** audit only: the rule text that would have denied the name */
      audited?: string }
  | { kind: "answer"; response: Buffer; reason: "denied"; name: string; qtype: number; rule: string; layer: Layer }
  | { kind: "answer"; response: Buffer; reason: "formerr" | "notimp"; detail: string }
  | { kind: "drop"; reason: string };

const ODD_NAME: Decision = Object.freeze({ action: "deny", layer: "policy" });
const ODD_RULE = "name has characters no policy name can match";

export function decideQuery(packet: Buffer, decide: Decide, audit = false): QueryAction {
  if (packet.length < HEADER_LEN) return { kind: "drop", reason: "shorter than a DNS header" };
  if (packet[2]! & 0x80) return { kind: "drop", reason: "a response, not a query" };
  const parsed = parseQuery(packet);
  if (!parsed.ok) return { kind: "answer", response: headerOnlyAnswer(packet, RCODE.FORMERR), reason: "formerr", detail: parsed.reason };
  const q = parsed.q;
  if (q.opcode !== 0) return { kind: "answer", response: localAnswer(packet, q, RCODE.NOTIMP), reason: "notimp", detail: `opcode ${q.opcode}` };
  const decision: Decision = q.odd ? ODD_NAME : decide(q.name);
  let audited: string | undefined;
  if (decision.action !== "allow") {
    const rule = q.odd ? ODD_RULE : ruleText(decision);
    if (!audit || isProbeName(q.name)) {
      const ede = q.odd ? `blocked by egressctl: ${rule}` : `blocked by egressctl ${rule}`;
      return { kind: "answer", response: localAnswer(packet, q, RCODE.NXDOMAIN, ede), reason: "denied", name: q.name, qtype: q.qtype, rule, layer: decision.layer };
    }
    audited = rule;
  }
  return { kind: "forward", name: q.name, qtype: q.qtype, qclass: q.qclass, q, query: upstreamQuery(packet, q), decision, audited };
}

/** "rule egress[2] deny evil.example.com", "deny.always line 3 evil.example.com" or "default deny": the words in EDE and logs. */
export function ruleText(d: Decision): string {
  if (!d.rule) return `default ${d.action}`;
  // an always list's rule: its file and line ("deny.always line 3 evil.example.com")
  if (d.layer !== "policy") return `${d.layer} line ${d.rule.pos?.line ?? "?"} ${d.rule.raw}`;
  return `rule egress[${d.rule.index}] ${d.rule.action} ${d.rule.raw}`;
}
