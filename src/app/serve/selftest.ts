// Self-test (docs/serve.md, "Self-test"): checks from inside the namespace that enforcement
// really holds, and measures the level. The redirect check sends a query for a unique
// name under .invalid (RFC 6761: never resolvable, so nothing meaningful leaks if it is
// not intercepted) from an ordinary, unmarked socket to an upstream's port 53; serve's
// decide wrapper reports when the proxy sees that name.
import dnsPacket from "dns-packet";
import { PROBE_SUFFIX } from "../../core/dns/probe-names.ts";
import { measureLevel, type Measured } from "../../core/status/level.ts";
import type { Enforcer } from "./enforcer.ts";

export interface SelfTestDeps {
  enforcer: Enforcer;
  /** where to send the probe query: an upstream resolver address (routable here) */
  target: { address: string; family: 4 | 6 };
  expectedDigest: () => string | null;
  /** the always lists' address digest serve loaded (null: none) */
  expectedAlways?: () => string | null;
  /** a learned address serve believes is installed, if any */
  someLearned: () => { family: 4 | 6; address: string } | null;
  /** resolves true when the proxy sees `name` within the timeout */
  expectName: (name: string, timeoutMs: number) => Promise<boolean>;
}

/**
 * The names the self-test is waiting for. serve's decide function reports every name it
 * sees here; the probe names are then answered like any denied name.
 */
export class ProbeNames {
  private waiting = new Map<string, () => void>();

  /** called for every query name the proxy decides on; cheap when nothing waits */
  saw(name: string): void {
    if (this.waiting.size) this.waiting.get(name)?.();
  }

  expect(name: string, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const t = setTimeout(() => (this.waiting.delete(name), resolve(false)), timeoutMs);
      this.waiting.set(name, () => (clearTimeout(t), this.waiting.delete(name), resolve(true)));
    });
  }
}

export async function runSelfTest(d: SelfTestDeps, timeoutMs = 1500): Promise<Measured> {
  const name = `selftest-${crypto.randomUUID().slice(0, 8)}${PROBE_SUFFIX}`;
  const seen = d.expectName(name, timeoutMs);
  await sendProbe(d.target, name).catch(() => {});
  const redirectReachedProxy = await seen;
  // the learned sets are not read whole (tens of thousands of elements when full): one
  // address serve learned is asked for
  const kernel = d.enforcer.via === "nftables" ? await d.enforcer.kernelState({ learned: false }) : null;
  const learned = d.someLearned();
  const learnedPresent = d.enforcer.mode === "dns+nftables" && learned && kernel ? await d.enforcer.holdsLearned(learned.family, learned.address) : null;
  return measureLevel(d.enforcer.mode, { redirectReachedProxy, kernel, expectedDigest: d.expectedDigest(), expectedAlways: d.expectedAlways?.(), learnedPresent });
}

async function sendProbe(target: { address: string; family: 4 | 6 }, name: string): Promise<void> {
  const query = dnsPacket.encode({ type: "query", id: 1 + Math.floor(Math.random() * 65534), flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: "A", name }] });
  const sock = await Bun.udpSocket({
    hostname: target.family === 6 ? "::" : "0.0.0.0",
    socket: { data() {}, error() {} },
  });
  try {
    sock.send(query, 53, target.address);
    await Bun.sleep(10);
  } finally {
    sock.close();
  }
}
