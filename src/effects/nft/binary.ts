// Fallback backend: the `nft` binary, one process per run, script on stdin (so a
// 100k-element ruleset never hits argv limits). About 2 ms per call, against tens of µs
// through libnftables (docs/ruleset.md, "Backends").
import { TABLE_FAMILY, TABLE_NAME } from "../../core/ruleset/names.ts";
import type { NftBackend } from "./backend.ts";
import { nftFailure, parseListing, type NftResult } from "./result.ts";

export function openBinaryBackend(path: string): NftBackend | { unavailable: string } {
  const nft = Bun.which("nft", { PATH: path }) ?? Bun.which("nft", { PATH: "/usr/sbin:/sbin" });
  if (!nft) return { unavailable: "the nft binary is not on PATH" };
  const exec = (args: string[], stdin?: string): NftResult => {
    const p = Bun.spawnSync([nft, ...args], { stdin: stdin === undefined ? "ignore" : Buffer.from(stdin), stdout: "pipe", stderr: "pipe" });
    if (p.exitCode === 0) return { ok: true, output: p.stdout.toString() };
    // "/dev/stdin:12:3" reads as "ruleset:12:3", the same as the library backend says
    return nftFailure(p.stderr.toString().replaceAll("/dev/stdin:", "ruleset:") || `nft exited with ${p.exitCode}`);
  };
  return {
    kind: "binary",
    run: (script, opts) => exec([...(opts?.check ? ["-c"] : []), "-f", "/dev/stdin"], script),
    listTableJson: () => parseListing(exec(["-j", "list", "table", TABLE_FAMILY, TABLE_NAME])),
    listSetJson: (name) => parseListing(exec(["-j", "list", "set", TABLE_FAMILY, TABLE_NAME, name])),
  };
}
