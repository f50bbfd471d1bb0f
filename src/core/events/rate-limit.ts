// Token buckets for log events: per key, so a program that retries a denied name in a
// tight loop cannot flood the log, and (createLogLimiter) one global bucket in front, so
// a loop over ever-new names cannot either. Time is passed in; suppressed counts are reported
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

export interface LogAdmission {
  /** events of this key suppressed by its own bucket since its last admitted event */
  suppressed: number;
  /** events of any key suppressed by the global cap since the last admitted event */
  suppressedGlobal: number;
}

/**
 * Per-key buckets behind one global bucket: a loop over one name is held back by its own
 * bucket, a flood of distinct names (each with a full bucket of its own) by the global
 * one. An event is admitted only when both have a token, and only then are tokens taken,
 * so a key its own bucket suppresses does not drain the global bucket for everyone else.
 * Each suppressed event is counted once: globally when the global bucket was empty, else
 * under its key.
 */
export function createLogLimiter(opts: {
  perKey: { burst: number; perSecond: number; maxKeys?: number };
  global: { burst: number; perSecond: number };
}): { admit(key: string, nowMs: number): LogAdmission | null } {
  const perKey = createRateLimiter(opts.perKey);
  const g = { tokens: opts.global.burst, at: null as number | null, suppressed: 0 };
  return {
    admit(key, now) {
      if (g.at !== null) g.tokens = Math.min(opts.global.burst, g.tokens + (Math.max(0, now - g.at) / 1000) * opts.global.perSecond);
      g.at = now;
      if (g.tokens < 1) {
        g.suppressed++;
        return null;
      }
      const suppressed = perKey.admit(key, now);
      if (suppressed === null) return null;
      g.tokens -= 1;
      const suppressedGlobal = g.suppressed;
      g.suppressed = 0;
      return { suppressed, suppressedGlobal };
    },
  };
}
