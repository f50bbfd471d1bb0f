// Text handling as OpenSandbox's Go sidecar does it, where its reading decides what a
// policy means: strings.TrimSpace (Unicode White_Space, which is not what JavaScript's
// trim() removes: U+0085 is space in Go, U+FEFF is not), and encoding/json's matching of
// object keys to fields, which ignores case the way bytes.EqualFold does. Pure.

/** unicode.IsSpace */
export function isGoSpace(c: number): boolean {
  if (c <= 0xff) return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0x85 || c === 0xa0;
  return c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000;
}

/** strings.TrimSpace */
export function goTrim(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isGoSpace(s.charCodeAt(a))) a++;
  while (b > a && isGoSpace(s.charCodeAt(b - 1))) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/**
 * A key folded as encoding/json folds it to find a field: ASCII letters without case, and
 * the two non-ASCII letters whose case folding reaches ASCII (ſ is s, the Kelvin sign is k).
 */
export function goFoldKey(key: string): string {
  let out = "";
  for (const ch of key) out += ch === "\u017f" ? "s" : ch === "\u212a" ? "k" : ch >= "A" && ch <= "Z" ? ch.toLowerCase() : ch;
  return out;
}
