// Turns the proxy's events into log lines and /violations entries. Denials are
// rate-limited per name in the log but always counted and always kept in the ring.
import { isProbeName } from "../../core/dns/probe-names.ts";
import type { Ring } from "../../core/events/ring.ts";
import type { DnsEvent } from "../../effects/dns/events.ts";
import type { EventLog } from "../../effects/log/events.ts";

const QTYPES: Record<number, string> = { 1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA", 33: "SRV", 64: "SVCB", 65: "HTTPS", 255: "ANY" };
export const qtypeName = (t: number) => QTYPES[t] ?? `TYPE${t}`;

/** `denied`: told each denied name (the deny webhook), after the log and the ring */
export function eventToLog(ev: DnsEvent, log: EventLog, violations: Ring<Record<string, unknown>>, denied?: (name: string) => void): void {
  switch (ev.type) {
    case "dns.denied": {
      if (isProbeName(ev.name)) return; // the self-test's and doctor's: expected denials
      const audit = ev.audit ? { audit: true } : {};
      const rec = { event: ev.type, at: new Date().toISOString(), name: ev.name, qtype: qtypeName(ev.qtype), rule: ev.rule, client: ev.client, ...audit };
      violations.push(rec);
      denied?.(ev.name);
      log.emitLimited(ev.name, ev.type, { name: ev.name, qtype: rec.qtype, rule: ev.rule, client: ev.client, ...audit }, "warn");
      return;
    }
    case "upstream.down":
      return log.emit(ev.type, { upstream: ev.upstream }, "warn");
    case "upstream.up":
      return log.emit(ev.type, { upstream: ev.upstream });
    case "dns.malformed":
      return log.emitLimited(ev.client, ev.type, { client: ev.client, reason: ev.reason }, "debug");
    case "dns.servfail":
      return log.emitLimited(ev.name, ev.type, { name: ev.name, client: ev.client, reason: ev.reason }, "warn");
  }
}
