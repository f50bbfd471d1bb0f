// The event log: every decision worth knowing about becomes one JSON line on stderr
// (or a readable line with --log-format pretty). Denial events are rate-limited per
// name/destination so a retry loop cannot flood the log, and all of them together by a
// global bucket so a loop over ever-new names cannot either; the next admitted event
// carries how many were suppressed, of its key (`suppressed`) and globally
// (`suppressedGlobal`).
import { createLogLimiter } from "../../core/events/rate-limit.ts";

export type Level = "debug" | "info" | "warn" | "error";
const LEVELS: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface EventLog {
  emit(event: string, fields?: Record<string, unknown>, level?: Level): void;
  /** like emit, but rate-limited by key and globally (for dns.denied / net.denied) */
  emitLimited(key: string, event: string, fields: Record<string, unknown>, level?: Level): void;
}

/** each name/destination: a burst of 20 lines, then 2 a second */
export const LIMIT_PER_KEY = { burst: 20, perSecond: 2 };
/** all rate-limited events together: a burst of 200 lines, then 50 a second */
export const LIMIT_GLOBAL = { burst: 200, perSecond: 50 };

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
  const limiter = createLogLimiter({ perKey: LIMIT_PER_KEY, global: LIMIT_GLOBAL });

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
      const a = limiter.admit(`${event}:${key}`, now());
      if (a === null) return;
      const extra: Record<string, number> = {};
      if (a.suppressed) extra.suppressed = a.suppressed;
      if (a.suppressedGlobal) extra.suppressedGlobal = a.suppressedGlobal;
      emit(event, a.suppressed || a.suppressedGlobal ? { ...fields, ...extra } : fields, level);
    },
  };
}

function bigintSafe(_k: string, v: unknown): unknown {
  return typeof v === "bigint" ? v.toString() : v;
}
