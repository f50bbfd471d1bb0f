// Builds DNS messages for the unit tests with dns-packet (an independent encoder), so
// the proxy's own wire code is checked against someone else's reading of RFC 1035.
import * as dnsPacket from "dns-packet";
import type { Decision, Rule } from "../../../src/core/policy/types.ts";

export function query(name: string, type = "A", opts: { id?: number; edns?: boolean; rd?: boolean } = {}): Buffer {
  return dnsPacket.encode({
    type: "query",
    id: opts.id ?? 0x1234,
    flags: opts.rd === false ? 0 : dnsPacket.RECURSION_DESIRED,
    questions: [{ type: type as "A", name }],
    additionals: opts.edns ? [{ type: "OPT", name: ".", udpPayloadSize: 4096, flags: 0, options: [] } as unknown as dnsPacket.Answer] : [],
  });
}

export function rule(index: number, action: "allow" | "deny", raw: string): Rule {
  return { index, action, raw, kind: raw.startsWith("*.") ? "wildcard" : "exact", target: raw, name: raw.replace(/^\*\./, "") };
}

/** A decide() over a plain map: listed names get their rule, others the default. */
export function decider(rules: Rule[], fallback: "allow" | "deny" = "deny"): (n: string) => Decision {
  return (n) => {
    const r = rules.find((x) => x.name === n);
    return r ? { action: r.action, rule: r, layer: "policy" } : { action: fallback, layer: "policy" };
  };
}

/** Reads the EDE option (code 15) out of a response's OPT record, or null. */
export function ede(resp: Buffer): { code: number; text: string } | null {
  const d = dnsPacket.decode(resp);
  for (const a of d.additionals ?? []) {
    if (a.type !== "OPT") continue;
    for (const o of (a as unknown as { options: { code: number; data: Buffer }[] }).options) {
      if (o.code === 15) return { code: o.data.readUInt16BE(0), text: o.data.subarray(2).toString("utf8") };
    }
  }
  return null;
}

export { dnsPacket };
