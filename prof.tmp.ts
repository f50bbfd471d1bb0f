import { parseSource } from "./src/core/policy/source.ts";
import { readPolicy } from "./src/core/policy/read-policy.ts";
import { lintNames } from "./src/core/policy/lint-names.ts";
import { lintAddresses } from "./src/core/policy/lint-addresses.ts";
const lines = ["defaultAction: deny", "egress:"];
const js: string[] = [];
for (let i = 0; i < 100000; i++) { lines.push(`  - { action: allow, target: h${i}.example.com }`); js.push(`{"action":"allow","target":"h${i}.example.com"}`); }
const t = lines.join("\n");
const j = `{"egress":[${js.join(",\n")}]}`;
for (const [name, text, syn] of [["yaml", t, "yaml"], ["json", j, "json"]] as const) {
  let t0 = performance.now();
  const src = parseSource(text, syn).source!;
  const a = performance.now() - t0; t0 = performance.now();
  const r = readPolicy(src);
  const b = performance.now() - t0; t0 = performance.now();
  lintNames(r.rules); lintAddresses(r.rules);
  const c = performance.now() - t0;
  console.log(name, "parse", a.toFixed(0), "read", b.toFixed(0), "lint", c.toFixed(0));
}
