// Decides whether file bytes are policy text at all, before any parser sees them:
// a binary file should get one clear "not a text file" error, not a page of YAML
// complaints about control characters.
import type { Problem } from "./problems.ts";

export function decodePolicyBytes(bytes: Uint8Array): { text: string } | { problem: Problem } {
  const nul = bytes.indexOf(0);
  const bad = (detail: string): { problem: Problem } => ({
    problem: { severity: "error", path: "", line: 1, col: 1, code: "not-text", message: `not a text file (${detail})`, hint: "a policy is YAML or JSON text in UTF-8" },
  });
  if (nul >= 0) return bad(`NUL byte at offset ${nul}`);
  try {
    return { text: new TextDecoder("utf-8", { fatal: true }).decode(bytes) };
  } catch {
    return bad("invalid UTF-8");
  }
}
