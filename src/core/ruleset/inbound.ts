// --inbound-from / EGRESSCTL_INBOUND_FROM: which hosts may open flows into the sandbox and
// be answered. A flow another host opened is a two-way channel: the sandbox's packets in
// it leave in the conntrack reply direction, which `ct state established` would let out
// whatever the policy says about that host. `any` (the default) keeps servers inside the
// sandbox reachable from everywhere, as platforms that run them need; a CIDR list answers
// only those sources; `none` answers nobody outside the namespace. Pure parsing.
import { parseCidrList, splitList, type CidrList } from "./cidr-list.ts";

export const INBOUND_ENV = "EGRESSCTL_INBOUND_FROM";

export type InboundFrom = { kind: "any" } | { kind: "none" } | { kind: "cidrs"; list: CidrList };

export const INBOUND_ANY: InboundFrom = Object.freeze({ kind: "any" });

/** unset or empty: any. `any`, `none` or CIDRs, never a mix; a bad entry is an error (a typo must be seen). */
export function parseInboundFrom(spec: string | undefined): InboundFrom | { error: string } {
  const items = splitList(spec ?? "");
  if (items.length === 0) return INBOUND_ANY;
  const words = items.map((i) => i.toLowerCase());
  if (words.length === 1 && (words[0] === "any" || words[0] === "none")) return { kind: words[0] };
  if (words.some((w) => w === "any" || w === "none")) return { error: `'any' and 'none' stand alone, got '${spec}'` };
  const { list, problems } = parseCidrList(items, "inbound");
  if (problems.length) return { error: problems.join("; ") };
  return { kind: "cidrs", list };
}

/** as /status and doctor show it: "any", "none" or the CIDRs */
export function inboundView(i: InboundFrom): "any" | "none" | string[] {
  return i.kind === "cidrs" ? [...i.list[4], ...i.list[6]] : i.kind;
}
