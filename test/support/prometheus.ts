// Reads a /metrics text the way Prometheus does: parsed by Prometheus's own Python client
// (test/support/prometheus-parse.py), then checked for what a scrape relies on: every
// family has HELP and TYPE, every sample belongs to a declared family, and a histogram's
// buckets are cumulative and end in +Inf equal to its count.
import { join } from "node:path";

export interface Family {
  name: string;
  type: string;
  help: string;
  samples: { name: string; labels: Record<string, string>; value: number | string }[];
}

const PARSER = join(import.meta.dir, "prometheus-parse.py");

/** the families, or throws with every problem found */
export function parseExposition(text: string): Family[] {
  // Debian's python3, where python3-prometheus-client is installed (scripts/setup.sh)
  const p = Bun.spawnSync(["/usr/bin/python3", PARSER], { stdin: Buffer.from(text), stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`the exposition does not parse: ${p.stderr.toString()}`);
  const families: Family[] = JSON.parse(p.stdout.toString());
  const problems: string[] = [];
  // the parser invents a family of type "unknown" without help for an undeclared sample
  for (const f of families) {
    if (f.type === "unknown") problems.push(`${f.name}: no TYPE`);
    if (!f.help) problems.push(`${f.name}: no HELP`);
    if (f.type === "histogram") problems.push(...histogramProblems(f));
  }
  const declared = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!);
  const helped = [...text.matchAll(/^# HELP (\S+) /gm)].map((m) => m[1]!);
  if (new Set(declared).size !== declared.length) problems.push("a TYPE line is repeated");
  if (new Set(helped).size !== helped.length) problems.push("a HELP line is repeated");
  if (problems.length) throw new Error(`the exposition is not what a scrape relies on:\n${problems.join("\n")}`);
  return families;
}

function histogramProblems(f: Family): string[] {
  const buckets = f.samples.filter((s) => s.name === `${f.name}_bucket`);
  const count = f.samples.find((s) => s.name === `${f.name}_count`)?.value;
  const out: string[] = [];
  if (buckets.length === 0) return out; // declared, not observed yet
  let last = -1;
  let lastLe = -Infinity;
  for (const b of buckets) {
    const le = b.labels.le === "+Inf" ? Infinity : Number(b.labels.le);
    if (!(le > lastLe)) out.push(`${f.name}: bucket le=${b.labels.le} out of order`);
    if (Number(b.value) < last) out.push(`${f.name}: bucket le=${b.labels.le} not cumulative`);
    last = Number(b.value);
    lastLe = le;
  }
  if (buckets.at(-1)!.labels.le !== "+Inf") out.push(`${f.name}: no +Inf bucket`);
  if (Number(buckets.at(-1)!.value) !== Number(count)) out.push(`${f.name}: +Inf bucket ${buckets.at(-1)!.value} != count ${count}`);
  return out;
}

/** the value of one sample (exact name and labels), or undefined */
export function sampleValue(families: Family[], name: string, labels: Record<string, string> = {}): number | undefined {
  for (const f of families) {
    for (const s of f.samples) {
      if (s.name !== name) continue;
      if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return Number(s.value);
    }
  }
  return undefined;
}
