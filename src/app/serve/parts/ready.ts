// The ready part: once every part before it has started (proxy, ruleset, adoption,
// status socket, metrics address, first self-test, policy API), the --ready-file is
// written (it holds serve's PID) and `ready` is logged. Stopped, the ready file goes
// first of all: from the moment serve begins to stop, it is no longer ready.
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { Exit } from "../../../core/exit-codes.ts";
import { StartRefused, type Part } from "../../../core/lifecycle/lifecycle.ts";
import type { EventLog } from "../../../effects/log/events.ts";

export function readyPart(readyFile: string | undefined, log: EventLog, fields: () => Record<string, unknown>): Part {
  return {
    name: "ready",
    start() {
      if (readyFile) {
        try {
          writeFileSync(readyFile, `${process.pid}\n`);
        } catch (e) {
          log.emit("serve.failed", { reason: `ready file: ${(e as Error).message}`, ruleset: "left in force" }, "error");
          throw new StartRefused(Exit.runtime, (e as Error).message);
        }
      }
      log.emit("ready", fields());
    },
    stop() {
      if (readyFile && existsSync(readyFile)) rmSync(readyFile, { force: true });
    },
  };
}
