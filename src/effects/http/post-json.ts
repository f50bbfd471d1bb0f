// A minimal HTTP/1.1 POST of a JSON body over a marked TCP connection, for the deny
// webhook. Not fetch(): fetch cannot mark its socket, and the ruleset lets serve's own
// connections out only when they carry the mark. The reply's status line is all that is
// read; the connection is closed after it.
import type { PostOutcome } from "../../core/events/webhook.ts";
import { VERSION } from "../../version.ts";
import { exchangeMarkedTcp, type Destination, type TlsOptions } from "../sys/marked-tcp.ts";

/** a status line longer than this is not HTTP */
const MAX_HEAD = 8192;

export async function postJson(
  to: Destination,
  req: { hostHeader: string; path: string; body: string },
  opts: { timeoutMs: number; mark: number | null; tls?: TlsOptions },
): Promise<PostOutcome> {
  const body = Buffer.from(req.body);
  const head = [
    `POST ${req.path} HTTP/1.1`,
    `Host: ${req.hostHeader}`,
    `User-Agent: egressctl/${VERSION}`,
    "Content-Type: application/json",
    `Content-Length: ${body.length}`,
    "Connection: close",
    "",
    "",
  ].join("\r\n");
  const r = await exchangeMarkedTcp(to, opts.mark, Buffer.concat([Buffer.from(head), body]), statusOf, { timeoutMs: opts.timeoutMs, maxBytes: MAX_HEAD, tls: opts.tls });
  if (r.ok) return r.value;
  // the receiver is not who the URL names: retrying will not change that
  if (r.why === "certificate") return { error: `TLS certificate: ${r.detail}`, final: true };
  if (r.why === "tls") return { error: `TLS handshake: ${r.detail}` };
  const what = r.why === "refused" ? "connection refused" : r.why === "timeout" ? `no reply within ${opts.timeoutMs} ms` : `connection ${r.why}`;
  return { error: r.detail ? `${what}: ${r.detail}` : what };
}

/** the status code once the status line is in, or an error outcome for a reply that is not HTTP */
function statusOf(got: Buffer): PostOutcome | undefined {
  const end = got.indexOf("\r\n");
  if (end < 0) return undefined;
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(got.subarray(0, end).toString("latin1"));
  return m ? { status: Number(m[1]) } : { error: "the reply is not HTTP" };
}
