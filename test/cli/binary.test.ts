// The compiled binary itself: it reports its version and commit, answers usage errors
// with exit 2, and, because it runs as root in someone else's container, never loads a
// .env or bunfig.toml from the directory it is started in.
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN } from "../support/serve.ts";

const dir = mkdtempSync(join(tmpdir(), "egressctl-cwd-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], cwd = dir) {
  const p = Bun.spawnSync([BIN, ...args], { cwd, env: { PATH: process.env.PATH ?? "" }, stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString() };
}

test("--version prints the version and the git commit", async () => {
  const r = run(["--version"]);
  expect(r.code).toBe(0);
  const m = /^egressctl (\d+\.\d+\.\d+) \(commit ([0-9a-f]{12})(-dirty)?\)\n$/.exec(r.out);
  expect(m).not.toBeNull();
  expect(m![1]).toBe((await Bun.file(join(import.meta.dir, "..", "..", "package.json")).json()).version);
  // the binary may predate the newest commit (make rebuilds on source changes), but the
  // commit it names must be one of this repository's
  expect(Bun.spawnSync(["git", "cat-file", "-e", `${m![2]}^{commit}`], { cwd: import.meta.dir }).exitCode).toBe(0);
});

test("usage errors exit 2 with a message, not a stack trace", () => {
  const none = run([]);
  expect(none.code).toBe(2);
  const unknown = run(["frobnicate"]);
  expect(unknown.code).toBe(2);
  expect(unknown.err).toContain("Unknown command");
  expect(unknown.err).not.toMatch(/\bat .*\.ts:\d+/);
  const help = run(["validate", "--help"]);
  expect(help.code).toBe(0);
  expect(help.out).toContain("Examples");
});

test("--help: one line per command within 100 columns, the version once; each command's own --help is its full page", () => {
  const r = run(["--help"]);
  expect(r.code).toBe(0);
  const lines = r.out.split("\n");
  expect(lines.filter((l) => l.length > 100)).toEqual([]);
  expect(r.out).not.toContain("\x1b["); // plain text, whatever the terminal
  const version = /^egressctl (\d+\.\d+\.\d+ \(commit [0-9a-f]{12}(?:-dirty)?\))/.exec(lines[0]!);
  expect(version).not.toBeNull();
  expect(r.out.split(version![1]!).length - 1).toBe(1);
  const start = lines.indexOf("Commands:");
  const end = lines.indexOf("", start);
  const listed = lines.slice(start + 1, end).map((l) => /^  (\S+) +\S/.exec(l)?.[1]);
  expect(listed).toEqual(["probe", "validate", "apply", "serve", "doctor", "inject", "wait"]);
  // no command's long description leaks into the page (these are from their own --help)
  expect(r.out).not.toContain("Exit status:");
  // the usage error prints the same page
  const none = run([]);
  expect({ code: none.code, out: none.out }).toEqual({ code: 2, out: r.out });
  for (const name of listed) {
    const sub = run([name!, "--help"]);
    expect(sub.code).toBe(0);
    expect(sub.out).toContain(`egressctl ${name}`);
    expect(sub.out).toContain("Examples:");
    expect(sub.out).toMatch(/OPTIONS/);
  }
});

test("a .env and a bunfig.toml in the working directory are not loaded", () => {
  // if .env were read, probe would report nftables disabled by this override
  writeFileSync(join(dir, ".env"), "EGRESSCTL_NFT_BACKEND=none\nEGRESSCTL_IPTABLES=none\n");
  // if bunfig.toml were read, the preload would create the marker file
  const marker = join(dir, "preloaded");
  writeFileSync(join(dir, "evil.ts"), `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "x");\n`);
  writeFileSync(join(dir, "bunfig.toml"), 'preload = ["./evil.ts"]\n');
  const r = run(["probe", "--json"]);
  expect(r.code).toBe(0);
  expect(r.out).not.toContain("EGRESSCTL_NFT_BACKEND=none");
  expect(r.out).not.toContain("EGRESSCTL_IPTABLES=none");
  expect(existsSync(marker)).toBe(false);
  // the same files DO take effect for a plain `bun` run from that directory: the check above can fail
  Bun.spawnSync([process.execPath, "-e", "1"], { cwd: dir });
  expect(existsSync(marker)).toBe(true);
});
