// Reading a policy file, the same way for every command (validate, apply, serve and its
// reloads): "-" is standard input, a directory or an oversized file is refused with a
// reason, and the bytes must be UTF-8 text (decodePolicyBytes) before any parser sees them.
import { readFileSync, statSync } from "node:fs";
import { decodePolicyBytes } from "../../core/policy/bytes.ts";
import type { Problem } from "../../core/policy/problems.ts";

/** far above any real policy (100k rules is about 5 MB), far below what hurts the parser */
export const MAX_POLICY_BYTES = 64 << 20;

/** The file's bytes, or why they cannot be read (a usage problem, not a policy problem). */
export function readPolicyBytes(file: string): Uint8Array | string {
  try {
    if (file === "-") return readFileSync(0);
    const st = statSync(file);
    if (st.isDirectory()) return "is a directory; give the policy files inside it";
    if (st.size > MAX_POLICY_BYTES) return `is ${st.size} bytes; a policy file may be at most ${MAX_POLICY_BYTES} bytes`;
    return readFileSync(file);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ENOENT") return "no such file";
    if (code === "EACCES") return "permission denied";
    return `cannot read: ${(e as Error).message}`;
  }
}

/** Bytes and decoding together: the text, or the reason, or the not-text problem. */
export function readPolicyText(file: string): { text: string } | { unreadable: string } | { problem: Problem } {
  const bytes = readPolicyBytes(file);
  if (typeof bytes === "string") return { unreadable: bytes };
  return decodePolicyBytes(bytes);
}
