// Judging an answer's CNAME/DNAME chain. The query name was allowed, but the answer says
// it is (or lives under) other names: each of those is judged too, and an explicit deny
// rule on any of them denies the whole answer. A chain name that only falls to the
// default action does not deny: CDN chains (www.example.com -> x.cdn-provider.net) run
// through names no policy lists, and a default-deny policy would otherwise break them.
// Pure; called only for answers that have a chain (answer.ts), so plain answers cost
// nothing here.
import type { Decision } from "../policy/types.ts";
import type { Decide } from "./decide.ts";
import { ruleText } from "./decide.ts";

export interface ChainDenial {
  /** the first name of the chain an explicit deny rule covers */
  link: string;
  /** the chain up to that link (the query name first) */
  chain: string[];
  decision: Decision;
  /** "rule egress[2] deny denied.example.com": the words of EDE and logs */
  rule: string;
}

/** The first link after the query name (chain[0]) that an explicit deny rule covers, or null. */
export function judgeChain(chain: readonly string[], decide: Decide): ChainDenial | null {
  for (let i = 1; i < chain.length; i++) {
    const d = decide(chain[i]!);
    if (d.action === "deny" && d.rule) return { link: chain[i]!, chain: chain.slice(0, i + 1), decision: d, rule: ruleText(d) };
  }
  return null;
}

/** EDE text naming the link first, so it survives the EDE's length limit. */
export function chainEde(denial: ChainDenial, qname: string): string {
  return `blocked by egressctl ${denial.rule}: ${denial.link} is in the CNAME/DNAME chain of ${qname}`;
}
