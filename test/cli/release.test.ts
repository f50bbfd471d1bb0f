// `make release` (scripts/release.ts), run for real into a scratch directory: both
// binaries built and checked (x64 by running it; arm64 under qemu-user where Debian's
// qemu-user is installed, else by its ELF header), and SHA256SUMS that sha256sum
// accepts. It runs inside `make test` because it is cheap once Bun's arm64 runtime is
// cached (a few seconds); the ELF reader the fallback uses is tested on both binaries.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { elfFacts } from "../../scripts/elf.ts";
import { VERSION } from "../../scripts/compile.ts";

const ROOT = resolve(import.meta.dir, "../..");
const dir = mkdtempSync(join(tmpdir(), "egressctl-release-"));
let log = "";
let code = -1;

beforeAll(async () => {
  const p = Bun.spawn([process.execPath, "scripts/release.ts"], { cwd: ROOT, env: { ...process.env, EGRESSCTL_RELEASE_DIR: dir }, stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  code = await p.exited;
  log = out + err;
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bin = (arch: string) => join(dir, `egressctl-${VERSION}-linux-${arch}`);

describe("make release", () => {
  test("two binaries, each checked, and SHA256SUMS that sha256sum -c accepts", () => {
    expect({ code, log }).toMatchObject({ code: 0 });
    expect(log).toContain(`egressctl-${VERSION}-linux-x64: ran --version: egressctl ${VERSION} (commit `);
    expect(log).toMatch(new RegExp(`egressctl-${VERSION.replace(/\./g, "\\.")}-linux-arm64: (ran --version under qemu-user: egressctl ${VERSION.replace(/\./g, "\\.")} |qemu-user not installed: checked the ELF header)`));
    const sums = readFileSync(join(dir, "SHA256SUMS"), "utf8");
    expect(sums.trim().split("\n").map((l) => l.split("  ")[1])).toEqual([`egressctl-${VERSION}-linux-x64`, `egressctl-${VERSION}-linux-arm64`]);
    const check = Bun.spawnSync(["sha256sum", "-c", "SHA256SUMS"], { cwd: dir });
    expect(check.stdout.toString()).toBe(`egressctl-${VERSION}-linux-x64: OK\negressctl-${VERSION}-linux-arm64: OK\n`);
    expect(check.exitCode).toBe(0);
  });

  test("the ELF reader (the fallback check) tells the two architectures apart", () => {
    expect(elfFacts(new Uint8Array(readFileSync(bin("arm64"))))).toEqual({ machine: "aarch64", bits: 64, endian: "little", type: "exec", interpreter: "/lib/ld-linux-aarch64.so.1" });
    expect(elfFacts(new Uint8Array(readFileSync(bin("x64"))))).toMatchObject({ machine: "x86-64", interpreter: "/lib64/ld-linux-x86-64.so.2" });
    expect(elfFacts(new TextEncoder().encode("#!/bin/sh\necho not elf\n".padEnd(80)))).toBe("not an ELF file");
    const truncated = new Uint8Array(readFileSync(bin("arm64")).subarray(0, 64));
    expect(elfFacts(truncated)).toBe("program headers run past the end of the file");
  });
});
