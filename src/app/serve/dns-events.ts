// Turns the proxy's events into log lines, /violations entries and the per-layer
// decision counts of /status. Denials are rate-limited per name in the log but always
// counted and always kept in the ring. Allowed resolutions are logged as dns.allowed
// (OpenSandbox logs each one as "egress outbound"), except names in log_skip.always,
// rate-limited by a limiter of their own so they can never crowd denials out of the log.
import { ruleText } from "../../core/dns/decide.ts";
import { isProbeName } from "../../core/dns/probe-names.ts";
import { createLogLimiter } from "../../core/events/rate-limit.ts";
import type { Ring } from "../../core/events/ring.ts";
import type { Layer } from "../../core/policy/types.ts";
import type { DnsEvent } from "../../effects/dns/events.ts";
import { LIMIT_GLOBAL, LIMIT_PER_KEY, type EventLog } from "../../effects/log/events.ts";

const QTYPES: Record<number, string> = { 1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA", 33: "SRV", 64: "SVCB", 65: "HTTPS", 255: "ANY" };
export const qtypeName = (t: number) => QTYPES[t] ?? `TYPE${t}`;

/** how many names each layer decided, allowed and denied (/status `always.decisions`) */
export type LayerCounts = Record<Layer, { allowed: number; denied: number }>;
export const newLayerCounts = (): LayerCounts => ({
  "deny.always": { allowed: 0, denied: 0 },
  "allow.always": { allowed: 0, denied: 0 },
  policy: { allowed: 0, denied: 0 },
});

export interface DnsEventSinks {
  log: EventLog;
  violations: Ring<Record<string, unknown>>;
  /** told each denied name (the deny webhook), after the log and the ring */
  denied?: (name: string) => void;
  /** log_skip.always of the lists in force */
  logSkip: () => (name: string) => boolean;
  counts: LayerCounts;
  now?: () => number;
}

/** One sink per serve: it owns the dns.allowed limiter. */
export function dnsEventSink(s: DnsEventSinks): (ev: DnsEvent) => void {
  const allowedLimiter = createLogLimiter({ perKey: LIMIT_PER_KEY, global: LIMIT_GLOBAL });
  const now = s.now ?? Date.now;
  const { log, violations } = s;
  return (ev) => {
    switch (ev.type) {
      case "dns.allowed": {
        s.counts[ev.decision.layer].allowed++;
        if (s.logSkip()(ev.name)) return;
        const a = allowedLimiter.admit(ev.name, now());
        if (a === null) return;
        const extra = { ...(a.suppressed ? { suppressed: a.suppressed } : {}), ...(a.suppressedGlobal ? { suppressedGlobal: a.suppressedGlobal } : {}) };
        const addresses = ev.addresses.map((x) => x.address);
        return log.emit("dns.allowed", { name: ev.name, qtype: qtypeName(ev.qtype), addresses, rule: ruleText(ev.decision), layer: ev.decision.layer, client: ev.client, ...extra });
      }
      case "dns.denied": {
        if (isProbeName(ev.name)) return; // the self-test's and doctor's: expected denials
        s.counts[ev.layer].denied++;
        const audit = ev.audit ? { audit: true } : {};
        // denied for a name of its CNAME/DNAME chain: which one, and the chain up to it
        const chain = ev.link ? { link: ev.link, chain: ev.chain } : {};
        const rec = { event: ev.type, at: new Date().toISOString(), name: ev.name, qtype: qtypeName(ev.qtype), rule: ev.rule, layer: ev.layer, client: ev.client, ...chain, ...audit };
        violations.push(rec);
        s.denied?.(ev.name);
        log.emitLimited(ev.name, ev.type, { name: ev.name, qtype: rec.qtype, rule: ev.rule, layer: ev.layer, client: ev.client, ...chain, ...audit }, "warn");
        return;
      }
      case "dns.guarded": {
        // an allowed name whose answer named non-public addresses: passed on, not learned
        const audit = ev.audit ? { audit: true } : {};
        const fields = { name: ev.name, addresses: ev.addresses, client: ev.client, ...audit };
        violations.push({ event: ev.type, at: new Date().toISOString(), ...fields });
        log.emitLimited(ev.name, ev.type, fields, "warn");
        return;
      }
      case "learn.full":
        return log.emitLimited("learn.full", ev.type, { name: ev.name, client: ev.client, reason: ev.reason }, "error");
      case "upstream.down":
        return log.emit(ev.type, { upstream: ev.upstream }, "warn");
      case "upstream.up":
        return log.emit(ev.type, { upstream: ev.upstream });
      case "dns.malformed":
        return log.emitLimited(ev.client, ev.type, { client: ev.client, reason: ev.reason }, "debug");
      case "dns.servfail":
        return log.emitLimited(ev.name, ev.type, { name: ev.name, client: ev.client, reason: ev.reason }, "warn");
    }
  };
}
