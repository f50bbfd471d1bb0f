// `make release`: egressctl for linux x64 and arm64 (Bun cross-compiles; each target's
// runtime comes from the npm registry on first use), with SHA-256 sums, into
// dist/release/ (EGRESSCTL_RELEASE_DIR overrides). Each binary is checked before it
// counts: x64 by running `--version` here; arm64 by running `--version` under qemu-user
// with Debian's arm64 C library when both are installed (scripts/setup.sh release),
// else by its ELF header (aarch64, 64-bit little-endian, the aarch64 glibc loader).
import { $ } from "bun";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { compile, VERSION } from "./compile.ts";
import { elfFacts } from "./elf.ts";

const QEMU = "/usr/bin/qemu-aarch64";
const ARM64_SYSROOT = "/usr/aarch64-linux-gnu";

interface Target {
  name: string;
  bunTarget: string;
  check(path: string): Promise<string>;
}

const TARGETS: Target[] = [
  { name: "linux-x64", bunTarget: "bun-linux-x64", check: (p) => versionCheck([p], "ran --version") },
  { name: "linux-arm64", bunTarget: "bun-linux-arm64", check: arm64Check },
];

async function versionCheck(argv: string[], how: string): Promise<string> {
  const r = await $`${argv} --version`.nothrow().quiet();
  const out = r.stdout.toString().trim();
  if (r.exitCode !== 0 || !out.startsWith(`egressctl ${VERSION} `)) throw new Error(`--version printed '${out}' (exit ${r.exitCode}) ${r.stderr.toString().trim()}`);
  return `${how}: ${out}`;
}

async function arm64Check(path: string): Promise<string> {
  if ((await Bun.file(QEMU).exists()) && (await Bun.file(join(ARM64_SYSROOT, "lib/ld-linux-aarch64.so.1")).exists())) {
    return versionCheck([QEMU, "-L", ARM64_SYSROOT, path], "ran --version under qemu-user");
  }
  const f = elfFacts(new Uint8Array(readFileSync(path)));
  if (typeof f === "string") throw new Error(f);
  if (f.machine !== "aarch64" || f.endian !== "little" || f.interpreter !== "/lib/ld-linux-aarch64.so.1") {
    throw new Error(`ELF header says ${JSON.stringify(f)}, not an aarch64 glibc executable`);
  }
  return "qemu-user not installed: checked the ELF header (aarch64, 64-bit little-endian, loader /lib/ld-linux-aarch64.so.1)";
}

const out = process.env.EGRESSCTL_RELEASE_DIR || "dist/release";
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const sums: string[] = [];
for (const t of TARGETS) {
  const file = join(out, `egressctl-${VERSION}-${t.name}`);
  if ((await compile(file, t.bunTarget)) !== 0) {
    console.error(`release: bun build for ${t.bunTarget} failed`);
    process.exit(1);
  }
  try {
    console.error(`release: ${basename(file)}: ${await t.check(file)}`);
  } catch (e) {
    console.error(`release: ${basename(file)} failed its check: ${(e as Error).message}`);
    process.exit(1);
  }
  const hash = new Bun.CryptoHasher("sha256").update(readFileSync(file)).digest("hex");
  sums.push(`${hash}  ${basename(file)}`);
}
// the format `sha256sum -c SHA256SUMS` reads
writeFileSync(join(out, "SHA256SUMS"), `${sums.join("\n")}\n`);
console.error(`release: ${out}/SHA256SUMS\n${sums.join("\n")}`);
