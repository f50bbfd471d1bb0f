// One `bun build --compile` of src/main.ts, shared by `make build` (this machine) and
// `make release` (each release target). The binary runs as root inside someone else's
// container, so it must not pick up a .env, bunfig.toml, tsconfig or package.json from
// whatever directory it happens to start in.
//
// --bytecode: JavaScriptCore's bytecode is made at build time, so a start does not parse
// the bundle (exec to ready about 100 ms instead of 150-200 on the development machine).
// --splitting: each command's modules (and libraries only some commands need, such as
// the YAML parser) are their own chunk, read only when that command runs. --minify was
// measured too and left out: it changes neither memory nor start-up measurably, and
// keeps names out of stack traces (EGRESSCTL_DEBUG); so was --compile-jit-policy (the JIT
// held back during start-up): serve's idle memory and `validate` times did not move
// beyond the noise once serve restores the normal policy at ready. docs/benchmarks.md
// has the figures.
import { $ } from "bun";
import pkg from "../package.json";

export const VERSION: string = pkg.version;

/** the commit the binary names: 12 hex digits, `-dirty` when tracked files changed */
export async function commitId(): Promise<string> {
  const commit = (await $`git rev-parse --short=12 HEAD`.nothrow().quiet().text()).trim() || "unknown";
  const dirty = (await $`git status --porcelain --untracked-files=no`.nothrow().quiet().text()).trim() ? "-dirty" : "";
  return commit + dirty;
}

/** compiles to outfile for `target` (a bun --target such as bun-linux-arm64; this machine's when absent) */
export async function compile(outfile: string, target?: string): Promise<number> {
  const commit = await commitId();
  const targetArgs = target ? [`--target=${target}`] : [];
  // the kernel I/O worker is an entry point of its own: a worker's code must be in the
  // binary to be started (src/effects/kernel/kernel-io.ts finds it under the bundle's root)
  const result = await $`bun build --compile src/main.ts src/effects/kernel/kernel-worker.ts --outfile ${outfile} ${targetArgs} \
    --bytecode --format=esm --splitting \
    --no-compile-autoload-dotenv --no-compile-autoload-bunfig \
    --no-compile-autoload-tsconfig --no-compile-autoload-package-json \
    --define EGRESSCTL_VERSION=${JSON.stringify(VERSION)} \
    --define EGRESSCTL_COMMIT=${JSON.stringify(commit)}`.nothrow();
  return result.exitCode;
}
