// Events, counters and timings of the DNS proxy, for serve's event log, /status and
// /metrics.
import type { LearnedAddress } from "../../core/dns/answer.ts";
import { Histogram } from "../../core/metrics/histogram.ts";
import type { Decision, Layer } from "../../core/policy/types.ts";

export type DnsEvent =
  /** `link`, `chain`: denied because a name of the answer's CNAME/DNAME chain is (chain up to that link) */
  | { type: "dns.denied"; name: string; qtype: number; rule: string; layer: Layer; client: string; audit?: true; link?: string; chain?: string[] }
  /** an allowed name answered by an upstream; `addresses`: the A/AAAA data of the answer */
  | { type: "dns.allowed"; name: string; qtype: number; decision: Decision; addresses: readonly LearnedAddress[]; client: string }
  /** addresses of an allowed answer that were not learned because they are not public */
  | { type: "dns.guarded"; name: string; client: string; addresses: { address: string; reason: string }[]; audit?: true }
  /** a learned set is full: the answer became SERVFAIL */
  | { type: "learn.full"; name: string; client: string; reason: string }
  | { type: "dns.malformed"; client: string; reason: string }
  | { type: "dns.servfail"; name: string; client: string; reason: string }
  | { type: "upstream.down" | "upstream.up"; upstream: string };

export function newStats() {
  return {
    queries: 0,
    udpQueries: 0,
    tcpQueries: 0,
    denied: 0,
    /** of those: answers denied because of a name in their CNAME/DNAME chain */
    chainDenied: 0,
    forwarded: 0,
    malformed: 0,
    dropped: 0,
    servfail: 0,
    overloaded: 0,
    upstreamTimeouts: 0,
    upstreamErrors: 0,
    tcpRetries: 0,
    learnBatches: 0,
    learnedAddresses: 0,
    learnSkipped: 0,
    /** of those: addresses not learned because they are not public (loopback, private, ...) */
    guarded: 0,
    /** answers that became SERVFAIL because a learned set is full */
    learnFull: 0,
    learnFailures: 0,
    tcpConnections: 0,
    tcpRejected: 0,
    /** TCP connections that reached a bound and stopped being read for a while (backpressure) */
    tcpPaused: 0,
    /** TCP connections cut off for pushing past the input bound while paused */
    tcpOverrun: 0,
    /** TCP connections closed because the client read none of its answers for a period */
    tcpStalled: 0,
    inFlight: 0,
    socketErrors: 0,
  };
}

export type DnsStats = ReturnType<typeof newStats>;

/** How long the parts of an answer take, in seconds (serve's /metrics histograms). */
export interface DnsTimings {
  /** an upstream attempt that was answered: query sent to answer received */
  upstream: Histogram;
  /** an answer's addresses: answer received to kernel write acknowledged (or failed) */
  learnWait: Histogram;
  /** query received to answer ready to send (local, forwarded or SERVFAIL) */
  answer: Histogram;
}

export function newTimings(): DnsTimings {
  return { upstream: new Histogram(), learnWait: new Histogram(), answer: new Histogram() };
}

export function clientLabel(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}
