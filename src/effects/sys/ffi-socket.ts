// The few libc calls Bun does not offer: SO_MARK on a socket, and a TCP socket that is
// marked before its SYN leaves (NAT decides on the first packet, and Bun.connect
// connects at once). Linux only; loaded lazily so that importing this costs nothing
// where it is never used. Never touches a descriptor it was not given or did not create.
// Failures throw SysError (errno, code, op): callers switch on errno.
import { dlopen, FFIType, ptr, read } from "bun:ffi";
import { Errno, SysError } from "../../core/errors/errno.ts";
import { parseAddress, type Family } from "../../core/net/ip.ts";

const SOL_SOCKET = 1;
const SO_MARK = 36;
const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const IPPROTO_TCP = 6;
const TCP_SYNCNT = 7;
/**
 * SYN retransmissions before a connect gives up: 2 means about 7 s (1 + 2 + 4), not the
 * default 6 (about 2 minutes). A caller that timed out before the connection opened
 * cannot close the descriptor (Bun owns it), so this bounds how long one can linger.
 */
const SYN_RETRIES = 2;

type Libc = ReturnType<typeof load>;
let libc: Libc | null = null;

function load() {
  return dlopen("libc.so.6", {
    socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    setsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    connect: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    close: { args: [FFIType.i32], returns: FFIType.i32 },
    __errno_location: { args: [], returns: FFIType.ptr },
  }).symbols;
}

function c(): Libc {
  return (libc ??= load());
}

function errno(): number {
  const p = c().__errno_location();
  return p ? read.i32(p, 0) : 0;
}

/** Sets SO_MARK on `fd`; throws SysError (EPERM without CAP_NET_ADMIN or CAP_NET_RAW). */
export function setMark(fd: number, mark: number): void {
  const v = new Int32Array([mark | 0]);
  if (c().setsockopt(fd, SOL_SOCKET, SO_MARK, ptr(v), 4) !== 0) throw new SysError(`setsockopt(SO_MARK=${mark})`, errno());
}

function sockaddr(family: Family, address: string, port: number): Uint8Array {
  const a = parseAddress(address);
  if (!a || a.family !== family) throw new Error(`not an IPv${family} address: ${address}`);
  const sa = new Uint8Array(family === 4 ? 16 : 28);
  const dv = new DataView(sa.buffer);
  dv.setUint16(0, family === 4 ? AF_INET : AF_INET6, true); // host order (little-endian)
  dv.setUint16(2, port, false);
  const bytes = family === 4 ? 4 : 16;
  const at = family === 4 ? 4 : 8;
  for (let i = 0; i < bytes; i++) sa[at + i] = Number((a.value >> BigInt(8 * (bytes - 1 - i))) & 0xffn);
  return sa;
}

/**
 * A nonblocking TCP socket with SO_MARK set (mark null: left unmarked), connecting to
 * address:port (the connect is in progress on return). Hand the descriptor to
 * `Bun.connect({ fd })`, which owns it once it has adopted it.
 */
export function connectMarkedTcp(family: Family, address: string, port: number, mark: number | null): number {
  const fd = c().socket(family === 4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new SysError("socket()", errno());
  try {
    if (mark !== null) setMark(fd, mark);
    const syn = new Int32Array([SYN_RETRIES]); // referenced until the call returns
    c().setsockopt(fd, IPPROTO_TCP, TCP_SYNCNT, ptr(syn), 4); // best effort
    const sa = sockaddr(family, address, port);
    if (c().connect(fd, ptr(sa), sa.length) !== 0) {
      const e = errno();
      if (e !== Errno.EINPROGRESS) throw new SysError(`connect(${address}:${port})`, e);
    }
    return fd;
  } catch (err) {
    c().close(fd);
    throw err;
  }
}

/** Closes a descriptor this module created that was never handed to Bun. */
export function closeFd(fd: number): void {
  c().close(fd);
}
