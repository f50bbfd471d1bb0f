// Keeps the always lists in force in step with their files: the directory is watched
// (editors and config maps replace files by rename, so the directory, not the file), and
// polled every ALWAYS_POLL_MS as a fallback for what a watch cannot see (the directory
// created after start, a file system without inotify, a bind mount changed from
// outside). Every trigger re-reads the three files; only a change of what they mean (or
// of the lines they could not use) is applied, like a reload (reloader.ts applyAlways).
// OpenSandbox re-reads them once a minute; egressctl within seconds.
import { watch, type FSWatcher } from "node:fs";
import { alwaysKey, type AlwaysFile, type AlwaysList, type AlwaysRules } from "../../core/always/types.ts";
import type { AlwaysRead } from "../../effects/fs/always-files.ts";
import type { EventLog } from "../../effects/log/events.ts";
import { logAlwaysProblems } from "./always-log.ts";

export const ALWAYS_POLL_MS = 2000;
const DEBOUNCE_MS = 200;

export interface AlwaysKeeperDeps {
  dir: string;
  read(dir: string): AlwaysRead;
  /** the lists in force */
  current(): AlwaysRules;
  /** applies changed lists (refused: the previous lists stay, and it was said) */
  apply(next: AlwaysRules, why: string): Promise<unknown>;
  log: EventLog;
  pollMs?: number;
}

export interface AlwaysKeeper {
  /** re-reads the files now (SIGHUP, tests) */
  check(why: string): void;
  stop(): void;
}

export function keepAlways(d: AlwaysKeeperDeps): AlwaysKeeper {
  let last = fingerprint(d.current());
  let lastErrors = "";
  const check = (why: string) => {
    const r = d.read(d.dir);
    const now = d.current();
    let next: AlwaysRules;
    if (r.ok) {
      next = r.rules;
      lastErrors = "";
    } else {
      // a file that exists but cannot be read keeps its previous rules: nothing is lost
      const errs = JSON.stringify(r.errors);
      if (errs !== lastErrors) {
        for (const e of r.errors) d.log.emit("always.unreadable", { file: e.path, error: e.error, kept: now[key(e.list)].rules.length }, "error");
        lastErrors = errs;
      }
      const pick = (l: AlwaysList): AlwaysFile => r.partial[l] ?? now[key(l)];
      next = { dir: d.dir, deny: pick("deny"), allow: pick("allow"), logSkip: pick("log_skip") };
    }
    const fp = fingerprint(next);
    if (fp === last) return;
    logAlwaysProblems(d.log, next);
    // a refused change is not retried until the files change again (or SIGHUP)
    last = fp;
    d.apply(next, why).catch((e) => d.log.emit("serve.error", { what: "always rules", why, error: (e as Error).message }, "error"));
  };
  const guarded = (why: string) => {
    try {
      check(why);
    } catch (e) {
      d.log.emit("serve.error", { what: "always rules", why, error: (e as Error).message }, "error");
    }
  };
  let timer: ReturnType<typeof setTimeout> | null = null;
  let watcher: FSWatcher | null = null;
  try {
    watcher = watch(d.dir, (_event, file) => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        guarded(`${file ?? "a file"} changed in ${d.dir}`);
      }, DEBOUNCE_MS);
    });
    watcher.on("error", () => {});
  } catch {
    // no directory (yet), or no inotify: the poll below sees it
  }
  const poll = setInterval(() => guarded(`${d.dir} re-read`), d.pollMs ?? ALWAYS_POLL_MS);
  return {
    check: guarded,
    stop() {
      clearInterval(poll);
      if (timer) clearTimeout(timer);
      watcher?.close();
    },
  };
}

const key = (l: AlwaysList): "deny" | "allow" | "logSkip" => (l === "log_skip" ? "logSkip" : l);

/** what the lists mean plus the lines they could not use: a change of either is news */
function fingerprint(a: AlwaysRules): string {
  const probs = [a.deny, a.allow, a.logSkip].map((f) => f.problems.map((p) => `${p.line}:${p.text}`));
  return JSON.stringify([alwaysKey(a), probs]);
}
