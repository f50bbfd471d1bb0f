// The policy source part: the policy in force and every way it changes. It came from
// the FILE, the environment or the deny-all default (start-plan.ts); from here on it
// changes by a reload of the file (SIGHUP, or a change in its directory), by the policy
// API, and by the operator's always lists (their directory watched and polled). Each
// change is applied the same way (reloader.ts: install, swap, prune, in one job of the
// kernel lane). Started last but one: once serve is ready, SIGHUP stops being ignored
// and a catch-up reload picks up a change made while serve was starting.
import type { Part } from "../../../core/lifecycle/lifecycle.ts";
import type { Mode } from "../../../core/probe/modes.ts";
import type { Policy } from "../../../core/policy/types.ts";
import type { AlwaysRead } from "../../../effects/fs/always-files.ts";
import type { EventLog } from "../../../effects/log/events.ts";
import { keepAlways, type AlwaysKeeper } from "../always-watch.ts";
import type { Enforcer } from "../enforcer.ts";
import { persistPolicy } from "../http-persist.ts";
import { compilePolicy } from "../live-policy.ts";
import type { ReadText } from "../policy-source.ts";
import { watchReloads, type SignalSource } from "../reload.ts";
import { applyAlways, applyPolicy, createReloader, type ApplyResult, type ReloadContext } from "../reloader.ts";
import type { Learner } from "./learner.ts";
import type { LiveCell } from "./live-cell.ts";

export interface PolicySourceInputs {
  cell: LiveCell;
  mode: Mode;
  enforcer: Pick<Enforcer, "exclusive">;
  learner: Pick<Learner, "table" | "pending">;
  log: EventLog;
  read: ReadText;
  /** the always lists' directory and how to read it */
  alwaysDir: string;
  readAlways(dir: string): AlwaysRead;
  /** OPENSANDBOX_EGRESS_POLICY_FILE: where an API change is persisted (and reloads then read) */
  persistTo?: string;
  /** where SIGHUP comes from (the process; a test's emitter) */
  signals: SignalSource;
  /** called once serve's own SIGHUP handler is in place: the start-up's "ignore SIGHUP" ends */
  handlersInPlace(): void;
}

export interface PolicySource extends Part {
  /** reloads and API changes applied and refused (/status reloads) */
  readonly counts: ReloadContext["counts"];
  /** an API change: validated already; kernel, memory and persisted file, or none */
  fromApi(p: Policy): Promise<ApplyResult>;
}

export function policySourcePart(i: PolicySourceInputs): PolicySource {
  const { cell, log } = i;
  const counts = { ok: 0, failed: 0, lastError: null as string | null };
  const ctx: ReloadContext = {
    mode: i.mode,
    enforcer: i.enforcer,
    table: i.learner.table,
    log,
    read: i.read,
    live: () => cell.live,
    swap: (next) => cell.swap(next),
    counts,
    pending: i.learner.pending,
  };
  const reload = createReloader(ctx);
  let keeper: AlwaysKeeper | null = null;
  let stopWatching: (() => void) | null = null;
  const guardedReload = (why: string) => {
    reload(why).catch((e) => log.emit("serve.error", { what: "reload", why, error: (e as Error).message }, "error"));
    if (why === "SIGHUP") keeper?.check("SIGHUP");
  };
  // An API change is applied like a reload; with OPENSANDBOX_EGRESS_POLICY_FILE set it is
  // persisted there once the kernel accepted it, and that file is what reloads read from
  // then on (re-reading serve's own write is a no-op: same digest).
  const persistTo = i.persistTo;
  return {
    name: "policy source",
    counts,
    fromApi: (p) =>
      applyPolicy(ctx, (live) => compilePolicy(p, "api", persistTo, Date.now(), live.always, live.guardSettings), "api", {
        persist: persistTo ? (next) => persistPolicy(persistTo, next.policy) : undefined,
      }),
    start() {
      // the always lists: re-read on any change in their directory, every few seconds, and on SIGHUP
      keeper = keepAlways({ dir: i.alwaysDir, read: i.readAlways, current: () => cell.live.always, apply: (next, why) => applyAlways(ctx, next, why), log });
      stopWatching = watchReloads(cell.live.path, guardedReload, undefined, i.signals);
      i.handlersInPlace();
      // a change made while serve was starting (after the file was read) lands now; an
      // unchanged file makes this a no-op
      guardedReload("start-up catch-up");
    },
    stop() {
      stopWatching?.();
      keeper?.stop();
    },
  };
}
