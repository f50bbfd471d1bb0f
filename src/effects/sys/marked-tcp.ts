// One request and one reply over a TCP connection whose socket is marked before its SYN
// leaves (ffi-socket.ts; mark null: not marked). Used for the DNS proxy's TCP queries
// to its upstreams and for the deny webhook, both of which the ruleset lets out only
// when marked. The caller's `complete` reads what has arrived so far and returns the
// result once it has enough; at most `maxBytes` are buffered. With `tls` the connection
// is TLS (Bun adopts the descriptor and does the handshake): the peer's certificate
// must verify for `serverName`, against `ca` when given, else Bun's trusted roots, and
// the request is written only once the handshake has succeeded.
import { Errno, SysError } from "../../core/errors/errno.ts";
import type { Family } from "../../core/net/ip.ts";
import { closeFd, connectMarkedTcp } from "./ffi-socket.ts";

/** "certificate": the peer's certificate did not verify; "tls": the handshake failed otherwise */
export type ExchangeFailure = "timeout" | "refused" | "error" | "closed" | "tls" | "certificate";
export type Exchange<T> = { ok: true; value: T } | { ok: false; why: ExchangeFailure; detail?: string };

/**
 * The codes of certificate verification failures, as Bun (BoringSSL, with Node's names)
 * reports them in the handshake's error: told apart by code from a connection that broke
 * during the handshake (ECONNRESET, EPROTO, ...), which is worth retrying.
 */
const CERTIFICATE_ERRORS: ReadonlySet<string> = new Set([
  "ERR_TLS_CERT_ALTNAME_INVALID", "HOSTNAME_MISMATCH",
  "UNABLE_TO_GET_ISSUER_CERT", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_DECRYPT_CERT_SIGNATURE", "UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY", "CERT_SIGNATURE_FAILURE",
  "CERT_NOT_YET_VALID", "CERT_HAS_EXPIRED", "ERROR_IN_CERT_NOT_BEFORE_FIELD", "ERROR_IN_CERT_NOT_AFTER_FIELD",
  "DEPTH_ZERO_SELF_SIGNED_CERT", "SELF_SIGNED_CERT_IN_CHAIN", "CERT_CHAIN_TOO_LONG", "CERT_REVOKED",
  "INVALID_CA", "PATH_LENGTH_EXCEEDED", "INVALID_PURPOSE", "CERT_UNTRUSTED", "CERT_REJECTED",
]);

export interface TlsOptions {
  serverName: string;
  /** PEM; replaces the trusted roots */
  ca?: string;
}

export interface Destination {
  family: Family;
  address: string;
  port: number;
}

interface BunSocket {
  write(b: Buffer): number;
  end(): void;
  terminate(): void;
}

export function exchangeMarkedTcp<T>(
  to: Destination,
  mark: number | null,
  request: Buffer,
  complete: (received: Buffer) => T | undefined,
  opts: { timeoutMs: number; maxBytes: number; tls?: TlsOptions },
): Promise<Exchange<T>> {
  let fd: number;
  try {
    fd = connectMarkedTcp(to.family, to.address, to.port, mark);
  } catch (e) {
    // a connect the kernel refused at once is "refused"; anything else (no mark without
    // the capability, no descriptors left, ...) is an error, with its errno named
    const refused = e instanceof SysError && e.errno === Errno.ECONNREFUSED;
    return Promise.resolve({ ok: false, why: refused ? "refused" : "error", detail: (e as Error).message });
  }
  return new Promise((resolve) => {
    let settled = false;
    let sock: BunSocket | null = null;
    let received: Buffer = Buffer.alloc(0);
    const finish = (r: Exchange<T>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // closed at once, not half-closed: a peer that keeps sending (or never closes)
      // must not keep the descriptor, or anything buffered, alive
      sock?.terminate();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, why: "timeout" }), opts.timeoutMs);
    // Requests here are small (a DNS query, a JSON line), but the first write on a socket
    // adopted while its connect was still in progress can take nothing (seen: 0 of 35
    // bytes under load): what is left goes out on drain, only -1 (closed) is an error.
    let unsent: Buffer | null = null;
    const push = (s: BunSocket) => {
      if (!unsent) return;
      const n = s.write(unsent);
      if (n < 0) return finish({ ok: false, why: "error" });
      unsent = n >= unsent.length ? null : unsent.subarray(n);
    };
    const send = (s: BunSocket) => {
      unsent = request;
      push(s);
    };
    const options = {
      fd,
      ...(opts.tls ? { tls: { serverName: opts.tls.serverName, rejectUnauthorized: true, ...(opts.tls.ca ? { ca: opts.tls.ca } : {}) } } : {}),
      socket: {
        open(s: BunSocket) {
          sock = s;
          if (settled) return void s.terminate();
          if (!opts.tls) send(s);
        },
        handshake(s: BunSocket, success: boolean, authError: Error | null) {
          if (settled) return;
          if (!success || authError) {
            const code = (authError as { code?: string } | null)?.code ?? "";
            return finish({ ok: false, why: CERTIFICATE_ERRORS.has(code) ? "certificate" : "tls", detail: authError?.message ?? "handshake failed" });
          }
          send(s);
        },
        data(_s: unknown, buf: Buffer) {
          if (settled) return;
          received = received.length === 0 ? Buffer.from(buf) : Buffer.concat([received, buf]);
          const value = complete(received);
          if (value !== undefined) finish({ ok: true, value });
          else if (received.length > opts.maxBytes) finish({ ok: false, why: "error" });
        },
        drain(s: BunSocket) {
          if (!settled) push(s);
        },
        close: () => finish({ ok: false, why: "closed" }),
        error: () => finish({ ok: false, why: "error" }),
        connectError: () => finish({ ok: false, why: "refused" }),
      },
    };
    // Bun owns the descriptor once it has adopted it (a failed connect then ends in
    // connectError/close, and Bun closes it). When it cannot adopt it, the promise
    // rejects (or the call throws) and the descriptor is still ours to close.
    let connecting: Promise<unknown>;
    try {
      connecting = Promise.resolve((Bun.connect as unknown as (o: typeof options) => Promise<unknown>)(options));
    } catch (err) {
      connecting = Promise.reject(err);
    }
    connecting.catch((err) => {
      closeFd(fd);
      // e.g. a CA Bun cannot use: say so, or every attempt is a bare "connection error"
      finish({ ok: false, why: "error", detail: (err as Error)?.message });
    });
  });
}
