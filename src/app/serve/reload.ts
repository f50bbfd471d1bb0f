// Reload triggers: SIGHUP, and a change of the policy file. The directory is watched,
// not the file: editors and config-map updates replace files by rename, which a watch on
// the old inode never sees. Bursts of events collapse into one reload.
import { watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";

/** where SIGHUP comes from: the process, or a test's own emitter */
export type SignalSource = Pick<NodeJS.EventEmitter, "on" | "off">;

/**
 * `seen` hears every trigger as it arrives, before debouncing: "SIGHUP" or the name of
 * the file that changed in the directory, relevant or not (tests wait on it to know
 * every event was delivered).
 */
export function watchReloads(
  path: string | undefined,
  reload: (why: string) => void,
  debounceMs = 200,
  signals: SignalSource = process,
  seen?: (what: string) => void,
): () => void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  // A SIGHUP asks for a re-install even of an unchanged policy; a file event in the same
  // quiet period must not turn it into a plain reload, so the SIGHUP sticks.
  let hup = false;
  const soon = (why: string) => {
    if (why === "SIGHUP") hup = true;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      const reason = hup ? "SIGHUP" : why;
      hup = false;
      reload(reason);
    }, debounceMs);
  };
  const onHup = () => {
    seen?.("SIGHUP");
    soon("SIGHUP");
  };
  signals.on("SIGHUP", onHup);
  let watcher: FSWatcher | null = null;
  if (path) {
    const name = basename(path);
    try {
      watcher = watch(dirname(path), (_event, file) => {
        seen?.(file === null ? "" : String(file));
        // Kubernetes config maps swap a ..data symlink: any change in the directory counts
        if (file === null || file === name || String(file).startsWith("..")) soon(`${name} changed`);
      });
      watcher.on("error", () => {});
    } catch {
      // an unwatchable directory still reloads on SIGHUP
    }
  }
  return () => {
    signals.off("SIGHUP", onHup);
    watcher?.close();
    if (timer) clearTimeout(timer);
  };
}
