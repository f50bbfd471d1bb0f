// Reading the operator's always lists (deny.always, allow.always, log_skip.always) from
// one directory, the same way for serve (at start and on every change) and apply. A
// missing file (or directory) has no effect, as in OpenSandbox; bytes that are not UTF-8
// only spoil their own lines; a file that exists but cannot be read is an error the caller decides about (serve refuses to start, keeps the
// previous lists on a re-read; apply refuses).
import { join } from "node:path";
import { parseAlwaysFile } from "../../core/always/parse.ts";
import { ALWAYS_FILES, type AlwaysFile, type AlwaysList, type AlwaysRules } from "../../core/always/types.ts";
import { readPolicyBytes, readPolicyText } from "./policy-file.ts";

export type AlwaysRead = { ok: true; rules: AlwaysRules } | { ok: false; errors: { list: AlwaysList; path: string; error: string }[]; partial: Partial<Record<AlwaysList, AlwaysFile>> };

export function readAlwaysRules(dir: string): AlwaysRead {
  const files: Partial<Record<AlwaysList, AlwaysFile>> = {};
  const errors: { list: AlwaysList; path: string; error: string }[] = [];
  for (const list of Object.keys(ALWAYS_FILES) as AlwaysList[]) {
    const path = join(dir, ALWAYS_FILES[list]);
    const r = readPolicyText(path);
    if ("text" in r) files[list] = parseAlwaysFile(r.text, list, path);
    else if ("problem" in r) files[list] = parseAlwaysFile(lossy(path), list, path); // not UTF-8: its bad lines are warnings, as any bad line
    else if (r.unreadable === "no such file") files[list] = { path, present: false, rules: [], problems: [] };
    else errors.push({ list, path, error: r.unreadable });
  }
  if (errors.length) return { ok: false, errors, partial: files };
  return { ok: true, rules: { dir, deny: files.deny!, allow: files.allow!, logSkip: files.log_skip! } };
}

/** the file's text with undecodable bytes replaced (U+FFFD), so every other line still counts */
function lossy(path: string): string {
  const b = readPolicyBytes(path);
  return typeof b === "string" ? "" : new TextDecoder("utf-8", { fatal: false }).decode(b).replace(/\u0000/g, "\uFFFD");
}
