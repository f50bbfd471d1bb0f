// One NETLINK_NETFILTER socket through libc (bun:ffi), opened in the network namespace of
// the caller: what the learned-element writer and the set reader share. It owns the
// descriptor, the buffers and the receive timeout, and the two things both do around an
// exchange: dropping what an earlier, abandoned one left queued (`drain`) and saying why
// a recv failed (`recvFailure`). The messages are built and parsed in src/core/ruleset/.
// A blocking recv is bounded by SO_RCVTIMEO, so a missing reply cannot hang serve.
import { dlopen, FFIType, ptr, read } from "bun:ffi";
import { Errno, errnoText } from "../../core/errors/errno.ts";

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_NETFILTER = 12;
const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
const SO_RCVTIMEO = 20;
const SO_SNDBUFFORCE = 32;
const SO_RCVBUFFORCE = 33;
const SOL_NETLINK = 270;
const NETLINK_CAP_ACK = 10;
const NETLINK_EXT_ACK = 11;
export const MSG_DONTWAIT = 0x40;
const { EAGAIN, EINTR, EIO, ETIMEDOUT } = Errno;
/** socket buffers asked for: room for a large batch and for an ack per message of it */
const BUFFER = 4 << 20;
export const RECV_TIMEOUT_MS = 2000;

function load() {
  return dlopen("libc.so.6", {
    socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    bind: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    setsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    getsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    sendto: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i64_fast },
    recv: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64_fast },
    close: { args: [FFIType.i32], returns: FFIType.i32 },
    __errno_location: { args: [], returns: FFIType.ptr },
  }).symbols;
}

/** sockaddr_nl of the kernel (and, for bind, of "any port id"): family, pad, pid 0, groups 0 */
function sockaddrNl(): Uint8Array {
  const sa = new Uint8Array(12);
  new DataView(sa.buffer).setUint16(0, AF_NETLINK, true);
  return sa;
}

export interface NetlinkSocket {
  /** the buffer sizes in force (the kernel may grant less than asked) */
  readonly buffers: { rcv: number | null; snd: number | null };
  /** sends one datagram; null, or why it failed (`errno` null: a short write) */
  send(bytes: Uint8Array): { error: string; errno: number | null } | null;
  /** receives one datagram into `rx`: its length, or -errno */
  recv(flags?: number): number;
  /**
   * Drops every datagram already queued, without waiting: replies of an earlier exchange
   * that was given up (a timed-out batch, an abandoned dump) must not be read as this one's.
   */
  drain(): void;
  /** the receive buffer `recv` fills */
  readonly rx: Uint8Array;
  readonly open: boolean;
  close(): void;
}

/** Opens the socket; `unavailable` when this process cannot (no libc, no netlink, ...). */
export function openNetlinkSocket(bufferBytes = BUFFER): NetlinkSocket | { unavailable: string } {
  let c: ReturnType<typeof load>;
  try {
    c = load();
  } catch (e) {
    return { unavailable: `cannot load libc: ${e instanceof Error ? e.message : String(e)}` };
  }
  const errno = () => {
    const p = c.__errno_location();
    return p ? read.i32(p, 0) : 0;
  };
  const fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0) return { unavailable: `netlink socket: ${errnoText(errno())}` };
  const opt = (level: number, name: number, value: Uint8Array) => c.setsockopt(fd, level, name, ptr(value), value.length) === 0;
  const int = (v: number) => new Uint8Array(new Int32Array([v]).buffer);
  const sa = sockaddrNl();
  if (c.bind(fd, ptr(sa), sa.length) !== 0) {
    const e = errno();
    c.close(fd);
    return { unavailable: `netlink bind: ${errnoText(e)}` };
  }
  const tv = new BigInt64Array([BigInt(Math.floor(RECV_TIMEOUT_MS / 1000)), BigInt((RECV_TIMEOUT_MS % 1000) * 1000)]);
  if (!opt(SOL_SOCKET, SO_RCVTIMEO, new Uint8Array(tv.buffer))) {
    const e = errno();
    c.close(fd);
    return { unavailable: `netlink SO_RCVTIMEO: ${errnoText(e)}` };
  }
  // Larger buffers need CAP_NET_ADMIN (FORCE) or are capped by sysctl; best effort both,
  // then read back what is in force: that, not what was asked, bounds a batch.
  if (!opt(SOL_SOCKET, SO_SNDBUFFORCE, int(bufferBytes))) opt(SOL_SOCKET, SO_SNDBUF, int(bufferBytes));
  if (!opt(SOL_SOCKET, SO_RCVBUFFORCE, int(bufferBytes))) opt(SOL_SOCKET, SO_RCVBUF, int(bufferBytes));
  const got = (name: number): number | null => {
    const v = new Int32Array(1);
    const len = new Uint32Array([4]);
    return c.getsockopt(fd, SOL_SOCKET, name, ptr(v), ptr(len)) === 0 ? v[0]! : null;
  };
  const buffers = { rcv: got(SO_RCVBUF), snd: got(SO_SNDBUF) };
  // acks without the echoed request; error texts when the kernel has one (best effort)
  opt(SOL_NETLINK, NETLINK_CAP_ACK, int(1));
  opt(SOL_NETLINK, NETLINK_EXT_ACK, int(1));

  // a dump reply may fill a datagram of up to 32 KiB and more with large buffers
  const rx = new Uint8Array(256 << 10);
  const rxp = ptr(rx);
  let open = true;
  const recv = (flags = 0): number => {
    for (;;) {
      const n = Number(c.recv(fd, rxp, rx.length, flags));
      if (n >= 0) return n;
      // errno read after another FFI call may have been cleared: never report 0 (which
      // would read as an empty datagram and wait again)
      const e = errno() || EIO;
      if (e !== EINTR) return -e;
    }
  };
  return {
    buffers,
    rx,
    get open() {
      return open;
    },
    recv,
    drain() {
      while (recv(MSG_DONTWAIT) > 0);
    },
    send(bytes) {
      const dest = sockaddrNl();
      for (;;) {
        const n = Number(c.sendto(fd, ptr(bytes), bytes.length, 0, ptr(dest), dest.length));
        if (n === bytes.length) return null;
        const e = n < 0 ? errno() || EIO : 0;
        if (e === EINTR) continue;
        if (n >= 0) return { error: `netlink sendto: short write (${n} of ${bytes.length} bytes)`, errno: null };
        return { error: `netlink sendto: ${errnoText(e)}`, errno: e };
      }
    },
    close() {
      if (open) c.close(fd);
      open = false;
    },
  };
}

/**
 * Why a recv that returned `n` (-errno) failed, for a result: SO_RCVTIMEO ends a blocking
 * recv with EAGAIN, which for the caller is a timeout (ETIMEDOUT); `unanswered` adds what
 * was still waiting then.
 */
export function recvFailure(n: number, unanswered = ""): { error: string; errno: number } {
  const timedOut = -n === EAGAIN;
  const why = timedOut ? `no answer within ${RECV_TIMEOUT_MS} ms${unanswered ? ` (${unanswered})` : ""}` : errnoText(-n);
  return { error: `netlink recv: ${why}`, errno: timedOut ? ETIMEDOUT : -n };
}
