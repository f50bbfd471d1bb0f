// INTERIM, until src/effects/nft/backend.ts lands: a check-only stand-in with the same
// shape as openNftBackend(), through the nft binary (`nft -c -f -` sends the batch to the
// kernel without its commit, so nothing changes). Delete once the backend is in.
import type { OpenNftBackend } from "./nftables.ts";
import { which } from "./read.ts";

export const openCheckOnlyBackend: OpenNftBackend = () => {
  const want = process.env.EGRESSCTL_NFT_BACKEND;
  if (want === "none") return { unavailable: "disabled by EGRESSCTL_NFT_BACKEND=none" };
  const nft = which("nft");
  if (!nft) return { unavailable: "no nft binary on PATH" };
  return {
    kind: "binary",
    run(script, opts) {
      const argv = [nft, ...(opts?.check ? ["-c"] : []), "-f", "-"];
      const p = Bun.spawnSync(argv, { stdin: new Blob([script]), stdout: "pipe", stderr: "pipe", timeout: 5000 });
      return p.exitCode === 0 ? { ok: true, output: p.stdout.toString() } : { ok: false, error: p.stderr.toString() || `nft exited ${p.exitCode}` };
    },
  };
};
