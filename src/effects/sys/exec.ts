// Replaces this process with another program (execve), the way `env CMD` or a shell's
// `exec` does: same PID, so the program gets the signals a supervisor sends (SIGTERM
// from the kubelet or podman) and its exit status is the container's. Bun has no exec,
// so this goes through libc. Loaded lazily: only `egressctl wait -- CMD` needs it.
import { dlopen, FFIType, ptr, read } from "bun:ffi";

const SIGPIPE = 13;
const SIGXFSZ = 25;
const SIG_DFL = 0;
const SIG_SETMASK = 2;
const ENOENT = 2;
const EACCES = 13;

function load() {
  return dlopen("libc.so.6", {
    execve: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    signal: { args: [FFIType.i32, FFIType.u64], returns: FFIType.u64 },
    sigprocmask: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    __errno_location: { args: [], returns: FFIType.ptr },
  }).symbols;
}

/** a NUL-terminated copy of s; the caller keeps it referenced until execve returns */
const cstr = (s: string) => Buffer.from(`${s}\0`, "utf8");

/** char*[] ending in NULL, over buffers the caller keeps alive */
function cArray(bufs: Buffer[]): BigUint64Array {
  const a = new BigUint64Array(bufs.length + 1);
  bufs.forEach((b, i) => (a[i] = BigInt(ptr(b))));
  return a;
}

/**
 * Runs `path` with `argv` (argv[0] included) and `env` in place of this process. Returns
 * only when execve failed: the exit status a shell would give (127 not found, 126 not
 * executable) and the reason.
 */
export function execProgram(path: string, argv: string[], env: Record<string, string | undefined>): { exitCode: number; error: string } {
  const c = load();
  // What the runtime set for itself must not leak into the program: Bun ignores SIGPIPE
  // and SIGXFSZ, and an ignored signal survives execve (a pipeline would no longer end
  // on a closed reader); so does the signal mask.
  c.signal(SIGPIPE, SIG_DFL);
  c.signal(SIGXFSZ, SIG_DFL);
  const empty = new Uint8Array(128); // sigset_t, all clear
  c.sigprocmask(SIG_SETMASK, ptr(empty), null);
  const file = cstr(path);
  const args = argv.map(cstr);
  const envs = Object.entries(env).flatMap(([k, v]) => (v === undefined ? [] : [cstr(`${k}=${v}`)]));
  const argvp = cArray(args);
  const envp = cArray(envs);
  c.execve(ptr(file), ptr(argvp), ptr(envp));
  const p = c.__errno_location();
  const errno = p ? read.i32(p, 0) : 0;
  // keep the buffers alive across the call (the arrays only hold their addresses)
  void [file, args, envs];
  const exitCode = errno === ENOENT ? 127 : 126;
  const error = errno === ENOENT ? "no such file" : errno === EACCES ? "permission denied (not executable?)" : `execve failed: errno ${errno}`;
  return { exitCode, error };
}
