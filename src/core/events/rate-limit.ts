// A per-key token bucket for log events, so a program that retries a denied name in a
// tight loop cannot flood the log. Time is passed in; suppressed counts are reported
// on the next event that gets through, so nothing is silently lost.
export interface RateLimiter {
  /** returns null when suppressed, else how many events of this key were suppressed before */
  admit(key: string, nowMs: number): number | null;
}

export function createRateLimiter(opts: { burst: number; perSecond: number; maxKeys?: number }): RateLimiter {
  const buckets = new Map<string, { tokens: number; at: number; suppressed: number }>();
  const maxKeys = opts.maxKeys ?? 4096;
  return {
    admit(key, now) {
      let b = buckets.get(key);
      if (!b) {
        // bounded memory: forget the oldest key when full (Map keeps insertion order)
        if (buckets.size >= maxKeys) buckets.delete(buckets.keys().next().value!);
        b = { tokens: opts.burst, at: now, suppressed: 0 };
        buckets.set(key, b);
      }
      b.tokens = Math.min(opts.burst, b.tokens + ((now - b.at) / 1000) * opts.perSecond);
      b.at = now;
      if (b.tokens < 1) {
        b.suppressed++;
        return null;
      }
      b.tokens -= 1;
      const s = b.suppressed;
      b.suppressed = 0;
      return s;
    },
  };
}
