// `egressctl validate` as users run it: the compiled binary (dist/egressctl; build it
// with `make build`, or point EGRESSCTL_BIN at another build). Covers the fixture
// corpus, the human format, exit codes 0/2/3 and hostile inputs.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { readFileSync } from "node:fs";
import { expectedPath, fixtureFiles, type Expected } from "../fixtures/policies/expected.ts";

const ROOT = resolve(import.meta.dir, "../..");
const BIN = process.env.EGRESSCTL_BIN ?? join(ROOT, "dist/egressctl");

function run(...args: string[]): { code: number; stdout: string; stderr: string } {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`make build\` first (or set EGRESSCTL_BIN)`);
  const p = Bun.spawnSync([BIN, "validate", ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: "1" } });
  return { code: p.exitCode ?? -1, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "egressctl-validate-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string | Uint8Array) => {
  const f = join(dir, name);
  writeFileSync(f, content);
  return f;
};

describe("fixture corpus through the binary", () => {
  for (const kind of ["valid", "invalid"] as const) {
    test(`${kind} fixtures: --json matches .expected.json`, () => {
      const files = fixtureFiles(kind);
      const r = run("--json", ...files);
      expect(r.code).toBe(kind === "valid" ? 0 : 3);
      const report = JSON.parse(r.stdout);
      expect(report.valid).toBe(kind === "valid");
      expect(report.files.map((f: { file: string }) => f.file)).toEqual(files);
      for (const entry of report.files) {
        const want: Expected = JSON.parse(readFileSync(expectedPath(entry.file), "utf8"));
        const problems = entry.problems.map(({ hint: _hint, ...p }: { hint?: string }) => p);
        const { run: _run, ...judged } = want; // how serve runs it: test/unit/policy/fixtures.test.ts, serve's lab tests
        expect({ file: basename(entry.file), valid: entry.valid, problems, policy: entry.policy }).toEqual({ file: basename(entry.file), ...judged });
      }
    });
  }
});

describe("human output and exit codes", () => {
  test("valid file: summary only, exit 0", () => {
    const r = run("examples/default.yaml");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("1 file: 0 invalid, 0 errors, 0 warnings\n");
  });

  test("one line per problem, then the summary; exit 3", () => {
    const bad = file("bad.yaml", "egress:\n  - { action: allow, target: \"x.com:443\" }\n  - { action: allow, target: \"*.com\" }\n");
    const r = run(bad, "examples/default.yaml");
    expect(r.code).toBe(3);
    expect(r.stdout).toBe(
      `${bad}:2:30: error: egress[0].target: target "x.com:443" has a port; read as a name, it matches nothing (hint: rules match every port; write "x.com")\n` +
        "2 files: 1 invalid, 1 error, 0 warnings\n",
    );
  });

  test("warnings alone keep exit 0", () => {
    const w = file("warn.yaml", "egress:\n  - { action: allow, target: \"*.pypi.org\" }\n");
    const r = run(w);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^.*warn\.yaml:2:30: warning: egress\[0\]\.target: "\*\.pypi\.org" does not match "pypi\.org" itself/);
    expect(r.stdout).toEndWith("1 file: 0 invalid, 0 errors, 1 warning\n");
  });

  test("an oddity with one clear meaning is a warning (exit 0); --strict makes it an error (exit 3)", () => {
    const odd = file("odd.yaml", "defaultAction: DENY\negress:\n  - { target: api.github.com }\n");
    const r = run(odd);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      `${odd}:1:16: warning: defaultAction: defaultAction "DENY" is read as "deny" (hint: write "deny")\n` +
        `${odd}:3:5: warning: egress[0]: rule has no action; it means deny (hint: add action: deny (or allow))\n` +
        "1 file: 0 invalid, 0 errors, 2 warnings\n",
    );
    const strict = run("--strict", odd);
    expect(strict.code).toBe(3);
    expect(strict.stdout).toEndWith("1 file: 1 invalid, 2 errors, 0 warnings\n");
    // lint warnings too
    expect(run("--strict", file("apex.yaml", "egress:\n  - { action: allow, target: \"*.pypi.org\" }\n")).code).toBe(3);
    expect(run("--strict", "examples/default.yaml").code).toBe(0);
  });

  test(".json is JSON: a trailing comma is an error at its position; --syntax names it for stdin or any name", () => {
    const text = '{\n  "egress": [\n    { "action": "allow", "target": "api.github.com" },\n  ]\n}\n';
    const json = run(file("comma.json", text));
    expect(json.code).toBe(3);
    expect(json.stdout).toContain("comma.json:3:54: error: invalid JSON: trailing comma before ] (hint: JSON allows no comma after the last item; remove it)");
    expect(run(file("comma.yaml", text)).code).toBe(0);
    expect(run("--syntax", "json", file("comma.policy", text)).code).toBe(3);
    const stdin = Bun.spawnSync([BIN, "validate", "--syntax", "json", "-"], { stdin: new TextEncoder().encode(text), env: { ...process.env, NO_COLOR: "1" } });
    expect(stdin.exitCode).toBe(3);
    expect(stdin.stdout.toString()).toContain("-:3:54: error: invalid JSON: trailing comma");
    const bad = run("--syntax", "toml", "examples/default.yaml");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown --syntax "toml"');
  });

  test("--mode dns-only warns about IP rules; an unknown mode is a usage error", () => {
    expect(run("--mode", "dns-only", "examples/ci-runner.yaml").stdout).toContain("ignored in dns-only mode");
    expect(run("examples/ci-runner.yaml").stdout).not.toContain("dns-only");
    // OpenSandbox's alias, any case, is read by parseMode before the lint sees it
    for (const alias of ["dns", "DNS"]) expect(run("--mode", alias, "examples/ci-runner.yaml").stdout).toContain("ignored in dns-only mode");
    expect(run("--mode", "dns+nft", "examples/ci-runner.yaml").stdout).not.toContain("dns-only");
    const r = run("--mode", "bogus", "examples/default.yaml");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown --mode "bogus"');
  });

  test("--help has examples", () => {
    const p = Bun.spawnSync([BIN, "validate", "--help"], { env: { ...process.env, NO_COLOR: "1" } });
    expect(p.exitCode).toBe(0);
    expect(p.stdout.toString() + p.stderr.toString()).toContain("egressctl validate policy.yaml");
  });
});

describe("usage errors exit 2 with a clear message and no stack trace", () => {
  const expectUsage = (r: ReturnType<typeof run>, text: string) => {
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(text);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  };
  test("no file given", () => expectUsage(run(), "no policy file given"));
  test("missing file", () => expectUsage(run(join(dir, "nope.yaml")), "no such file"));
  test("directory", () => expectUsage(run(dir), "is a directory"));
  test("unreadable file", () => {
    const f = file("secret.yaml", "egress: []\n");
    chmodSync(f, 0o000);
    // root reads anything; a path through a regular file fails for everyone
    const target = process.getuid?.() === 0 ? join(f, "x.yaml") : f;
    expectUsage(run(target), process.getuid?.() === 0 ? "cannot read" : "permission denied");
  });
  test("a missing file among good ones still reports the good ones", () => {
    const r = run("examples/default.yaml", join(dir, "nope.yaml"));
    expect(r.code).toBe(2);
    expect(r.stdout).toContain("1 file: 0 invalid");
  });
});

describe("hostile inputs are invalid policies (exit 3), reported quickly", () => {
  test("binary garbage", () => {
    const bytes = new Uint8Array(4096).map((_, i) => (i * 7919) % 256);
    const r = run(file("garbage.yaml", bytes));
    expect(r.code).toBe(3);
    expect(r.stdout).toContain("not a text file");
  });
  test("invalid UTF-8 without NUL bytes", () => {
    const r = run(file("latin1.yaml", new Uint8Array([0x65, 0x67, 0x72, 0x65, 0x73, 0x73, 0x3a, 0x20, 0xe9, 0x0a])));
    expect(r.code).toBe(3);
    expect(r.stdout).toContain("invalid UTF-8");
  });
  test("deeply nested YAML", () => {
    const r = run(file("deep.yaml", "[".repeat(100_000) + "]".repeat(100_000)));
    expect(r.code).toBe(3);
    expect(r.stdout).toContain("nested too deeply");
  });
  test("billion laughs", () => {
    let bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
    for (let i = 0, prev = "a"; i < 9; prev = `b${i}`, i++) bomb += `b${i}: &b${i} [${Array(9).fill(`*${prev}`).join(",")}]\n`;
    const r = run(file("bomb.yaml", bomb));
    expect(r.code).toBe(3);
    expect(r.stdout).toContain("too many YAML alias expansions");
  });
  test("a 5 MB policy (about 100k rules) finishes", () => {
    const lines = ["egress:"];
    for (let i = 0; lines.length * 45 < 5_000_000; i++) lines.push(`  - { action: allow, target: h${i}.example.com }`);
    const t0 = performance.now();
    const r = run(file("huge.yaml", lines.join("\n") + "\n"));
    expect(r.code).toBe(0);
    expect(performance.now() - t0).toBeLessThan(45_000);
  }, 60_000);
  test("a 5 MB single scalar", () => {
    const r = run(file("long.yaml", `egress:\n  - { action: allow, target: "${"a".repeat(5_000_000)}" }\n`));
    expect(r.code).toBe(3);
    expect(r.stdout).toContain("a name may have at most 253");
  });
});
