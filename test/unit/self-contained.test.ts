// The repository is its own reference: code, tests and docs point into docs/, never at
// a document that is not in the repository (a design brief, a "contract" by section
// number, a sibling directory). A newcomer with only this repository must be able to
// follow every pointer. Also: every docs/ page and relative link named resolves.
import { expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const SELF = relative(ROOT, import.meta.path);
const SCANNED = ["src", "test", "docs", "scripts", "examples", "README.md", "Makefile"];

/** citations of documents outside the repository */
const OUTSIDE: RegExp[] = [
  /\bCONTRACT\b/, // "CONTRACT section 7", "CONTRACT 3", CONTRACT.md
  /\bARCHITECTURE\b/,
  /\b(?:TESTING|FACTS|DESIGN)\.md\b/i,
  /\bthe contract\b/i,
  /\bcontract(?:'s)?,? \(?section\b/i,
  /\.\.\/shared\b|\/shared\/design\b/,
  /\bdesign brief\b/i,
];

function files(path: string): string[] {
  const abs = join(ROOT, path);
  if (!existsSync(abs)) return [];
  if (!statSync(abs).isDirectory()) return [path];
  return readdirSync(abs).flatMap((name) => files(join(path, name)));
}

const scanned = SCANNED.flatMap(files).filter((f) => f !== SELF && /\.(ts|md|sh|py|yaml|yml|json|nft)$|Makefile$/.test(f));

test("nothing cites a document outside the repository", () => {
  expect(scanned.length).toBeGreaterThan(100);
  const found: string[] = [];
  for (const f of scanned) {
    readFileSync(join(ROOT, f), "utf8").split("\n").forEach((line, i) => {
      if (OUTSIDE.some((re) => re.test(line))) found.push(`${f}:${i + 1}: ${line.trim()}`);
    });
  }
  expect(found).toEqual([]);
});

test("every docs/ page named anywhere exists, and every relative link in the docs resolves", () => {
  const missing: string[] = [];
  for (const f of scanned) {
    const text = readFileSync(join(ROOT, f), "utf8");
    for (const m of text.matchAll(/\bdocs\/([\w-]+\.md)\b/g)) if (!existsSync(join(ROOT, "docs", m[1]!))) missing.push(`${f}: docs/${m[1]}`);
    if (!f.endsWith(".md")) continue;
    for (const m of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
      if (!existsSync(resolve(ROOT, dirname(f), target))) missing.push(`${f}: ${target}`);
    }
  }
  expect(missing).toEqual([]);
});
