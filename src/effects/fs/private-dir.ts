// The status socket's directory: serve's own, mode 0700 and owned by serve's user, so no
// other local user can replace the socket between serve's unlink and bind, or put a
// socket of their own where doctor looks. Created so; an existing directory with another
// mode or owner is fixed, and the caller logs what it was (a tmpfs mounted there for serve
// comes 1777 by default, for one). The system's shared directories (/tmp, /run, ...) are
// refused instead: changing them would break everyone else who uses them, and serve
// could not keep them private anyway; so is a symbolic link (the directory it names is
// somebody else's to decide).
import { chmodSync, chownSync, lstatSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";

export type SocketDir =
  | { path: string; fixed: null | { mode: string; uid: number; gid: number } }
  /** a directory serve must not make its own (a configuration mistake) */
  | { refused: string }
  /** one it could not create or fix (a read-only root, say) */
  | { failed: string };

const SHARED = new Set(["/", "/run", "/var/run", "/tmp", "/var/tmp", "/dev/shm"]);

export function prepareSocketDir(socket: string): SocketDir {
  const path = dirname(resolve(socket));
  const own = `give --status-socket (EGRESSCTL_STATUS_SOCKET) a directory of serve's own, such as /run/egressctl/`;
  if (SHARED.has(path)) return { refused: `the status socket's directory ${path} is shared with others; ${own}` };
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") return { failed: `the status socket's directory ${path}: ${(e as Error).message}` };
    try {
      mkdirSync(path, { recursive: true, mode: 0o700 });
      chmodSync(path, 0o700); // the umask may have taken bits away; never added any, but be exact
    } catch (err) {
      return { failed: `cannot create the status socket's directory: ${(err as Error).message}` };
    }
    return { path, fixed: null };
  }
  if (!st.isDirectory()) return { refused: `the status socket's directory ${path} is ${st.isSymbolicLink() ? "a symbolic link" : "not a directory"}; ${own}` };
  const uid = process.getuid!();
  const gid = process.getgid!();
  if ((st.mode & 0o7777) === 0o700 && st.uid === uid) return { path, fixed: null };
  try {
    if (st.uid !== uid) chownSync(path, uid, gid);
    chmodSync(path, 0o700);
  } catch (err) {
    return { failed: `cannot make the status socket's directory serve's own: ${(err as Error).message}` };
  }
  return { path, fixed: { mode: (st.mode & 0o7777).toString(8).padStart(4, "0"), uid: st.uid, gid: st.gid } };
}
