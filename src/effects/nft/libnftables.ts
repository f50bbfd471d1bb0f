// libnftables in process through bun:ffi. One context for the life of the process:
// creating one parses nothing but allocates caches, and serve runs a batch per DNS
// answer. Output and errors are buffered (not printed), read back after every run.
import { CString, dlopen, FFIType, type Pointer } from "bun:ffi";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TABLE_FAMILY, TABLE_NAME } from "../../core/ruleset/names.ts";
import type { NftBackend } from "./backend.ts";
import { nftFailure, parseListing, type NftResult } from "./result.ts";

/** NFT_CTX_OUTPUT_JSON from <nftables/libnftables.h> */
const OUTPUT_JSON = 1 << 4;

const SYMBOLS = {
  nft_ctx_new: { args: [FFIType.u32], returns: FFIType.ptr },
  nft_ctx_buffer_output: { args: [FFIType.ptr], returns: FFIType.i32 },
  nft_ctx_buffer_error: { args: [FFIType.ptr], returns: FFIType.i32 },
  nft_ctx_get_output_buffer: { args: [FFIType.ptr], returns: FFIType.ptr },
  nft_ctx_get_error_buffer: { args: [FFIType.ptr], returns: FFIType.ptr },
  nft_run_cmd_from_buffer: { args: [FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  nft_run_cmd_from_filename: { args: [FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  nft_ctx_set_dry_run: { args: [FFIType.ptr, FFIType.bool], returns: FFIType.void },
  nft_ctx_output_get_flags: { args: [FFIType.ptr], returns: FFIType.u32 },
  nft_ctx_output_set_flags: { args: [FFIType.ptr, FFIType.u32], returns: FFIType.void },
} as const;

export function openLibraryBackend(path: string): NftBackend | { unavailable: string } {
  let lib: ReturnType<typeof dlopen<typeof SYMBOLS>>;
  try {
    lib = dlopen(path, SYMBOLS);
  } catch (e) {
    return { unavailable: `cannot load ${path}: ${e instanceof Error ? e.message : String(e)}` };
  }
  const f = lib.symbols;
  const ctx = f.nft_ctx_new(0); // 0 = NFT_CTX_DEFAULT
  if (!ctx) return { unavailable: `${path}: nft_ctx_new failed` };
  if (f.nft_ctx_buffer_output(ctx) !== 0 || f.nft_ctx_buffer_error(ctx) !== 0) {
    return { unavailable: `${path}: cannot buffer output` };
  }
  const read = (p: Pointer | bigint | null) => (p ? new CString(p as Pointer).toString() : "");

  const collect = (rc: number): NftResult => {
    // Read both buffers every time: each read also resets the buffer for the next run.
    const output = read(f.nft_ctx_get_output_buffer(ctx));
    const error = read(f.nft_ctx_get_error_buffer(ctx));
    return rc === 0 ? { ok: true, output } : nftFailure(error || `libnftables returned ${rc}`);
  };
  const exec = (script: string): NftResult => {
    const r = collect(f.nft_run_cmd_from_buffer(ctx, Buffer.from(script + "\0")));
    if (r.ok || r.line !== undefined) return r;
    // One line (a learn write, a listing): nothing to locate, it is line 1.
    const body = script.endsWith("\n") ? script.slice(0, -1) : script;
    return body.includes("\n") ? locate(script, r) : { ...r, line: 1, text: body };
  };
  // libnftables 1.0.6 reports errors in buffer input without a line number and echoes
  // the buffer's first line instead of the failing one. Scripts read from a file get
  // `FILE:LINE:COL` right, so on failure of a script of several lines (rare, off the hot
  // path) the same script is checked again from a private temporary file, without
  // committing, to find the line. Locating is a nicety: when the temporary file cannot
  // be made (a read-only /tmp, as sidecars often have) or anything else goes wrong, the
  // first result is returned as it is, never an exception in place of the kernel's answer.
  const locate = (script: string, first: NftResult & { ok: false }): NftResult => {
    let dir: string;
    try {
      dir = mkdtempSync(join(tmpdir(), "egressctl-nft-"));
    } catch {
      return first;
    }
    const file = join(dir, "ruleset.nft");
    try {
      writeFileSync(file, script, { mode: 0o600 });
      f.nft_ctx_set_dry_run(ctx, true);
      const again = collect(f.nft_run_cmd_from_filename(ctx, Buffer.from(file + "\0")));
      return !again.ok && again.line !== undefined ? { ...again, error: again.error.replace(file, "ruleset") } : first;
    } catch {
      return first;
    } finally {
      f.nft_ctx_set_dry_run(ctx, dryRun);
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // a leftover empty directory in /tmp is not worth failing over
      }
    }
  };
  let dryRun = false;

  return {
    kind: "library",
    run(script, opts) {
      if (!opts?.check) return exec(script);
      f.nft_ctx_set_dry_run(ctx, (dryRun = true));
      try {
        return exec(script);
      } finally {
        f.nft_ctx_set_dry_run(ctx, (dryRun = false));
      }
    },
    listTableJson: () => listJson(`table ${TABLE_FAMILY} ${TABLE_NAME}`),
    listSetJson: (name) => listJson(`set ${TABLE_FAMILY} ${TABLE_NAME} ${name}`),
  };

  function listJson(what: string): unknown | null {
    const flags = f.nft_ctx_output_get_flags(ctx);
    f.nft_ctx_output_set_flags(ctx, flags | OUTPUT_JSON);
    try {
      return parseListing(exec(`list ${what}`));
    } finally {
      f.nft_ctx_output_set_flags(ctx, flags);
    }
  }
}
