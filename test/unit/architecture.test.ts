// The core decides, the effects do (docs/architecture.md). This keeps it so: nothing
// under src/core/ may import the effects ring, the use cases, the CLI, or any module
// that performs I/O. Pure helpers from node: (node:url's domainToASCII) are allowed.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const CORE = join(ROOT, "src/core");

const FORBIDDEN_DIRS = ["src/effects", "src/app", "src/cli"];
// modules that touch the world: files, sockets, processes, native code, the environment
const IO_MODULES = /^(node:)?(fs|fs\/promises|net|dgram|dns|dns\/promises|child_process|cluster|worker_threads|http|https|http2|tls|os|process|readline|v8|vm|inspector)$|^bun(:.*)?$/;

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : /\.tsx?$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

function imports(src: string): string[] {
  const out: string[] = [];
  const re = /(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\s*\(\s*["']([^"']+)["']\s*\)|import\s+["']([^"']+)["']|require\(\s*["']([^"']+)["']\s*\)/g;
  for (const m of src.matchAll(re)) out.push((m[1] ?? m[2] ?? m[3] ?? m[4])!);
  return out;
}

test("src/core imports nothing that does I/O and nothing outside the core's ring", () => {
  const bad: string[] = [];
  for (const f of walk(CORE)) {
    for (const spec of imports(readFileSync(f, "utf8"))) {
      const where = relative(ROOT, f);
      if (IO_MODULES.test(spec)) bad.push(`${where} imports ${spec}`);
      if (spec.startsWith(".")) {
        const target = relative(ROOT, resolve(join(f, ".."), spec));
        if (FORBIDDEN_DIRS.some((d) => target === d || target.startsWith(`${d}/`))) bad.push(`${where} imports ${target}`);
      }
    }
  }
  expect(bad).toEqual([]);
});

test("the import scanner sees the forms it must", () => {
  const src = `import { a } from "node:fs";\nimport type { B } from '../../effects/x.ts';\nconst m = await import("bun:ffi");\nexport * from "./y.ts";\nimport "node:net";`;
  expect(imports(src)).toEqual(["node:fs", "../../effects/x.ts", "bun:ffi", "./y.ts", "node:net"]);
});

// Configuration is resolved once, by the command, from flags and environment
// (src/core/config/: serve-config.ts, apply-config.ts, kernel-settings.ts), and handed
// down as a value: below src/cli nothing reads the environment, so apply, serve and
// doctor cannot read one variable two ways.
const ENV_READ = /\bprocess\.env\b|\bBun\.env\b|\bimport\.meta\.env\b/;

/** the code of a file without its comments (a comment may name process.env to say why not) */
function code(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1");
}

test("src/core, src/effects and src/app never read the environment themselves", () => {
  const bad: string[] = [];
  for (const dir of ["src/core", "src/effects", "src/app"]) {
    for (const f of walk(join(ROOT, dir))) {
      const lines = code(readFileSync(f, "utf8")).split("\n");
      lines.forEach((l, i) => {
        if (ENV_READ.test(l)) bad.push(`${relative(ROOT, f)}:${i + 1}: ${l.trim()}`);
      });
    }
  }
  expect(bad).toEqual([]);
});

test("the environment check sees a read and ignores a comment that names it", () => {
  expect(ENV_READ.test(code("const x = process.env.HOME;"))).toBe(true);
  expect(ENV_READ.test(code("const y = Bun.env.PATH;"))).toBe(true);
  expect(ENV_READ.test(code("// never process.env here\n/* nor process.env */ const z = 1;"))).toBe(false);
});
