// Policy engine benchmark (not a test): `make bench-policy`.
// A 100k-rule policy (exact, wildcard, IPv4 and IPv6 CIDRs) as YAML text, and the same
// as JSON (as OPENSANDBOX_EGRESS_RULES or an API body carries it); measures load (parse +
// validate + lint), matcher compile times, and warm decisions per second over a few
// million random queries of which about half match a rule.
import { loadPolicyText } from "../../src/core/policy/load.ts";
import { compileDomainMatcher } from "../../src/core/match/domain.ts";
import { compileAddressMatcher, resolveIntervals } from "../../src/core/net/intervals.ts";
import type { Address } from "../../src/core/net/ip.ts";
import type { Decision } from "../../src/core/policy/types.ts";
import { int, pick, prng } from "../unit/match/random.ts";

const RULES = 100_000;
const QUERIES = 3_000_000;
const rnd = prng(20240601);
const word = () => Math.floor(rnd() * 36 ** 6).toString(36);
const act = () => (rnd() < 0.8 ? "allow" : "deny");

const exact: string[] = [];
const wild: string[] = [];
const lines = ["defaultAction: deny", "egress:"];
const jsonRules: string[] = [];
for (let i = 0; i < RULES; i++) {
  const r = rnd();
  let target: string;
  if (r < 0.45) exact.push((target = `${word()}.${word()}.example`));
  else if (r < 0.75) {
    const suffix = `${word()}.example`;
    wild.push(suffix);
    target = `"*.${suffix}"`;
  } else if (r < 0.9) target = `${int(rnd, 1, 223)}.${int(rnd, 0, 255)}.${int(rnd, 0, 255)}.0/${int(rnd, 16, 28)}`;
  else target = `"2001:db8:${int(rnd, 0, 0xffff).toString(16)}::/${int(rnd, 40, 64)}"`;
  const action = act();
  lines.push(`  - { action: ${action}, target: ${target} }`);
  jsonRules.push(`    {"action": "${action}", "target": ${target.startsWith('"') ? target : `"${target}"`}}`);
}
const text = lines.join("\n") + "\n";
const jsonText = `{\n  "defaultAction": "deny",\n  "egress": [\n${jsonRules.join(",\n")}\n  ]\n}\n`;

const time = <T>(f: () => T): [T, number] => {
  const t0 = performance.now();
  const v = f();
  return [v, performance.now() - t0];
};

const [loaded, loadMs] = time(() => loadPolicyText(text));
const policy = loaded.policy!;
if (!policy) throw new Error(`generated policy invalid: ${loaded.problems[0]?.message}`);
const [names, domainMs] = time(() => compileDomainMatcher(policy));
const [addrs, addrMs] = time(() => compileAddressMatcher(policy));
const [, intervalMs] = time(() => resolveIntervals(policy.rules));

// Queries: a third exact hits, a third below a wildcard, a third misses.
// JSON round trip: template strings are ropes in JavaScriptCore; names decoded from DNS
// packets are flat strings, so measure on flat ones.
const nameQ: string[] = JSON.parse(JSON.stringify(Array.from({ length: 100_000 }, (_, i) =>
  i % 3 === 0 ? pick(rnd, exact) : i % 3 === 1 ? `${word()}.${pick(rnd, wild)}` : `${word()}.${word()}.example`)));
const addrQ: Address[] = Array.from({ length: 100_000 }, (_, i) =>
  i % 2 === 0
    ? { family: 4, value: BigInt(int(rnd, 0, 0xffffffff)) }
    : { family: 6, value: (0x20010db8n << 96n) | (BigInt(int(rnd, 0, 0xffff)) << 80n) | BigInt(int(rnd, 0, 0xffff)) });

// Each decision is used the way serve uses it: its action is compared with "allow".
// Matches are counted with `rule !== undefined`, a pointer compare: a truthiness test
// would read the Rule object itself, which serve's hot path never does.
function rate<Q>(qs: Q[], f: (q: Q) => Decision): { perSec: number; matched: number; allowed: number } {
  for (let i = 0; i < 200_000; i++) f(qs[i % qs.length]!); // warm up
  let matched = 0;
  let allowed = 0;
  const t0 = performance.now();
  for (let i = 0; i < QUERIES; i++) {
    const d = f(qs[i % qs.length]!);
    if (d.action === "allow") allowed++;
    if (d.rule !== undefined) matched++;
  }
  const s = (performance.now() - t0) / 1000;
  return { perSec: QUERIES / s, matched: matched / QUERIES, allowed: allowed / QUERIES };
}
const n = rate(nameQ, names);
const a = rate(addrQ, addrs);
// last, so the second 100k-rule policy in memory does not weigh on the figures above
const [loadedJson, jsonMs] = time(() => loadPolicyText(jsonText, { syntax: "json", profile: "run" }));
if (loadedJson.policy?.rules.length !== RULES) throw new Error(`generated JSON policy invalid: ${loadedJson.problems.find((p) => p.severity === "error")?.message}`);

const fmt = (x: number) => x.toFixed(0).padStart(7);
console.log(`policy: ${RULES} rules, ${(text.length / 1e6).toFixed(1)} MB of YAML, ${loaded.problems.length} warnings`);
console.log(`load (parse + validate + lint)  ${fmt(loadMs)} ms`);
console.log(`load as JSON, serve's reading   ${fmt(jsonMs)} ms  (${(jsonText.length / 1e6).toFixed(1)} MB)`);
console.log(`compile domain matcher          ${fmt(domainMs)} ms`);
console.log(`compile address matcher         ${fmt(addrMs)} ms`);
console.log(`resolve intervals               ${fmt(intervalMs)} ms`);
console.log(`name decisions/s                ${(n.perSec / 1e6).toFixed(2)} M  (${(n.matched * 100).toFixed(0)}% matched a rule, ${(n.allowed * 100).toFixed(0)}% allowed)`);
console.log(`address decisions/s             ${(a.perSec / 1e6).toFixed(2)} M  (${(a.matched * 100).toFixed(0)}% matched a rule, ${(a.allowed * 100).toFixed(0)}% allowed)`);
