// What serve needs to know about the deny webhook before it touches anything: the CA
// an https receiver is verified against (a bad file is exit 2, like any bad setting), how
// to resolve the receiver's host (resolv.conf's search list applies), and where it
// resolves now. Start-up resolution is bounded: enforcement must not wait on a cluster
// DNS that is not ready; the runner (webhook-runner.ts) keeps trying after start.
import { X509Certificate } from "node:crypto";
import type { SearchConfig } from "../../core/dns/search-list.ts";
import type { Upstream } from "../../core/dns/upstreams.ts";
import type { WebhookUrl } from "../../core/events/webhook.ts";
import { parseAddress } from "../../core/net/ip.ts";
import { resolveDirect } from "../../effects/dns/resolve-direct.ts";
import type { EventLog } from "../../effects/log/events.ts";
import type { Destination, TlsOptions } from "../../effects/sys/marked-tcp.ts";

/** how long start-up waits for the receiver's name before going on without it */
export const START_RESOLVE_MS = 2_000;

export interface WebhookPlan {
  url: WebhookUrl;
  /** where the host resolved at start; []: not yet (the runner retries) */
  destinations: Destination[];
  resolve(): Promise<Destination[]>;
  tls?: TlsOptions;
}

/** The receiver's addresses at its port: the literal one, or the host name's A/AAAA ([] when it does not resolve). */
async function resolveWebhookHost(
  url: WebhookUrl,
  upstreams: readonly Upstream[],
  search: SearchConfig,
  markFor: (u: Upstream) => number | null,
  timeoutMs: number,
): Promise<Destination[]> {
  const literal = parseAddress(url.host);
  const found = literal ? [{ family: literal.family, address: url.host }] : await resolveDirect(url.host, search, upstreams, markFor, timeoutMs);
  return found.map((f) => ({ ...f, port: url.port }));
}

/** The PEM certificates of a CA file, each parsed; an error string when there is none or one is broken. */
export function readCaPem(text: string): string | { error: string } {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) return { error: "no PEM certificate in it" };
  for (const [i, b] of blocks.entries()) {
    try {
      new X509Certificate(b);
    } catch (e) {
      return { error: `certificate ${i + 1} of ${blocks.length} does not parse: ${(e as Error).message}` };
    }
  }
  return blocks.join("\n") + "\n";
}

export async function planWebhook(
  url: WebhookUrl,
  o: {
    upstreams: readonly Upstream[];
    search: SearchConfig;
    markFor: (u: Upstream) => number | null;
    timeoutMs: number;
    /** EGRESSCTL_WEBHOOK_CA_FILE's text, when set */
    ca?: string;
    log: EventLog;
  },
): Promise<WebhookPlan> {
  const resolve = () => resolveWebhookHost(url, o.upstreams, o.search, o.markFor, o.timeoutMs);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const destinations = await Promise.race([
    resolve(),
    new Promise<Destination[]>((r) => (timer = setTimeout(() => r([]), START_RESOLVE_MS))),
  ]);
  clearTimeout(timer);
  if (destinations.length === 0) {
    o.log.emit("webhook.unresolved", { url: url.url, error: `${url.host} did not resolve through the upstreams (search list applied; start-up waits at most ${START_RESOLVE_MS / 1000} s); retrying with backoff, denied names are not sent meanwhile` }, "error");
  }
  // https: the certificate must be for the URL's host (a name, or an address in its SANs)
  const tls = url.tls ? { serverName: url.host, ...(o.ca ? { ca: o.ca } : {}) } : undefined;
  return { url, destinations, resolve, ...(tls ? { tls } : {}) };
}
