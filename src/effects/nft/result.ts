// What one nft run returns, and how nft's error text is read: nft names the failing
// command as `FILE:LINE:COL-COL: Error: message`, then prints that line and a caret
// line. Both backends produce the same text, so both use this parser. libnftables
// reports the kernel's refusal only as strerror's text ("Error: Could not process rule:
// Device or resource busy"); it is turned into an errno here, once, so callers compare
// `errno` and never read the message (src/core/errors/errno.ts).
import { Errno, errnoOfStrerror } from "../../core/errors/errno.ts";

/** `errno`: the kernel's or libc's refusal, null for nft's own errors (syntax, unknown names) */
export type NftResult = { ok: true; output: string } | { ok: false; error: string; errno: number | null; line?: number; text?: string };

const LOCATED = /^[^\n]*?:(\d+):\d+(?:-\d+)?: Error: [^\n]*$/m;
/** nft's error lines: `[FILE:LINE:COL: ]Error: [Could not process rule: ]MESSAGE[; hint]` */
const ERROR_LINE = /^(?:[^\n]*?: )?Error: (?:Could not process rule: )?([^;\n]*)/gm;

export function nftFailure(errorText: string): NftResult & { ok: false } {
  const error = errorText.trim() || "nft failed without a message";
  const errno = errnoOfNft(error);
  const m = LOCATED.exec(error);
  if (!m) return { ok: false, error, errno };
  // the line after the located message is the offending command, echoed by nft
  const rest = error.slice(m.index + m[0].length + 1).split("\n");
  return { ok: false, error, errno, line: Number(m[1]), text: rest[0] };
}

/** the errno of the first of nft's error lines that carries one */
export function errnoOfNft(error: string): number | null {
  for (const m of error.matchAll(ERROR_LINE)) {
    const n = errnoOfStrerror(m[1]!);
    if (n !== null) return n;
  }
  return null;
}

/** Shared by both backends: nft's JSON listing, or null when our table is absent. */
export function parseListing(r: NftResult): unknown | null {
  if (!r.ok) {
    if (r.errno === Errno.ENOENT) return null;
    throw new Error(`cannot list table inet egressctl: ${r.error}`);
  }
  return JSON.parse(r.output);
}
