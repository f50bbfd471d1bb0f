// Reload triggers: SIGHUP, and a change of the policy file. The directory is watched,
// not the file: editors and config-map updates replace files by rename, which a watch on
// the old inode never sees. Bursts of events collapse into one reload.
import { watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";

export function watchReloads(path: string | undefined, reload: (why: string) => void, debounceMs = 200): () => void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const soon = (why: string) => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      reload(why);
    }, debounceMs);
  };
  const onHup = () => soon("SIGHUP");
  process.on("SIGHUP", onHup);
  let watcher: FSWatcher | null = null;
  if (path) {
    const name = basename(path);
    try {
      watcher = watch(dirname(path), (_event, file) => {
        // Kubernetes config maps swap a ..data symlink: any change in the directory counts
        if (file === null || file === name || String(file).startsWith("..")) soon(`${name} changed`);
      });
      watcher.on("error", () => {});
    } catch {
      // an unwatchable directory still reloads on SIGHUP
    }
  }
  return () => {
    process.off("SIGHUP", onHup);
    watcher?.close();
    if (timer) clearTimeout(timer);
  };
}
