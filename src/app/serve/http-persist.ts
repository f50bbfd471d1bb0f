// OPENSANDBOX_EGRESS_POLICY_FILE written after an API change: the normalised document as
// JSON, in the API's (OpenSandbox's) shape, into a temporary file in the same directory, flushed, then renamed over the old
// one. A reader (a restarted serve, serve's own reload) sees the old file or the new one,
// never half of either.
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { apiDocument } from "../../core/api/responses.ts";
import type { Policy } from "../../core/policy/types.ts";

/** null when written; else why not (the old file is then untouched) */
export function persistPolicy(path: string, policy: Policy): string | null {
  const tmp = join(dirname(path), `.${basename(path)}.egressctl-${process.pid}.tmp`);
  try {
    const fd = openSync(tmp, "w", 0o644);
    try {
      writeSync(fd, `${JSON.stringify(apiDocument(policy), null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    return null;
  } catch (e) {
    rmSync(tmp, { force: true });
    return `${path}: ${(e as Error).message}`;
  }
}
