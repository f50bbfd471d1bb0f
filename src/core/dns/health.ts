// Upstream health, with time passed in. An upstream is down after an attempt to it
// fails (timeout, ICMP unreachable, reset) and up again after any valid answer, from a
// client's query or from a probe. Down upstreams are probed with backoff (1 s doubling
// to 30 s) and tried only after every healthy one (the caller caps the attempts), so a
// dead upstream costs one timeout once, not on every query; when none is healthy they
// are still tried in order, since a probe's view can be stale.
export interface HealthEvent {
  type: "upstream.down" | "upstream.up";
  index: number;
}

const PROBE_FIRST_MS = 1000;
const PROBE_MAX_MS = 30_000;

interface State {
  up: boolean;
  failures: number;
  backoffMs: number;
  nextProbeAt: number;
}

export class UpstreamHealth {
  private s: State[];

  constructor(count: number) {
    this.s = Array.from({ length: count }, () => ({ up: true, failures: 0, backoffMs: PROBE_FIRST_MS, nextProbeAt: 0 }));
  }

  /** the last order(), until an upstream goes up or down (queries never change it) */
  private cached: readonly number[] | null = null;

  /** Upstream indices in the order a query should try them: healthy ones first. Read-only. */
  order(): readonly number[] {
    if (this.cached) return this.cached;
    const up: number[] = [];
    const down: number[] = [];
    this.s.forEach((st, i) => (st.up ? up : down).push(i));
    return (this.cached = up.concat(down));
  }

  failed(i: number, now: number): HealthEvent | null {
    const st = this.s[i]!;
    st.failures++;
    if (!st.up) return null;
    st.up = false;
    this.cached = null;
    st.backoffMs = PROBE_FIRST_MS;
    st.nextProbeAt = now + st.backoffMs;
    return { type: "upstream.down", index: i };
  }

  succeeded(i: number): HealthEvent | null {
    const st = this.s[i]!;
    if (st.up) return null;
    st.up = true;
    this.cached = null;
    st.backoffMs = PROBE_FIRST_MS;
    return { type: "upstream.up", index: i };
  }

  /** Down upstreams whose probe is due; each is rescheduled with a doubled backoff. */
  dueProbes(now: number): number[] {
    const due: number[] = [];
    this.s.forEach((st, i) => {
      if (st.up || st.nextProbeAt > now) return;
      due.push(i);
      st.nextProbeAt = now + st.backoffMs;
      st.backoffMs = Math.min(PROBE_MAX_MS, st.backoffMs * 2);
    });
    return due;
  }

  snapshot(): { up: boolean; failures: number }[] {
    return this.s.map((st) => ({ up: st.up, failures: st.failures }));
  }
}
