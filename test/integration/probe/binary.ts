// The compiled binary under test. EGRESSCTL_BIN points elsewhere (a build in progress);
// a missing binary fails the suite with the reason instead of skipping it.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { ExecResult } from "../../support/lab.ts";

export const BIN = process.env.EGRESSCTL_BIN ?? resolve(import.meta.dir, "../../../dist/egressctl");

export function requireBinary(): void {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run 'make build' first (or set EGRESSCTL_BIN)`);
}

/** Parses probe's --json output, with the whole result in the message when it is not JSON. */
export function json(r: ExecResult): any {
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw new Error(`probe printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}
