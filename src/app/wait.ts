// `egressctl wait`: asks serve, until it enforces what it intends or time runs out.
// One question per try, from the status socket (/status, judged like doctor reads it)
// or from the metrics address (/healthz, which serve judges itself); the loop takes
// its clock and its sleep as parameters so it is tested without waiting.
import { readinessFromStatus, type Readiness } from "../core/wait/readiness.ts";
import { socketError } from "./doctor/effects.ts";

/** one question to serve */
export type ReadinessCheck = () => Promise<Readiness>;

const POLL_MS = 250;
const ASK_TIMEOUT_MS = 2000;

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: Clock = { now: Date.now, sleep: (ms) => Bun.sleep(ms) };

/**
 * Asks until the answer is ready or `timeoutMs` passed (0: ask once). Returns the last
 * answer: ready, or what serve was still waiting for.
 */
export async function waitReady(check: ReadinessCheck, timeoutMs: number, clock: Clock = realClock): Promise<Readiness> {
  const deadline = clock.now() + timeoutMs;
  for (;;) {
    const r = await check();
    const left = deadline - clock.now();
    if (r.ok || left <= 0) return r;
    await clock.sleep(Math.min(POLL_MS, left));
  }
}

/** /status over serve's status socket */
export function statusSocketCheck(path: string): ReadinessCheck {
  return async () => {
    let res: Response;
    try {
      res = await fetch("http://egressctl/status", { unix: path, signal: AbortSignal.timeout(ASK_TIMEOUT_MS) } as RequestInit);
    } catch (e) {
      return { ok: false, waitingFor: `serve's status socket ${path}: ${socketError(e)}` };
    }
    const text = await res.text();
    if (res.status !== 200) return { ok: false, waitingFor: `serve's status socket ${path} to answer /status (it answered ${res.status})` };
    try {
      return readinessFromStatus(JSON.parse(text));
    } catch {
      return { ok: false, waitingFor: `serve's status socket ${path} to answer /status with JSON` };
    }
  };
}

/** /healthz on serve's --metrics-addr: 200 `ok LEVEL` once enforcing as intended, else 503 and why */
export function metricsAddrCheck(hostPort: string): ReadinessCheck {
  return async () => {
    let res: Response;
    try {
      res = await fetch(`http://${hostPort}/healthz`, { signal: AbortSignal.timeout(ASK_TIMEOUT_MS) });
    } catch (e) {
      const code = (e as { code?: string }).code;
      const why = code === "ConnectionRefused" || code === "ECONNREFUSED" ? "connection refused (serve not listening yet)" : (e as Error).name === "TimeoutError" ? "no answer in time" : (e as Error).message;
      return { ok: false, waitingFor: `serve's metrics address ${hostPort}: ${why}` };
    }
    const text = (await res.text()).trim();
    if (res.status === 200 && text.startsWith("ok ")) return { ok: true, level: text.slice(3) };
    return { ok: false, waitingFor: text.replace(/^waiting for /, "") || `serve's metrics address ${hostPort} to answer 200 (it answered ${res.status})` };
  };
}
