// Failures the kernel and libc report, as numbers callers switch on. The kernel answers
// a netlink message with -errno, an FFI call leaves errno behind, and libnftables prints
// strerror's text ("Could not process rule: Device or resource busy"): each boundary
// turns what it got into an errno here, once, and everything above compares numbers
// (`r.errno === Errno.EBUSY`), never messages. Linux numbering (x86_64 and arm64 share
// these). Pure.

/** name -> [number, libc's strerror text] */
const TABLE = {
  EPERM: [1, "Operation not permitted"],
  ENOENT: [2, "No such file or directory"],
  EINTR: [4, "Interrupted system call"],
  EIO: [5, "Input/output error"],
  E2BIG: [7, "Argument list too long"],
  EBADF: [9, "Bad file descriptor"],
  EAGAIN: [11, "Resource temporarily unavailable"],
  ENOMEM: [12, "Cannot allocate memory"],
  EACCES: [13, "Permission denied"],
  EFAULT: [14, "Bad address"],
  EBUSY: [16, "Device or resource busy"],
  EEXIST: [17, "File exists"],
  ENODEV: [19, "No such device"],
  ENOTDIR: [20, "Not a directory"],
  EINVAL: [22, "Invalid argument"],
  ENFILE: [23, "Too many open files in system"],
  EMFILE: [24, "Too many open files"],
  ENOSPC: [28, "No space left on device"],
  ERANGE: [34, "Numerical result out of range"],
  ENAMETOOLONG: [36, "File name too long"],
  ELOOP: [40, "Too many levels of symbolic links"],
  EOVERFLOW: [75, "Value too large for defined data type"],
  EMSGSIZE: [90, "Message too long"],
  EPROTONOSUPPORT: [93, "Protocol not supported"],
  EOPNOTSUPP: [95, "Operation not supported"],
  EAFNOSUPPORT: [97, "Address family not supported by protocol"],
  EADDRINUSE: [98, "Address already in use"],
  EADDRNOTAVAIL: [99, "Cannot assign requested address"],
  ENETUNREACH: [101, "Network is unreachable"],
  ECONNRESET: [104, "Connection reset by peer"],
  ENOBUFS: [105, "No buffer space available"],
  ETIMEDOUT: [110, "Connection timed out"],
  ECONNREFUSED: [111, "Connection refused"],
  EHOSTUNREACH: [113, "No route to host"],
  EALREADY: [114, "Operation already in progress"],
  EINPROGRESS: [115, "Operation now in progress"],
} as const satisfies Record<string, readonly [number, string]>;

export type ErrnoName = keyof typeof TABLE;

/** `Errno.EBUSY` is 16: the numbers by name, for comparisons */
export const Errno = Object.fromEntries(Object.entries(TABLE).map(([name, [n]]) => [name, n])) as { readonly [K in ErrnoName]: (typeof TABLE)[K][0] };

const BY_NUMBER = new Map<number, [string, string]>(Object.entries(TABLE).map(([name, [n, text]]) => [n, [name, text]]));
const BY_TEXT = new Map<string, number>(Object.values(TABLE).map(([n, text]) => [text, n]));

/** "EBUSY" for 16 (or -16, as netlink carries it); "errno N" for one not listed */
export function errnoName(errno: number): string {
  return BY_NUMBER.get(Math.abs(errno))?.[0] ?? `errno ${Math.abs(errno)}`;
}

/** "ENOENT (No such file or directory)" for 2 or -2; "errno N" for one not listed */
export function errnoText(errno: number): string {
  const e = BY_NUMBER.get(Math.abs(errno));
  return e ? `${e[0]} (${e[1]})` : `errno ${Math.abs(errno)}`;
}

/** The errno whose strerror text `message` is exactly (libnftables' errors); else null. */
export function errnoOfStrerror(message: string): number | null {
  return BY_TEXT.get(message.trim()) ?? null;
}

/**
 * Failures that say "try again", not "this is wrong": the transaction committed nothing
 * and the same write may well succeed at once. A netlink ack that never came is not one
 * of them (ETIMEDOUT: retrying on the same socket would wait as long again).
 */
const TRANSIENT: ReadonlySet<number> = new Set([Errno.EINTR, Errno.EAGAIN, Errno.EBUSY, Errno.ENOBUFS]);

export function isTransient(errno: number | null | undefined): boolean {
  return errno != null && TRANSIENT.has(Math.abs(errno));
}

/** A failed system or library call, typed: `errno` and `code` to switch on, `op` for people. */
export class SysError extends Error {
  readonly code: string;
  constructor(
    readonly op: string,
    readonly errno: number,
    detail?: string,
  ) {
    super(`${op}: ${errnoText(errno)}${detail ? `: ${detail}` : ""}`);
    this.name = "SysError";
    this.code = errnoName(errno);
  }
}
