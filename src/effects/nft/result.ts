// What one nft run returns, and how nft's error text is read: nft names the failing
// command as `FILE:LINE:COL-COL: Error: message`, then prints that line and a caret
// line. Both backends produce the same text, so both use this parser.
export type NftResult = { ok: true; output: string } | { ok: false; error: string; line?: number; text?: string };

const LOCATED = /^[^\n]*?:(\d+):\d+(?:-\d+)?: Error: [^\n]*$/m;

export function nftFailure(errorText: string): NftResult {
  const error = errorText.trim() || "nft failed without a message";
  const m = LOCATED.exec(error);
  if (!m) return { ok: false, error };
  // the line after the located message is the offending command, echoed by nft
  const rest = error.slice(m.index + m[0].length + 1).split("\n");
  return { ok: false, error, line: Number(m[1]), text: rest[0] };
}

/** Shared by both backends: nft's JSON listing, or null when our table is absent. */
export function parseListing(r: NftResult): unknown | null {
  if (!r.ok) {
    if (/No such file or directory/.test(r.error)) return null;
    throw new Error(`cannot list table inet egressctl: ${r.error}`);
  }
  return JSON.parse(r.output);
}
