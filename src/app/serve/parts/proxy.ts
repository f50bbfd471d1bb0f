// The DNS proxy part: listens on 127.0.0.1 and ::1 (UDP and TCP) before the ruleset's
// redirect exists, and is closed after it (or last, when the ruleset stays). Everything
// it decides with comes in as values: the decision, the learn sink, the address guard,
// the event sink; startDnsProxy (src/effects/dns/proxy.ts) does the rest.
import { Exit } from "../../../core/exit-codes.ts";
import { StartRefused, type Part } from "../../../core/lifecycle/lifecycle.ts";
import { startDnsProxy, type DnsProxy, type DnsProxyOptions } from "../../../effects/dns/proxy.ts";
import type { EventLog } from "../../../effects/log/events.ts";

export interface ProxyPart extends Part {
  /** the running proxy; null before start and after stop */
  readonly proxy: DnsProxy | null;
}

export function proxyPart(options: DnsProxyOptions, log: EventLog): ProxyPart {
  let proxy: DnsProxy | null = null;
  return {
    name: "DNS proxy",
    get proxy() {
      return proxy;
    },
    async start() {
      try {
        proxy = await startDnsProxy(options);
      } catch (e) {
        log.emit("serve.failed", { reason: `DNS proxy could not start: ${(e as Error).message}` }, "error");
        throw new StartRefused(Exit.runtime, (e as Error).message);
      }
    },
    async stop() {
      const p = proxy;
      proxy = null;
      await p?.close();
    },
  };
}
