// Read-only helpers for fact gathering: each returns a value or an error string and
// never throws, so one unreadable file downgrades one fact instead of the whole probe.
import { readFileSync, readlinkSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

export type Read<T> = { ok: true; value: T } | { ok: false; error: string };

export function readText(path: string): Read<string> {
  return attempt(() => readFileSync(path, "utf8"));
}

export function readLink(path: string): Read<string> {
  return attempt(() => readlinkSync(path));
}

export function listDir(path: string): Read<string[]> {
  return attempt(() => readdirSync(path));
}

/** The first executable file called `name` on PATH, or null. */
export function which(name: string, path: string): string | null {
  for (const dir of path.split(":")) {
    if (!dir) continue;
    const full = join(dir, name);
    try {
      const st = statSync(full);
      if (st.isFile() && (st.mode & 0o111) !== 0) return full;
    } catch {
      // not here; keep looking
    }
  }
  return null;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a read-only command with a time limit; a hung tool must not hang the probe. */
export function run(argv: string[], timeoutMs = 5000): Read<RunResult> {
  return attempt(() => {
    const p = Bun.spawnSync(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: timeoutMs });
    return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
  });
}

/** First non-empty line of a tool's error output, for one-line reasons. */
export function firstLine(s: string): string {
  return s.split("\n").map((l) => l.trim()).find((l) => l !== "") ?? "";
}

function attempt<T>(f: () => T): Read<T> {
  try {
    return { ok: true, value: f() };
  } catch (err) {
    // Node's fs errors already read "EACCES: permission denied, readlink '/proc/1/ns/net'"
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}
