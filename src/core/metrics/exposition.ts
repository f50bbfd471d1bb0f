// The Prometheus text exposition (version 0.0.4) rendered from an explicit table of
// metrics: the table, not the code that counts, names each metric and says its type and
// help, so renaming a field can never rename a public metric, and no metric goes out
// without HELP and TYPE. Every metric of the table is listed, in table order, even when
// it has no sample at the moment (a webhook's counters without a webhook). Pure.
import type { Histogram } from "./histogram.ts";

export type MetricType = "counter" | "gauge" | "histogram";

export interface MetricSpec {
  type: MetricType;
  help: string;
  /** the label names its samples carry, in this order */
  labels?: readonly string[];
}

export interface Sample {
  labels?: Readonly<Record<string, string>>;
  value: number;
}

/** a number (one sample without labels), labelled samples, or a histogram */
export type MetricValue = number | readonly Sample[] | Histogram;

export function renderExposition<N extends string>(table: Readonly<Record<N, MetricSpec>>, values: Partial<Record<N, MetricValue>>): string {
  const out: string[] = [];
  for (const name of Object.keys(table) as N[]) {
    const spec = table[name];
    out.push(`# HELP ${name} ${escapeHelp(spec.help)}`, `# TYPE ${name} ${spec.type}`);
    const v = values[name];
    if (v === undefined) continue;
    if (typeof v === "number") out.push(`${name} ${num(v)}`);
    else if (Array.isArray(v)) for (const s of v as readonly Sample[]) out.push(`${name}${labelText(spec, s.labels)} ${num(s.value)}`);
    else histogram(out, name, v as Histogram);
  }
  return `${out.join("\n")}\n`;
}

function histogram(out: string[], name: string, h: Histogram): void {
  let cumulative = 0;
  for (let i = 0; i < h.bounds.length; i++) {
    cumulative += h.counts[i]!;
    out.push(`${name}_bucket{le="${num(h.bounds[i]!)}"} ${cumulative}`);
  }
  out.push(`${name}_bucket{le="+Inf"} ${h.count}`, `${name}_sum ${num(h.sum)}`, `${name}_count ${h.count}`);
}

function labelText(spec: MetricSpec, labels: Readonly<Record<string, string>> | undefined): string {
  const names = spec.labels ?? [];
  if (names.length === 0) return "";
  return `{${names.map((l) => `${l}="${escapeLabel(labels?.[l] ?? "")}"`).join(",")}}`;
}

function num(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

const escapeHelp = (s: string) => s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
const escapeLabel = (s: string) => s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
