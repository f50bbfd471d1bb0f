// The event log: every decision worth knowing about becomes one JSON line on stderr
// (or a readable line with --log-format pretty). Denial events are rate-limited per
// name/destination so a retry loop cannot flood the log; the next admitted event of
// that key carries how many were suppressed.
import { createRateLimiter } from "../../core/events/rate-limit.ts";

export type Level = "debug" | "info" | "warn" | "error";
const LEVELS: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface EventLog {
  emit(event: string, fields?: Record<string, unknown>, level?: Level): void;
  /** like emit, but rate-limited by key (for dns.denied / net.denied) */
  emitLimited(key: string, event: string, fields: Record<string, unknown>, level?: Level): void;
}

export function createEventLog(opts: {
  format: "json" | "pretty";
  level?: string;
  sandboxId?: string;
  write?: (line: string) => void;
  now?: () => number;
}): EventLog {
  const min = LEVELS[(opts.level ?? "info") as Level] ?? LEVELS.info;
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  const now = opts.now ?? Date.now;
  const limiter = createRateLimiter({ burst: 20, perSecond: 2 });

  const emit = (event: string, fields: Record<string, unknown> = {}, level: Level = "info") => {
    if (LEVELS[level] < min) return;
    const ts = new Date(now()).toISOString();
    if (opts.format === "json") {
      // the envelope wins over same-named fields, so a field can never forge the level
      const rec: Record<string, unknown> = { ts, level, event };
      for (const [k, v] of Object.entries(fields)) if (!(k in rec)) rec[k] = v;
      if (opts.sandboxId) rec.sandbox = opts.sandboxId;
      write(`${JSON.stringify(rec, bigintSafe)}\n`);
    } else {
      const kv = Object.entries(fields)
        .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v, bigintSafe)}`)
        .join(" ");
      write(`${ts.slice(11, 23)} ${level.toUpperCase().padEnd(5)} ${event} ${kv}\n`);
    }
  };
  return {
    emit,
    emitLimited(key, event, fields, level = "info") {
      const suppressed = limiter.admit(`${event}:${key}`, now());
      if (suppressed === null) return;
      emit(event, suppressed ? { ...fields, suppressed } : fields, level);
    },
  };
}

function bigintSafe(_k: string, v: unknown): unknown {
  return typeof v === "bigint" ? v.toString() : v;
}
